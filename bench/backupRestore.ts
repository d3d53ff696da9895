// Backup/restore benchmark against the issue's targets. Run: node --import=tsx bench/backupRestore.ts [options]
//
//   --rounds N          backup rounds, alternating the commands (default 3)
//   --restore-rounds N  restore rounds (default: --rounds)
//   --scale N           run the comparison on the N-times database (default 1; env PGDB_BENCH_SCALE)
//   --scale4            then check memory (and downtime) once on the 4x database (pgbench -s 120 + 2M rows)
//   --only-scale4       only the 4x check (the 1x numbers already in the results file are used for growth)
//   --no-main           skip the main comparison (e.g. with --levels or --scale4 alone)
//   --levels 1,3,6      also compare gzip levels: in-container pg_dump -ZL >/dev/null, host docker CLI, our CLI
//   --no-restore        skip the restore part
//   --cli PATH          the CLI bundle to measure (default dist/cli.js)
//   --build             bundle src/cli/index.ts into bench/.build/cli.js first and measure that
//   --clean             remove the bench containers and volumes at the end
//
// The containers pgdb-bench-db[-4x] and pgdb-bench-app[-4x] (with their volumes) are kept for reuse.
// Results: a table on stdout and bench/results/backup-restore.json (sections merged across runs).
import { existsSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { MB, bash, containerId, cpuSnapshot, cpuUse, docker, esbuildCommon, fmtMB, fmtS, fmtX, haveGnuTime, median, psql, q, run, sleep, table, type CpuUse } from './lib';
import { probe } from './streamProbe';
import { DEFAULT_COMPRESSION_LEVEL } from '../src/core/backup/pgDump';
import { MANIFEST_SUFFIX } from '../src/core/store/naming';
import { BENCH_DB, BENCH_USER, benchEnv, ensureReferenceDb, removeBenchContainers, rowCounts, type BenchEnv } from './referenceDb';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results', 'backup-restore.json');
const TARGETS = {
  runbookOverDefault: 2, // runbook time / our default backup time, at least
  defaultOverInContainerZ6: 1.15, // our default backup / in-container pg_dump -Z6 >/dev/null, at most
  peakRssMB: 150,
  rssGrowth4x: 1.15, // 4x peak RSS / 1x peak RSS, at most ("not growing")
  downtimeMs: 2000,
  restoreOverBaseline: 1.2,
};
const RESTORE_TARGET_DB = 'bench_target';
const BASELINE_DB = 'bench_baseline';

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'restore-rounds': { type: 'string' },
    scale: { type: 'string', default: process.env.PGDB_BENCH_SCALE ?? '1' },
    scale4: { type: 'boolean', default: false },
    'only-scale4': { type: 'boolean', default: false },
    'no-main': { type: 'boolean', default: false },
    levels: { type: 'string' },
    'no-restore': { type: 'boolean', default: false },
    cli: { type: 'string' },
    build: { type: 'boolean', default: false },
    clean: { type: 'boolean', default: false },
  },
  strict: true,
});
const rounds = Math.max(1, Number(opt.rounds));
const restoreRounds = Math.max(1, Number(opt['restore-rounds'] ?? rounds));
const mainScale = Math.max(1, Number(opt.scale));

let CLI = path.resolve(ROOT, opt.cli ?? 'dist/cli.js');
let tmpDir = '';

// ---------------------------------------------------------------------------------------------------------
// CPU quietness: other work on a two-core machine (tests in other containers) skews every number, so each
// measurement waits (a while) for the machine to be idle and records how busy it was.

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

async function busyFraction(ms: number): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

let noisy = 0;
async function waitQuiet(): Promise<number> {
  // up to five minutes, then measure anyway (the sample's "other" CPU tells how disturbed it was)
  let f = 1;
  for (let i = 0; i < 300; i++) {
    f = await busyFraction(1000);
    if (f < 0.1) return f;
    if (i === 0) log(`machine busy (${(f * 100).toFixed(0)}% CPU), waiting for quiet…`);
  }
  log(`still busy (${(f * 100).toFixed(0)}% CPU); measuring anyway`);
  return f;
}

// ---------------------------------------------------------------------------------------------------------
// Measured commands.

interface Sample {
  ms: number;
  /** What the CLI itself reports (stream only for backups, whole restore for restores). */
  reportedMs?: number;
  downtimeMs?: number;
  bytes?: number;
  peakRssBytes?: number;
  /** CPU seconds of the host process tree (the docker CLI, gzip, node…). */
  hostCpuS?: number;
  cpu?: CpuUse;
  /** Fraction of the machine busy just before. */
  cpuBusyBefore?: number;
  /** How many times it was measured (more than 1 when other load disturbed an attempt). */
  attempts?: number;
  noisy?: boolean;
}

