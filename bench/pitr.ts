/**
 * Point-in-time recovery time: a PG17 container archiving WAL to a volume, `pgbench -i -s SCALE`, a base
 * backup, then WAL_MB of WAL written (inserts, switched and archived), then a recovery of the database to
 * the last commit: planning (with the forced WAL switch), unpacking the base backup, replaying the WAL,
 * copying the database into the live container and the swap. Prints a table and writes bench/results/pitr-s<SCALE>-wal<WAL_MB>.json.
 *   node --import=tsx bench/pitr.ts [--scale 5] [--wal-mb 256]
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDockerClient } from '../src/core/docker/client';
import { startPostgresContainer } from '../src/core/docker/postgresContainer';
import { takeBaseBackup } from '../src/core/pitr/baseBackup';
import { executePitrRestore, planPitrRestore } from '../src/core/pitr/restore';
import { fmtMB, fmtS, psql, table, MB } from './lib';
import { BENCH_IMAGE } from './referenceDb';

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const scale = arg('--scale', 5);
const walMb = arg('--wal-mb', 256);
const NAME = 'pgdb-bench-pitr';
const ARCHIVE = '/var/lib/postgresql/archive';
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

async function main(): Promise<void> {
  const docker = createDockerClient();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-pitr-'));
  await docker.removeContainer(NAME, { force: true, removeVolumes: true }).catch(() => undefined);
  await docker.removeVolume(`${NAME}-archive`, { force: true }).catch(() => undefined);
  try {
    log(`starting ${NAME} (${BENCH_IMAGE}) with WAL archiving`);
    await startPostgresContainer(docker, {
      name: NAME,
      image: BENCH_IMAGE,
      env: { POSTGRES_USER: 'bench', POSTGRES_PASSWORD: 'bench', POSTGRES_DB: 'benchdb' },
      serverArgs: ['-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=test ! -f ${ARCHIVE}/%f && cp %p ${ARCHIVE}/%f`, '-c', 'max_wal_size=2GB'],
      mounts: [{ type: 'volume', source: `${NAME}-archive`, target: ARCHIVE }],
      timeoutMs: 180_000,
    });
    await docker.exec(NAME, ['chown', 'postgres:postgres', ARCHIVE], { user: 'root' });
    log(`pgbench -i -s ${scale}`);
    const init = await docker.exec(NAME, ['pgbench', '-i', '-q', '-s', String(scale), '-U', 'bench', 'benchdb'], { user: 'postgres' });
    if (init.exitCode !== 0) throw new Error(init.stderr);
    const dbBytes = Number(await psql(NAME, 'bench', 'benchdb', 'SELECT pg_database_size(current_database())'));
    let t = Date.now();
    const base = await takeBaseBackup(docker, { container: NAME, dir });
    const baseMs = Date.now() - t;
    log(`base backup ${fmtMB(base.bytes)} in ${fmtS(baseMs)}; writing ${walMb} MB of WAL`);
    const startLsn = (await psql(NAME, 'bench', 'benchdb', 'SELECT pg_current_wal_lsn()')).trim();
    await psql(NAME, 'bench', 'benchdb', 'CREATE TABLE wal_filler (id bigserial, body text)');
    for (;;) {
      const written = Number(await psql(NAME, 'bench', 'benchdb', `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${startLsn}')`));
      if (written >= walMb * MB) break;
      await psql(NAME, 'bench', 'benchdb', "INSERT INTO wal_filler (body) SELECT repeat(md5(g::text), 4) FROM generate_series(1, 100000) g; UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0");
    }
    const walBytes = Number(await psql(NAME, 'bench', 'benchdb', `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${startLsn}')`));
    const target = new Date(JSON.parse((await psql(NAME, 'bench', 'benchdb', 'SELECT to_json(clock_timestamp())')).trim()) as string);
    await new Promise((r) => setTimeout(r, 200));
    await psql(NAME, 'bench', 'benchdb', 'INSERT INTO wal_filler (body) VALUES (\'after the target\')');
    const phases: Record<string, number> = {};
    let phase = 'plan';
    let phaseStart = Date.now();
    const onProgress = (p: { phase: string }) => {
      if (p.phase === phase) return;
      phases[phase] = (phases[phase] ?? 0) + Date.now() - phaseStart;
      phase = p.phase;
      phaseStart = Date.now();
    };
    t = Date.now();
    const plan = await planPitrRestore(docker, { container: NAME, database: 'benchdb', dir, time: target, onProgress });
    const planMs = Date.now() - t;
    const r = await executePitrRestore(docker, plan, { onProgress });
    phases[phase] = (phases[phase] ?? 0) + Date.now() - phaseStart;
    const totalMs = Date.now() - t;
    const after = Number(await psql(NAME, 'bench', 'benchdb', "SELECT count(*) FROM wal_filler WHERE body = 'after the target'"));
    const rows = [
      ['database (pgbench -s ' + scale + ')', fmtMB(dbBytes)],
      ['base backup', `${fmtMB(base.bytes)} in ${fmtS(baseMs)}`],
      ['WAL after the base backup', `${fmtMB(walBytes)} (${r.segmentsReplayed} segments replayed)`],
      ['plan (WAL switch, archive wait, window)', fmtS(planMs)],
      ...Object.entries(phases).filter(([k]) => k !== 'plan').map(([k, ms]) => [`  phase ${k}`, fmtS(ms)]),
      ['total recovery (plan → swapped in)', fmtS(totalMs)],
      ['apps down', fmtS(r.move.downtimeMs)],
      ['row after the target present', after ? 'YES (wrong)' : 'no (right)'],
    ];
    process.stdout.write(table(['point-in-time recovery', 'measured'], rows) + '\n');
    const result = { date: new Date().toISOString(), cpus: os.cpus().length, load: os.loadavg()[0], scale, dbBytes, baseBytes: base.bytes, baseMs, walBytes, segmentsReplayed: r.segmentsReplayed, planMs, phases, totalMs, downtimeMs: r.move.downtimeMs };
    await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
    await fs.writeFile(path.join(__dirname, 'results', `pitr-s${scale}-wal${walMb}.json`), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await docker.removeContainer(NAME, { force: true, removeVolumes: true }).catch(() => undefined);
    await docker.removeVolume(`${NAME}-archive`, { force: true }).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
