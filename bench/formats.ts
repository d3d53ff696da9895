// Formats and codecs on the reference database: for each (gzip 1/6, zstd 1/3/9, lz4, none, directory with
// 2 jobs) our CLI's backup time, file size and peak RSS, our CLI's restore into the live database (with the
// safe swap and the app stopped) against the runbook's whole procedure on the same file (docker stop app,
// dropdb, createdb, psql/pg_restore, docker start app), and encrypted against unencrypted backups.
//
//   node --import=tsx bench/formats.ts [--scale 1] [--rounds 3] [--restore-rounds 2] [--only gzip:1,zstd:1]
//
// Commands alternate in rounds (the order rotates) on a shared two-core machine; medians are reported with
// the spread (max/min) of each, which says how noisy it was. Prints a table and writes bench/results/formats.json.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generateIdentity } from '../src/core/pipeline/keys';
import { MANIFEST_SUFFIX } from '../src/core/store/naming';
import { bash, docker, fmtMB, fmtS, fmtX, median, psql, q, run, table } from './lib';
import { BENCH_DB, BENCH_USER, benchEnv, ensureReferenceDb, rowCounts, type BenchEnv } from './referenceDb';

const ROOT = path.resolve(__dirname, '..');
const TARGET_DB = 'bench_fmt_target';
const log = (m: string) => process.stderr.write(`[formats] ${m}\n`);

const { values: opt } = parseArgs({
  options: { scale: { type: 'string', default: '1' }, rounds: { type: 'string', default: '3' }, 'restore-rounds': { type: 'string', default: '2' }, only: { type: 'string' }, cli: { type: 'string' } },
});
const CLI = path.resolve(ROOT, opt.cli ?? 'dist/cli.js');

interface Variant {
  name: string;
  args: string[];
  /** pg_dump format, for the runbook's restore of the same file. */
  kind: 'sql' | 'directory';
}

const VARIANTS: Variant[] = [
  { name: 'gzip:1', args: ['--compression', 'gzip:1'], kind: 'sql' },
  { name: 'gzip:6', args: ['--compression', 'gzip:6'], kind: 'sql' },
  { name: 'zstd:1', args: ['--compression', 'zstd:1'], kind: 'sql' },
  { name: 'zstd:3', args: ['--compression', 'zstd:3'], kind: 'sql' },
  { name: 'zstd:9', args: ['--compression', 'zstd:9'], kind: 'sql' },
  { name: 'lz4', args: ['--compression', 'lz4'], kind: 'sql' },
  { name: 'none', args: ['--compression', 'none'], kind: 'sql' },
  { name: 'directory -j2 (gzip:1)', args: ['--format', 'directory', '--jobs', '2', '--compression', 'gzip:1'], kind: 'directory' },
];

interface Sample {
  ms: number;
  bytes?: number;
  rssBytes?: number;
  downMs?: number;
}

/** Median and spread (max/min) of each measured quantity. */
function summary(xs: Sample[]): { medianMs: number; spread: number; bytes?: number; rssMaxBytes?: number; downMedianMs?: number; n: number } {
  const ms = xs.map((s) => s.ms);
  const rss = xs.map((s) => s.rssBytes).filter((x): x is number => x !== undefined);
  const down = xs.map((s) => s.downMs).filter((x): x is number => x !== undefined);
  return { medianMs: median(ms), spread: Math.max(...ms) / Math.min(...ms), bytes: xs[0]?.bytes, rssMaxBytes: rss.length ? Math.max(...rss) : undefined, downMedianMs: down.length ? median(down) : undefined, n: xs.length };
}