type Measured = Omit<Sample, 'cpuBusyBefore' | 'cpu' | 'attempts' | 'noisy'>;
type Task = { name: string; go: () => Promise<Measured>; after?: () => Promise<void>; before?: () => Promise<void> };

/** Other load allowed during a measurement, as a fraction of the machine's CPU over its wall time. */
const MAX_OTHER_LOAD = 0.08;
const MAX_ATTEMPTS = 4;
let benchContainerId = '';

async function measure(t: Task): Promise<Sample> {
  let best: Sample | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    await t.before?.();
    const cpuBusyBefore = await waitQuiet();
    const snap = cpuSnapshot(benchContainerId);
    const m = await t.go();
    const cpu = cpuUse(snap, benchContainerId, m.hostCpuS);
    await t.after?.();
    const load = (cpu.otherS ?? 0) / ((os.cpus().length * m.ms) / 1000);
    const s: Sample = { ...m, cpu, cpuBusyBefore, attempts: attempt, noisy: load > MAX_OTHER_LOAD };
    if (!best || (s.cpu?.otherS ?? 0) < (best.cpu?.otherS ?? 0)) best = { ...s, attempts: attempt };
    log(
      `  ${t.name}: ${fmtS(s.ms)}${s.reportedMs !== undefined ? ` (reported ${fmtS(s.reportedMs)})` : ''}${s.downtimeMs !== undefined ? ` downtime ${s.downtimeMs} ms` : ''}` +
        `${s.bytes ? ` ${fmtMB(s.bytes)}` : ''}${s.peakRssBytes ? ` rss ${fmtMB(s.peakRssBytes)}` : ''}` +
        ` cpu: container ${cpu.containerS?.toFixed(1)} s, host ${m.hostCpuS?.toFixed(1)} s, daemons ${cpu.daemonsS.toFixed(1)} s, other ${cpu.otherS?.toFixed(1)} s${s.noisy ? ' NOISY, again' : ''}`,
    );
    if (!s.noisy) return best;
  }
  noisy++;
  return best!;
}
/** Runs the tasks `n` times, rotating their order each round so none always goes first. */
async function alternate(tasks: Task[], n: number, label: string): Promise<Record<string, Sample[]>> {
  const out: Record<string, Sample[]> = Object.fromEntries(tasks.map((t) => [t.name, []]));
  for (let r = 0; r < n; r++) {
    log(`${label} round ${r + 1}/${n}`);
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[(i + r) % tasks.length];
      out[t.name].push(await measure(t));
    }
  }
  return out;
}

async function cliBackup(env: BenchEnv, args: string[], keep = false): Promise<Measured & { path: string }> {
  const r = await run('node', [CLI, 'backup', env.db, '--database', BENCH_DB, '--dir', tmpDir, ...args, '--json'], { measureRss: true });
  const j = JSON.parse(r.stdout) as { path: string; bytes: number; durationMs: number };
  if (!keep) await removeBackup(j.path);
  return { ms: r.ms, reportedMs: j.durationMs, bytes: j.bytes, peakRssBytes: r.peakRssBytes, hostCpuS: r.cpuS, path: j.path };
}

async function removeBackup(file: string): Promise<void> {
  await fs.rm(file, { force: true });
  await fs.rm(file + MANIFEST_SUFFIX, { force: true });
  const dir = path.dirname(file);
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (f.startsWith(path.basename(file))) await fs.rm(path.join(dir, f), { force: true });
  }
}

function inContainerDump(env: BenchEnv, level: number): Task {
  return {
    name: `in-container pg_dump -Z${level} >/dev/null`,
    go: async () => {
      const r = await docker(['exec', env.db, 'sh', '-c', `pg_dump -U ${BENCH_USER} -d ${BENCH_DB} -Z${level} > /dev/null`], { measureRss: true });
      return { ms: r.ms, hostCpuS: r.cpuS };
    },
  };
}

function hostDockerCliDump(env: BenchEnv, level: number): Task {
  return {
    name: `docker exec pg_dump -Z${level} >host /dev/null`,
    go: async () => {
      const r = await bash(`docker exec ${q(env.db)} pg_dump -U ${BENCH_USER} -d ${BENCH_DB} -Z${level} > /dev/null`, { measureRss: true });
      return { ms: r.ms, hostCpuS: r.cpuS };
    },
  };
}

/** The floor for any tool that writes the dump on the host: the docker CLI, pg_dump's own -Z, into a file. */
function hostDockerCliToFile(env: BenchEnv, level: number): Task {
  return {
    name: `docker exec pg_dump -Z${level} > file`,
    go: async () => {
      const file = path.join(tmpDir, 'docker-cli.sql.gz');
      const r = await bash(`docker exec ${q(env.db)} pg_dump -U ${BENCH_USER} -d ${BENCH_DB} -Z${level} > ${q(file)}`, { measureRss: true });
      const bytes = statSync(file).size;
      await fs.rm(file, { force: true });
      return { ms: r.ms, bytes, hostCpuS: r.cpuS };
    },
  };
}

