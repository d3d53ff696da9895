/**
 * Planning a prune over 10,000 synthetic backup files with manifests (5 containers × 10 databases × 200
 * backups, one every 6 hours) with the runbook's policy (30 daily, 12 monthly): listing + planning, and the
 * pure planner alone. Target: under 1 s. Prints a table and writes bench/results/prune.json.
 *   node --import=tsx bench/prune.ts [--runs 5] [--files 10000]
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { listBackups } from '../src/core/store/backupStore';
import { planPrune } from '../src/core/store/prune';
import { planRetention } from '../src/core/store/retention';
import { backupFileName, encodePathSegment } from '../src/core/store/naming';
import { median, table } from './lib';

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const runs = arg('--runs', 5);
const files = arg('--files', 10_000);
const CONTAINERS = 5;
const DATABASES = 10;
const perGroup = Math.ceil(files / (CONTAINERS * DATABASES));
const policy = { daily: 30, monthly: 12 };
const newest = Date.UTC(2026, 10, 20, 2, 0, 0);

async function makeSet(dir: string): Promise<number> {
  let n = 0;
  for (let c = 0; c < CONTAINERS; c++) {
    for (let d = 0; d < DATABASES; d++) {
      const container = `bench-db-${c}`;
      const database = `app_${d}`;
      const folder = path.join(dir, encodePathSegment(container), encodePathSegment(database));
      await fs.mkdir(folder, { recursive: true });
      const writes: Promise<void>[] = [];
      for (let i = 0; i < perGroup && n < files; i++, n++) {
        const created = new Date(newest - i * 6 * 3_600_000);
        const file = path.join(folder, backupFileName(database, 'sql', created));
        const manifest = {
          manifestVersion: 2, tool: 'bench', file: path.basename(file), container, containerId: 'x', image: 'postgres:17', database,
          serverVersion: '17.0', pgDumpVersion: '17.0', format: 'sql', stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }],
          options: { tables: [], schemas: [], noOwner: false }, bytes: 20, sha256: '0'.repeat(64), created: created.toISOString(), durationMs: 1,
          rowCounts: 'exact', tables: [{ schema: 'public', name: 't', rows: 1 }],
          verifications: i === 100 ? [{ at: created.toISOString(), kind: 'quick', ok: true }] : undefined,
        };
        writes.push(fs.writeFile(file, 'x'.repeat(20)), fs.writeFile(file + '.json', JSON.stringify(manifest)));
      }
      await Promise.all(writes);
    }
  }
  return n;
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-prune-'));
  try {
    const made = await makeSet(dir);
    const plan: number[] = [];
    const planCpu: number[] = [];
    const list: number[] = [];
    const pure: number[] = [];
    let kept = 0;
    let deleted = 0;
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const cpu = process.cpuUsage();
      const p = await planPrune({ dir, policy, now: new Date(newest + 3_600_000) });
      plan.push(performance.now() - t);
      const used = process.cpuUsage(cpu);
      planCpu.push((used.user + used.system) / 1000);
      kept = p.keep.length;
      deleted = p.delete.length;
      t = performance.now();
      const entries = await listBackups(dir);
      list.push(performance.now() - t);
      const candidates = entries.map((e) => ({ path: e.path, time: e.created, container: e.container, database: e.database }));
      t = performance.now();
      planRetention(candidates, policy, { now: new Date(newest + 3_600_000) });
      pure.push(performance.now() - t);
    }
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const result = {
      files: made,
      groups: CONTAINERS * DATABASES,
      policy: '--keep-daily 30 --keep-monthly 12',
      runs,
      planPruneMsFirst: plan[0],
      planPruneMsMedian: median(plan),
      planPruneMsMax: Math.max(...plan),
      planPruneCpuMsMedian: median(planCpu),
      loadAverage1m: os.loadavg()[0],
      listBackupsMsMedian: median(list),
      planRetentionMsMedian: median(pure),
      kept,
      toDelete: deleted,
      cpus: os.cpus().length,
      target: 'planning a prune over 10,000 backup files under 1 s',
      pass: Math.max(...plan) < 1000,
    };
    console.log(
      table(
        ['what', 'first', 'median', 'max'],
        [
          [`planPrune (list + plan), ${made} files`, ms(plan[0]), ms(median(plan)), ms(Math.max(...plan))],
          ['  CPU time of this process (all threads)', ms(planCpu[0]), ms(median(planCpu)), ms(Math.max(...planCpu))],
          ['  listBackups alone', ms(list[0]), ms(median(list)), ms(Math.max(...list))],
          ['  planRetention alone (pure)', ms(pure[0]), ms(median(pure)), ms(Math.max(...pure))],
        ],
      ),
    );
    console.log(`kept ${kept}, to delete ${deleted}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs; target under 1 s: ${result.pass ? 'PASS' : 'FAIL'}`);
    await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
    await fs.writeFile(path.join(__dirname, 'results', 'prune.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