async function cliBackup(env: BenchEnv, dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Sample & { path: string }> {
  const r = await run('node', [CLI, 'backup', env.db, '--database', BENCH_DB, '--dir', dir, ...args, '--json'], { measureRss: true, env: { ...process.env, ...extraEnv } });
  const j = JSON.parse(r.stdout) as { path: string; bytes: number };
  return { ms: r.ms, bytes: j.bytes, rssBytes: r.peakRssBytes, path: j.path };
}

async function removeBackup(file: string): Promise<void> {
  await fs.rm(file, { force: true });
  await fs.rm(file + MANIFEST_SUFFIX, { force: true });
}

/** Our restore into the live TARGET_DB (app stopped for the swap; the previous database dropped). */
async function cliRestore(env: BenchEnv, file: string): Promise<Sample> {
  const r = await run('node', [CLI, 'restore', file, '--to', env.db, '--database', TARGET_DB, '--yes', '--drop-previous', '--no-checks', '--json'], { measureRss: true });
  const j = JSON.parse(r.stdout) as { downtimeMs: number; stopped: string[] };
  if (!j.stopped.includes(env.app)) throw new Error(`the restore did not stop ${env.app}`);
  return { ms: r.ms, rssBytes: r.peakRssBytes, downMs: j.downtimeMs };
}

/** The loader command of the runbook for this file, reading from the host. */
function runbookLoad(env: BenchEnv, file: string, kind: Variant['kind']): string {
  const c = q(env.db);
  const psqlIn = `docker exec -i ${c} psql -X -q -v ON_ERROR_STOP=1 -U ${BENCH_USER} -d ${TARGET_DB} > /dev/null`;
  if (kind === 'directory') {
    return `docker exec -i ${c} sh -c 'rm -rf /tmp/runbook.dir && mkdir /tmp/runbook.dir && tar -xf - -C /tmp/runbook.dir' < ${q(file)} && docker exec ${c} pg_restore -j 2 -U ${BENCH_USER} -d ${TARGET_DB} /tmp/runbook.dir && docker exec ${c} rm -rf /tmp/runbook.dir`;
  }
  if (file.endsWith('.gz')) return `gunzip -c ${q(file)} | ${psqlIn}`;
  if (file.endsWith('.zst')) return `zstd -dc ${q(file)} | ${psqlIn}`;
  if (file.endsWith('.lz4')) return `lz4 -dc ${q(file)} | ${psqlIn}`;
  return `${psqlIn} < ${q(file)}`;
}

/** The runbook's whole restore: stop the app, dropdb, createdb, load, start the app; app-down time measured. */
async function runbookRestore(env: BenchEnv, file: string, kind: Variant['kind']): Promise<Sample> {
  const script = [
    `t0=$(date +%s%N)`,
    `docker stop ${q(env.app)} >/dev/null`,
    `docker exec ${q(env.db)} dropdb -U ${BENCH_USER} --if-exists ${TARGET_DB}`,
    `docker exec ${q(env.db)} createdb -U ${BENCH_USER} ${TARGET_DB}`,
    runbookLoad(env, file, kind),
    `docker start ${q(env.app)} >/dev/null`,
    `t1=$(date +%s%N)`,
    `echo $(( (t1 - t0) / 1000000 ))`,
  ].join('\n');
  const r = await bash(script);
  return { ms: r.ms, downMs: Number(r.stdout.trim().split('\n').pop()) };
}

async function main(): Promise<void> {
  const env = benchEnv(Math.max(1, Number(opt.scale)));
  const rounds = Math.max(1, Number(opt.rounds));
  const restoreRounds = Math.max(1, Number(opt['restore-rounds']));
  const variants = opt.only ? VARIANTS.filter((v) => opt.only!.split(',').includes(v.name.split(' ')[0])) : VARIANTS;
  const { sizeBytes } = await ensureReferenceDb(env);
  const expected = await rowCounts(env.db, BENCH_DB);
  log(`reference database ${env.db}/${BENCH_DB}: ${fmtMB(sizeBytes)}, ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-formats-'));
  const key = await generateIdentity();
  const idFile = path.join(dir, 'bench.key');
  await fs.writeFile(idFile, `${key.identity}\n`, { mode: 0o600 });
  const loadBefore = os.loadavg()[0];

  // 1. Backups, alternated: every variant, plus gzip:1 and zstd:1 encrypted to one recipient.
  const backupTasks = [
    ...variants.map((v) => ({ name: v.name, args: v.args })),
    ...variants.filter((v) => v.name === 'gzip:1' || v.name === 'zstd:1').map((v) => ({ name: `${v.name} + age`, args: [...v.args, '--recipient', key.recipient] })),
  ];
  const backups: Record<string, Sample[]> = Object.fromEntries(backupTasks.map((t) => [t.name, []]));
  const kept: Record<string, string> = {};
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < backupTasks.length; i++) {
      const t = backupTasks[(i + r) % backupTasks.length];
      const s = await cliBackup(env, dir, t.args);
      backups[t.name].push(s);
      log(`backup ${t.name}: ${fmtS(s.ms)} ${fmtMB(s.bytes)} rss ${fmtMB(s.rssBytes)}`);
      if (r === rounds - 1 && !t.name.endsWith('age')) kept[t.name] = s.path;
      else await removeBackup(s.path);
    }
  }

  // 2. Restores of the same files, ours and the runbook's, alternated.
  await psql(env.db, BENCH_USER, 'postgres', `DROP DATABASE IF EXISTS ${TARGET_DB} WITH (FORCE)`);
  await psql(env.db, BENCH_USER, 'postgres', `CREATE DATABASE ${TARGET_DB}`);
  const restores: Record<string, Sample[]> = {};
  for (let r = 0; r < restoreRounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length];
      const file = kept[v.name];
      const steps: [string, () => Promise<Sample>][] = [
        [`ours ${v.name}`, () => cliRestore(env, file)],
        [`runbook ${v.name}`, () => runbookRestore(env, file, v.kind)],
      ];
      if (r % 2) steps.reverse();
      for (const [name, go] of steps) {
        const s = await go();
        const got = await rowCounts(env.db, TARGET_DB);
        if (got !== expected) throw new Error(`${name}: ${TARGET_DB} has ${got} rows, expected ${expected}`);
        (restores[name] ??= []).push(s);
        log(`restore ${name}: ${fmtS(s.ms)} (app down ${fmtS(s.downMs ?? NaN)})${s.rssBytes ? ` rss ${fmtMB(s.rssBytes)}` : ''}`);
      }
    }
  }
  await psql(env.db, BENCH_USER, 'postgres', `DROP DATABASE IF EXISTS ${TARGET_DB} WITH (FORCE)`);
  for (const f of Object.values(kept)) await removeBackup(f);
  await fs.rm(dir, { recursive: true, force: true });

  const rows: string[][] = [];
  const results: Record<string, unknown> = {};
  for (const v of variants) {
    const b = summary(backups[v.name]);
    const ours = summary(restores[`ours ${v.name}`]);
    const book = summary(restores[`runbook ${v.name}`]);
    const ratio = ours.medianMs / book.medianMs;
    results[v.name] = { backup: b, restore: ours, runbookRestore: book, restoreOverRunbook: ratio, appDownShare: (ours.downMedianMs ?? 0) / ours.medianMs, runbookAppDownShare: (book.downMedianMs ?? 0) / book.medianMs };
    rows.push([v.name, fmtS(b.medianMs), fmtMB(b.bytes), fmtMB(b.rssMaxBytes), fmtS(ours.medianMs), fmtS(book.medianMs), fmtX(ratio), `${(((ours.downMedianMs ?? 0) / ours.medianMs) * 100).toFixed(1)}%`, fmtX(Math.max(b.spread, ours.spread, book.spread))]);
  }
  const enc: string[][] = [];
  for (const base of ['gzip:1', 'zstd:1'].filter((n) => backups[`${n} + age`])) {
    const plain = summary(backups[base]);
    const aged = summary(backups[`${base} + age`]);
    results[`${base} + age`] = { backup: aged, overheadVsPlain: aged.medianMs / plain.medianMs - 1 };
    enc.push([base, fmtS(plain.medianMs), fmtS(aged.medianMs), `${((aged.medianMs / plain.medianMs - 1) * 100).toFixed(1)}%`, fmtMB(aged.rssMaxBytes)]);
  }
  const out = {
    when: new Date().toISOString(),
    scale: env.scale,
    databaseBytes: sizeBytes,
    rounds,
    restoreRounds,
    cpus: os.cpus().length,
    loadAvgBefore: loadBefore,
    loadAvgAfter: os.loadavg()[0],
    results,
  };
  process.stdout.write(
    `\nReference database ${fmtMB(sizeBytes)} (scale ${env.scale}), medians of ${rounds} backups / ${restoreRounds} restores; load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}\n` +
      table(['variant', 'backup', 'size', 'peak RSS', 'restore (ours)', 'runbook restore', 'ours/runbook', 'app down', 'spread'], rows) +
      '\n\nEncryption (age, one recipient):\n' +
      table(['codec', 'backup', 'backup + age', 'added', 'peak RSS'], enc) +
      '\n',
  );
  await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
  await fs.writeFile(path.join(__dirname, 'results', `formats${env.scale > 1 ? `-${env.scale}x` : ''}.json`), JSON.stringify(out, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