/** The API stream path alone: dockerode exec, demultiplexed into a null sink, in this process. */
function dockerodeDump(env: BenchEnv, level: number): Task {
  return {
    name: `dockerode exec pg_dump -Z${level} → null`,
    go: async () => {
      const c0 = process.cpuUsage();
      const r = await probe(env.db, ['pg_dump', '-U', BENCH_USER, '-d', BENCH_DB, `-Z${level}`], 'demux');
      const c = process.cpuUsage(c0);
      return { ms: r.ms, bytes: r.bytes, hostCpuS: (c.user + c.system) / 1e6 };
    },
  };
}

function runbookTask(env: BenchEnv): Task {
  const file = () => path.join(tmpDir, 'runbook.sql.gz');
  return {
    name: 'runbook pg_dump | gzip',
    go: async () => {
      const r = await bash(`docker exec ${q(env.db)} pg_dump -U ${BENCH_USER} -d ${BENCH_DB} | gzip > ${q(file())}`, { measureRss: true });
      return { ms: r.ms, bytes: statSync(file()).size, hostCpuS: r.cpuS };
    },
    after: () => fs.rm(file(), { force: true }),
  };
}

function cliBackupTask(env: BenchEnv, name: string, args: string[]): Task {
  return { name, go: () => cliBackup(env, args) };
}

// ---------------------------------------------------------------------------------------------------------
// Restores.

async function dropDatabase(env: BenchEnv, db: string): Promise<void> {
  await psql(env.db, BENCH_USER, 'postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
}

/** bench_target and the side databases our restores leave for undo (bench_target_before_restore_…). */
async function dropRestoreLeftovers(env: BenchEnv): Promise<void> {
  // only this benchmark's own databases: others may use the container too
  const names = (
    await psql(env.db, BENCH_USER, 'postgres', `SELECT datname FROM pg_database WHERE datname IN ('${RESTORE_TARGET_DB}', '${BASELINE_DB}') OR datname LIKE '${RESTORE_TARGET_DB}\\_\\_%'`)
  ).split('\n').filter(Boolean);
  for (const n of names) await dropDatabase(env, n);
}

async function verifyRestored(env: BenchEnv, db: string, expected: string): Promise<void> {
  const got = await rowCounts(env.db, db);
  if (got !== expected) throw new Error(`${db} in ${env.db} has ${got} rows (pgbench_accounts/random_text), expected ${expected}`);
}

function baselineRestoreTask(env: BenchEnv, name: string, file: string, expected: string): Task {
  const gz = file.endsWith('.gz');
  const script = gz
    ? `gunzip -c ${q(file)} | docker exec -i ${q(env.db)} psql -X -q -v ON_ERROR_STOP=1 -U ${BENCH_USER} -d ${BASELINE_DB} > /dev/null`
    : `docker exec -i ${q(env.db)} pg_restore -U ${BENCH_USER} -d ${BASELINE_DB} < ${q(file)}`;
  return {
    name,
    before: async () => {
      await dropDatabase(env, BASELINE_DB);
      await psql(env.db, BENCH_USER, 'postgres', `CREATE DATABASE ${BASELINE_DB}`);
    },
    go: async () => {
      const r = await bash(script, { measureRss: true });
      if (/ERROR/.test(r.stderr)) throw new Error(`${name}: ${r.stderr.slice(0, 500)}`);
      return { ms: r.ms, hostCpuS: r.cpuS };
    },
    after: async () => {
      await verifyRestored(env, BASELINE_DB, expected);
      await dropDatabase(env, BASELINE_DB);
    },
  };
}

async function cliRestore(env: BenchEnv, file: string): Promise<Measured> {
  const r = await run('node', [CLI, 'restore', file, '--to', env.db, '--database', RESTORE_TARGET_DB, '--yes', '--no-checks', '--json'], { measureRss: true });
  const j = JSON.parse(r.stdout) as { durationMs: number; downtimeMs: number; stopped: string[] };
  if (!j.stopped.includes(env.app)) throw new Error(`the restore did not stop ${env.app} (stopped: ${j.stopped.join(', ') || 'none'})`);
  return { ms: r.ms, reportedMs: j.durationMs, downtimeMs: j.downtimeMs, peakRssBytes: r.peakRssBytes, hostCpuS: r.cpuS };
}

function cliRestoreTask(env: BenchEnv, name: string, file: string, expected: string): Task {
  return {
    name,
    go: () => cliRestore(env, file),
    after: async () => {
      await verifyRestored(env, RESTORE_TARGET_DB, expected);
      // now, not as autovacuum a minute later in the middle of another measurement
      await psql(env.db, BENCH_USER, RESTORE_TARGET_DB, 'VACUUM ANALYZE');
      if ((await docker(['inspect', '-f', '{{.State.Running}}', env.app])).stdout.trim() !== 'true') throw new Error(`${env.app} is not running after the restore`);
    },
  };
}

async function prepareRestoreTarget(env: BenchEnv): Promise<void> {
  // An existing (empty) live database, so every measured restore takes the same path: restore into scratch,
  // stop the app, rename live → before_restore and scratch → live, start the app.
  await dropRestoreLeftovers(env);
  await psql(env.db, BENCH_USER, 'postgres', `CREATE DATABASE ${RESTORE_TARGET_DB}`);
}

// ---------------------------------------------------------------------------------------------------------
// Summaries.

interface Stat {
  medianMs: number;
  reportedMedianMs?: number;
  downtimeMaxMs?: number;
  downtimeMedianMs?: number;
  medianBytes?: number;
  peakRssMaxBytes?: number;
  samples: Sample[];
}

function stat(samples: Sample[]): Stat {
  const pick = (f: (s: Sample) => number | undefined) => samples.map(f).filter((x): x is number => x !== undefined);
  const reported = pick((s) => s.reportedMs);
  const down = pick((s) => s.downtimeMs);
  const bytes = pick((s) => s.bytes);
  const rss = pick((s) => s.peakRssBytes);
  return {
    medianMs: median(samples.map((s) => s.ms)),
    reportedMedianMs: reported.length ? median(reported) : undefined,
    downtimeMaxMs: down.length ? Math.max(...down) : undefined,
    downtimeMedianMs: down.length ? median(down) : undefined,
    medianBytes: bytes.length ? median(bytes) : undefined,
    peakRssMaxBytes: rss.length ? Math.max(...rss) : undefined,
    samples,
  };
}

/** Median over rounds of a[i].ms / b[i].ms. */
function pairedRatio(a: Sample[] | undefined, b: Sample[] | undefined): number {
  if (!a || !b) return NaN;
  return median(a.slice(0, b.length).map((s, i) => s.ms / b[i].ms));
}

const stats = (m: Record<string, Sample[]>): Record<string, Stat> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, stat(v)]));

interface Check {
  target: string;
  value: string;
  pass: boolean;
}

function statRows(s: Record<string, Stat>): string[][] {
  return Object.entries(s).map(([name, st]) => [
    name,
    fmtS(st.medianMs),
    st.reportedMedianMs !== undefined ? fmtS(st.reportedMedianMs) : '-',
    st.medianBytes !== undefined ? fmtMB(st.medianBytes) : '-',
    st.peakRssMaxBytes !== undefined ? fmtMB(st.peakRssMaxBytes) : '-',
    st.downtimeMaxMs !== undefined ? `${st.downtimeMaxMs} ms` : '-',
  ]);
}
const STAT_HEADER = ['command', 'median wall', 'reported', 'size', 'peak RSS', 'max downtime'];

/** The issue's targets, from whatever sections the results file holds now (this run's and earlier ones'). */
function deriveChecks(results: Record<string, unknown>): Check[] {
  const checks: Check[] = [];
  type Main = { ratios: Record<string, number>; restore?: Record<string, Stat>; peakRssMaxBytes?: number; defaultBackupPeakRssBytes?: number };
  const s1 = results.scale1 as Main | undefined;
  const s4 = results.scale4 as { backup?: Sample; restore?: Sample } | undefined;
  if (s1) {
    const r = s1.ratios;
    const paired = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? ` (per round ${fmtX(x)})` : '');
    checks.push({ target: `default backup >= ${TARGETS.runbookOverDefault}x faster than runbook`, value: fmtX(r.runbookOverDefault) + paired(r.pairedRunbookOverDefault), pass: r.runbookOverDefault >= TARGETS.runbookOverDefault });
    checks.push({ target: `default backup <= ${TARGETS.defaultOverInContainerZ6}x in-container -Z6`, value: fmtX(r.defaultOverInContainerZ6) + paired(r.pairedDefaultOverInContainerZ6), pass: r.defaultOverInContainerZ6 <= TARGETS.defaultOverInContainerZ6 });
    if (r.defaultOverInContainerSame !== undefined) {
      checks.push({ target: `default backup <= ${TARGETS.defaultOverInContainerZ6}x in-container -Z${DEFAULT_COMPRESSION_LEVEL} (same codec and level)`, value: fmtX(r.defaultOverInContainerSame) + paired(r.pairedDefaultOverInContainerSame), pass: r.defaultOverInContainerSame <= TARGETS.defaultOverInContainerZ6 });
    }
    if (r.dockerCliFileOverInContainerSame !== undefined) {
      checks.push({ target: `(floor, no target) docker exec pg_dump -Z${DEFAULT_COMPRESSION_LEVEL} > file / in-container`, value: fmtX(r.dockerCliFileOverInContainerSame), pass: true });
      checks.push({ target: `(no target) default backup / docker exec pg_dump -Z${DEFAULT_COMPRESSION_LEVEL} > file`, value: fmtX(r.defaultOverDockerCliFile), pass: true });
    }
    if (s1.restore) {
      const rc = r.restoreCustomOverBaseline;
      const rs = r.restoreSqlGzOverBaseline;
      const down = Math.max(s1.restore['our CLI restore .dump'].downtimeMaxMs ?? NaN, s1.restore['our CLI restore .sql.gz'].downtimeMaxMs ?? NaN);
      checks.push({ target: `restore (custom) <= ${TARGETS.restoreOverBaseline}x docker exec pg_restore`, value: fmtX(rc) + paired(r.pairedRestoreCustomOverBaseline), pass: rc <= TARGETS.restoreOverBaseline });
      checks.push({ target: `restore (.sql.gz) <= ${TARGETS.restoreOverBaseline}x gunzip | psql`, value: fmtX(rs) + paired(r.pairedRestoreSqlGzOverBaseline), pass: rs <= TARGETS.restoreOverBaseline });
      const downMedian = median([...s1.restore['our CLI restore .dump'].samples, ...s1.restore['our CLI restore .sql.gz'].samples].map((x) => x.downtimeMs ?? NaN));
      checks.push({ target: `restore downtime < ${TARGETS.downtimeMs} ms (1x, max)`, value: `${down} ms (median ${downMedian} ms)`, pass: down < TARGETS.downtimeMs });
    }
  }
  const r4 = (results.scale4 as { ratios?: { defaultOverInContainerZ6?: number; restoreSqlGzOverBaseline?: number } } | undefined)?.ratios;
  if (r4?.defaultOverInContainerZ6 !== undefined) {
    checks.push({ target: `default backup <= ${TARGETS.defaultOverInContainerZ6}x in-container -Z6 (4x, one run)`, value: fmtX(r4.defaultOverInContainerZ6), pass: r4.defaultOverInContainerZ6 <= TARGETS.defaultOverInContainerZ6 });
  }
  if (r4?.restoreSqlGzOverBaseline !== undefined) {
    checks.push({ target: `restore (.sql.gz) <= ${TARGETS.restoreOverBaseline}x gunzip | psql (4x, one run)`, value: fmtX(r4.restoreSqlGzOverBaseline), pass: r4.restoreSqlGzOverBaseline <= TARGETS.restoreOverBaseline });
  }
  if (s4?.restore?.downtimeMs !== undefined) {
    checks.push({ target: `restore downtime < ${TARGETS.downtimeMs} ms (4x)`, value: `${s4.restore.downtimeMs} ms`, pass: s4.restore.downtimeMs < TARGETS.downtimeMs });
  }
  const peak = Math.max(...[s1?.peakRssMaxBytes, s4?.backup?.peakRssBytes, s4?.restore?.peakRssBytes].filter((x): x is number => x !== undefined));
  if (Number.isFinite(peak)) checks.push({ target: `CLI peak RSS < ${TARGETS.peakRssMB} MB (all runs)`, value: fmtMB(peak), pass: peak < TARGETS.peakRssMB * MB });
  if (s1?.defaultBackupPeakRssBytes && s4?.backup?.peakRssBytes) {
    const g = s4.backup.peakRssBytes / s1.defaultBackupPeakRssBytes;
    checks.push({ target: `backup peak RSS 4x/1x <= ${TARGETS.rssGrowth4x}`, value: `${fmtX(g)} (${fmtMB(s1.defaultBackupPeakRssBytes)} → ${fmtMB(s4.backup.peakRssBytes)})`, pass: g <= TARGETS.rssGrowth4x });
  }
  const r1 = s1?.restore?.['our CLI restore .sql.gz']?.peakRssMaxBytes;
  if (r1 && s4?.restore?.peakRssBytes) {
    const g = s4.restore.peakRssBytes / r1;
    checks.push({ target: `restore peak RSS 4x/1x <= ${TARGETS.rssGrowth4x}`, value: `${fmtX(g)} (${fmtMB(r1)} → ${fmtMB(s4.restore.peakRssBytes)})`, pass: g <= TARGETS.rssGrowth4x });
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------------------

async function loadResults(): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fs.readFile(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function buildCli(): Promise<string> {
  const esbuild = await import('esbuild');
  const outfile = path.join(__dirname, '.build', 'cli.js');
  // the project's own bundle options (esbuild.js), so the measured CLI is built like dist/cli.js
  await esbuild.build({ ...esbuildCommon(), entryPoints: [path.join(ROOT, 'src/cli/index.ts')], outfile });
  return outfile;
}

/**
 * Copies the CLI bundle (and the chunks next to it) aside, so that a rebuild of dist/ during the run does not
 * mix two versions in one set of numbers. Inside bench/ so that node_modules still resolves.
 */
async function snapshotCli(cli: string): Promise<string> {
  const dir = path.join(__dirname, '.build', `snapshot-${process.pid}`);
  await fs.mkdir(dir, { recursive: true });
  for (const f of await fs.readdir(path.dirname(cli))) {
    if (f.endsWith('.js')) await fs.copyFile(path.join(path.dirname(cli), f), path.join(dir, f));
  }
  return path.join(dir, path.basename(cli));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (opt.build) CLI = await buildCli();
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: run \`node esbuild.js\` (or pass --build)`);
  const cliSource = CLI;
  const cliBuilt = statSync(CLI).mtime.toISOString();
  if (!opt.build) CLI = await snapshotCli(CLI);
  tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-'));
  const cleanupTmp = async () => {
    await fs.rm(tmpDir, { recursive: true, force: true });
    if (!opt.build) await fs.rm(path.dirname(CLI), { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanupTmp().finally(() => process.exit(130));
  });
  const results = await loadResults();
  const runInfo = {
    date: new Date().toISOString(),
    cli: path.relative(ROOT, cliSource),
    cliBuilt,
    defaultCompressionLevel: DEFAULT_COMPRESSION_LEVEL,
    cpus: os.cpus().length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    dockerServer: (await docker(['version', '-f', '{{.Server.Version}}'])).stdout.trim(),
    peakRssMethod: haveGnuTime ? '/usr/bin/time %M' : '/proc/<pid>/status VmHWM polling',
    rounds,
    restoreRounds,
  };
  const checks: Check[] = [];
  const out: string[] = [];
  try {
    // ----- main comparison -----
    if (!opt['only-scale4'] && !opt['no-main']) {
      const env = benchEnv(mainScale);
      const ref = await ensureReferenceDb(env);
      benchContainerId = await containerId(env.db);
      const expected = await rowCounts(env.db, BENCH_DB);
      log(`reference database ${env.db}/${BENCH_DB}: ${fmtMB(ref.sizeBytes)} (${expected} rows pgbench_accounts/random_text)`);
      // warm-up: page cache and shared buffers, so the first measured command is not penalised
      await docker(['exec', env.db, 'sh', '-c', `pg_dump -U ${BENCH_USER} -d ${BENCH_DB} > /dev/null`]);

      const backupSamples = await alternate(
        [runbookTask(env), inContainerDump(env, DEFAULT_COMPRESSION_LEVEL), hostDockerCliToFile(env, DEFAULT_COMPRESSION_LEVEL), inContainerDump(env, 6), cliBackupTask(env, 'our CLI backup (default)', []), cliBackupTask(env, 'our CLI backup --compression 6', ['--compression', '6'])],
        rounds,
        'backup',
      );
      const b = stats(backupSamples);
      const runbook = b['runbook pg_dump | gzip'].medianMs;
      const z6 = b['in-container pg_dump -Z6 >/dev/null'].medianMs;
      const ours = b['our CLI backup (default)'];
      const ratioRunbook = runbook / ours.medianMs;
      const ratioZ6 = ours.medianMs / z6;
      const sameName = `in-container pg_dump -Z${DEFAULT_COMPRESSION_LEVEL} >/dev/null`;
      const same = b[sameName].medianMs;
      const dockerCliName = `docker exec pg_dump -Z${DEFAULT_COMPRESSION_LEVEL} > file`;
      const section: Record<string, unknown> = {
        cliBuilt: runInfo.cliBuilt,
        databaseBytes: ref.sizeBytes,
        rows: expected,
        backup: b,
        ratios: {
          runbookOverDefault: ratioRunbook,
          defaultOverInContainerZ6: ratioZ6,
          // the same codec and level as our default, in the container (issue 7's target)
          defaultOverInContainerSame: ours.medianMs / same,
          pairedDefaultOverInContainerSame: pairedRatio(backupSamples['our CLI backup (default)'], backupSamples[sameName]),
          // the floor of writing the dump on the host at all: the docker CLI into a file, over the in-container run
          dockerCliFileOverInContainerSame: b[dockerCliName].medianMs / same,
          defaultOverDockerCliFile: ours.medianMs / b[dockerCliName].medianMs,
          defaultReportedOverInContainerZ6: (ours.reportedMedianMs ?? NaN) / z6,
          compression6OverInContainerZ6: b['our CLI backup --compression 6'].medianMs / z6,
          defaultBytesOverZ6Bytes: (ours.medianBytes ?? NaN) / (b['our CLI backup --compression 6'].medianBytes ?? NaN),
          // the same ratios taken within each round (commands measured minutes apart see the same machine), median
          pairedRunbookOverDefault: pairedRatio(backupSamples['runbook pg_dump | gzip'], backupSamples['our CLI backup (default)']),
          pairedDefaultOverInContainerZ6: pairedRatio(backupSamples['our CLI backup (default)'], backupSamples['in-container pg_dump -Z6 >/dev/null']),
        },
      };
      out.push(`Backup, ${env.scale}x database (${fmtMB(ref.sizeBytes)}), medians of ${rounds} alternating rounds`, table(STAT_HEADER, statRows(b)), '');

      if (!opt['no-restore']) {
        log('making the restore inputs with our CLI (default .sql.gz, custom)');
        const sqlGz = await cliBackup(env, [], true);
        const custom = await cliBackup(env, ['--format', 'custom'], true);
        await prepareRestoreTarget(env);
        const restoreSamples = await alternate(
          [
            baselineRestoreTask(env, 'docker exec -i pg_restore < .dump', custom.path, expected),
            cliRestoreTask(env, 'our CLI restore .dump', custom.path, expected),
            baselineRestoreTask(env, 'gunzip -c | docker exec -i psql', sqlGz.path, expected),
            cliRestoreTask(env, 'our CLI restore .sql.gz', sqlGz.path, expected),
          ],
          restoreRounds,
          'restore',
        );
        const r = stats(restoreSamples);
        const rc = r['our CLI restore .dump'].medianMs / r['docker exec -i pg_restore < .dump'].medianMs;
        const rs = r['our CLI restore .sql.gz'].medianMs / r['gunzip -c | docker exec -i psql'].medianMs;
        section.restore = r;
        section.restoreInputs = { sqlGzBytes: sqlGz.bytes, customBytes: custom.bytes, customBackupMs: custom.ms, customBackupRssBytes: custom.peakRssBytes };
        const ratios = section.ratios as Record<string, number>;
        ratios.restoreCustomOverBaseline = rc;
        ratios.restoreSqlGzOverBaseline = rs;
        ratios.pairedRestoreCustomOverBaseline = pairedRatio(restoreSamples['our CLI restore .dump'], restoreSamples['docker exec -i pg_restore < .dump']);
        ratios.pairedRestoreSqlGzOverBaseline = pairedRatio(restoreSamples['our CLI restore .sql.gz'], restoreSamples['gunzip -c | docker exec -i psql']);
        out.push(`Restore, ${env.scale}x database, medians of ${restoreRounds} alternating rounds (inputs: .sql.gz ${fmtMB(sqlGz.bytes)}, .dump ${fmtMB(custom.bytes)})`, table(STAT_HEADER, statRows(r)), '');
        await dropRestoreLeftovers(env);
      } else {
        // keep the restore numbers of an earlier run
        const prev = results.scale1 as Record<string, unknown> | undefined;
        if (env.scale === 1 && prev?.restore) {
          section.restore = prev.restore;
          section.restoreInputs = prev.restoreInputs;
          section.restoreFromRunOf = (results.run as { date?: string } | undefined)?.date;
          for (const k of ['restoreCustomOverBaseline', 'restoreSqlGzOverBaseline', 'pairedRestoreCustomOverBaseline', 'pairedRestoreSqlGzOverBaseline']) {
            (section.ratios as Record<string, number>)[k] = (prev.ratios as Record<string, number>)[k];
          }
        }
      }
      const rssAll = [...Object.values(backupSamples).flat(), ...Object.values((section.restore as Record<string, Stat> | undefined) ?? {}).flatMap((s) => s.samples)]
        .map((s) => s.peakRssBytes)
        .filter((x): x is number => x !== undefined);
      section.peakRssMaxBytes = Math.max(...rssAll);
      section.defaultBackupPeakRssBytes = ours.peakRssMaxBytes;
      results[env.scale === 1 ? "scale1" : `main_scale${env.scale}`] = section;
    }

    // ----- gzip level experiment -----
    if (opt.levels) {
      const env = benchEnv(mainScale);
      await ensureReferenceDb(env);
      benchContainerId = await containerId(env.db);
      const levels = opt.levels.split(',').map(Number);
      const tasks: Task[] = [];
      for (const l of levels) {
        tasks.push(inContainerDump(env, l), hostDockerCliDump(env, l), dockerodeDump(env, l), cliBackupTask(env, `our CLI --compression ${l}`, ['--compression', String(l)]));
      }
      const e = stats(await alternate(tasks, rounds, 'levels'));
      const z6Bytes = e['our CLI --compression 6']?.medianBytes;
      const z6 = e['in-container pg_dump -Z6 >/dev/null']?.medianMs;
      const rows = levels.map((l) => {
        const inC = e[`in-container pg_dump -Z${l} >/dev/null`];
        const host = e[`docker exec pg_dump -Z${l} >host /dev/null`];
        const cli = e[`our CLI --compression ${l}`];
        const api = e[`dockerode exec pg_dump -Z${l} → null`];
        return [
          `-Z${l}`,
          fmtS(inC.medianMs),
          fmtS(host.medianMs),
          fmtS(api.medianMs),
          fmtS(cli.medianMs),
          fmtS(cli.reportedMedianMs ?? NaN),
          fmtX(cli.medianMs / inC.medianMs),
          z6 ? fmtX(cli.medianMs / z6) : '-',
          fmtMB(cli.medianBytes),
          z6Bytes && cli.medianBytes ? fmtX(cli.medianBytes / z6Bytes) : '-',
        ];
      });
      out.push(
        `gzip levels, ${env.scale}x database, medians of ${rounds} rounds`,
        table(['level', 'in-container', 'docker CLI→host', 'dockerode→null', 'our CLI', 'our stream', 'CLI/in-cont.', 'CLI/in-cont.-Z6', 'size', 'size/Z6'], rows),
        '',
      );
      results.levels = { cliBuilt: runInfo.cliBuilt, scale: env.scale, stats: e };
    }

    // ----- 4x: memory and downtime -----
    if (opt.scale4 || opt['only-scale4']) {
      const env = benchEnv(4);
      const ref = await ensureReferenceDb(env);
      benchContainerId = await containerId(env.db);
      const expected = await rowCounts(env.db, BENCH_DB);
      log(`4x database ${env.db}: ${fmtMB(ref.sizeBytes)} (${expected})`);
      await docker(['exec', env.db, 'sh', '-c', `pg_dump -U ${BENCH_USER} -d ${BENCH_DB} > /dev/null`]);
      const backup = await measure({ name: 'our CLI backup (default), 4x', go: () => cliBackup(env, [], true) });
      const backupPath = (backup as Sample & { path?: string }).path!;
      const z6 = await measure(inContainerDump(env, 6));
      let restore: Sample | undefined;
      let baselineRestore: Sample | undefined;
      if (!opt['no-restore']) {
        await prepareRestoreTarget(env);
        baselineRestore = await measure(baselineRestoreTask(env, 'gunzip -c | docker exec -i psql, 4x', backupPath, expected));
        restore = await measure(cliRestoreTask(env, 'our CLI restore .sql.gz, 4x', backupPath, expected));
        await dropRestoreLeftovers(env);
      }
      await removeBackup(backupPath);
      delete (backup as Sample & { path?: string }).path;
      results.scale4 = {
        cliBuilt: runInfo.cliBuilt,
        databaseBytes: ref.sizeBytes,
        rows: expected,
        backup,
        inContainerZ6: z6,
        restore,
        baselineRestore,
        ratios: { defaultOverInContainerZ6: backup.ms / z6.ms, restoreSqlGzOverBaseline: restore && baselineRestore ? restore.ms / baselineRestore.ms : undefined },
      };
      out.push(
        `4x database (${fmtMB(ref.sizeBytes)}), one run each`,
        table(STAT_HEADER, statRows({ 'our CLI backup (default)': stat([backup]), 'in-container pg_dump -Z6 >/dev/null': stat([z6]), ...(baselineRestore ? { 'gunzip -c | docker exec -i psql': stat([baselineRestore]) } : {}), ...(restore ? { 'our CLI restore .sql.gz': stat([restore]) } : {}) })),
        '',
      );
    }

    checks.push(...deriveChecks(results));

    results.run = { ...runInfo, noisyMeasurements: noisy, totalSeconds: Math.round((Date.now() - t0) / 1000) };
    results.targets = TARGETS;
    results.checks = checks;
    await fs.mkdir(path.dirname(RESULTS), { recursive: true });
    await fs.writeFile(RESULTS, JSON.stringify(results, null, 2) + '\n');

    out.push('Targets', table(['target', 'measured', 'result'], checks.map((c) => [c.target, c.value, c.pass ? 'PASS' : 'FAIL'])), '');
    out.push(`(${runInfo.cli} built ${runInfo.cliBuilt}; ${noisy} noisy measurements; ${Math.round((Date.now() - t0) / 1000)} s; results in ${path.relative(ROOT, RESULTS)})`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await cleanupTmp();
    if (opt.clean) {
      for (const s of new Set([mainScale, ...(opt.scale4 || opt['only-scale4'] ? [4] : [])])) await removeBenchContainers(benchEnv(s));
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
