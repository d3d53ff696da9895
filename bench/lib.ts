// Small process/Docker helpers for the benchmarks: spawn with wall-clock timing, peak RSS, psql in a container.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock from spawn to exit. */
  ms: number;
  /** Peak resident set size of the measured process in bytes (when asked for). */
  peakRssBytes?: number;
  /** User+system CPU seconds of the process and the children it waited for (with measureRss and GNU time). */
  cpuS?: number;
}

export interface RunOptions {
  /** Throw unless the exit code is 0 (default true). */
  check?: boolean;
  /** Measure the peak RSS of the process (GNU time when present, else /proc polling of VmHWM). */
  measureRss?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Echo stderr as it comes (long setup steps). */
  echoStderr?: boolean;
}

const GNU_TIME = '/usr/bin/time';
export const haveGnuTime = existsSync(GNU_TIME);

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  let rssFile: string | undefined;
  let argv = [cmd, ...args];
  if (opts.measureRss && haveGnuTime) {
    rssFile = path.join(os.tmpdir(), `pgdb-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
    argv = [GNU_TIME, '-f', '%M %U %S', '-o', rssFile, ...argv];
  }
  const started = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => {
    err.push(c);
    if (opts.echoStderr) process.stderr.write(c);
  });
  let polledHwmKb = 0;
  let poll: NodeJS.Timeout | undefined;
  if (opts.measureRss && !haveGnuTime && child.pid) {
    const statusFile = `/proc/${child.pid}/status`;
    poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(statusFile, 'utf8'));
        if (m) polledHwmKb = Math.max(polledHwmKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 20);
  }
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : -1)));
  });
  if (poll) clearInterval(poll);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const result: RunResult = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms };
  if (rssFile) {
    const text = await fs.readFile(rssFile, 'utf8').catch(() => '');
    await fs.rm(rssFile, { force: true });
    // GNU time prints "Command exited with non-zero status N" first when it fails
    const [kb, user, sys] = (text.trim().split('\n').pop() ?? '').split(' ').map(Number);
    if (Number.isFinite(kb) && kb > 0) result.peakRssBytes = kb * 1024;
    if (Number.isFinite(user) && Number.isFinite(sys)) result.cpuS = user + sys;
  } else if (opts.measureRss && polledHwmKb > 0) {
    result.peakRssBytes = polledHwmKb * 1024;
  }
  if ((opts.check ?? true) && code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${code}\n${result.stderr.slice(-2000)}`);
  }
  return result;
}

/** bash -c with pipefail, so a failing pg_dump in `pg_dump | gzip` fails the whole command. */
export function bash(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('bash', ['-c', `set -euo pipefail; ${script}`], opts);
}

/** Quotes for a POSIX shell. */
export function q(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('docker', args, opts);
}

export async function containerState(name: string): Promise<string | undefined> {
  const r = await docker(['inspect', '-f', '{{.State.Status}}', name], { check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Runs SQL with psql in the container (unaligned, tuples only) and returns stdout trimmed. */
export async function psql(container: string, user: string, db: string, sql: string, opts: RunOptions = {}): Promise<string> {
  const r = await docker(['exec', container, 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', user, '-d', db, '-c', sql], opts);
  return r.stdout.trim();
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const MB = 1024 * 1024;
export const fmtS = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-');
export const fmtMB = (b: number | undefined): string => (b !== undefined && Number.isFinite(b) ? `${(b / MB).toFixed(1)} MB` : '-');
export const fmtX = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Prints rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// CPU accounting: on a shared two-core machine other work skews every timing. A measurement snapshots the
// machine's busy time (/proc/stat), the bench container's cgroup CPU, and the Docker daemons' CPU; what is left
// after subtracting those and the measured host process tree (GNU time) is "other" CPU, i.e. noise.

const CLK_TCK = 100;

function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: interrupts are not charged to any process and mostly
  // serve the measured work (socket and disk I/O), so they are left out, like the kernel threads below
  const busy = f[0] + f[1] + f[2];
  return busy / CLK_TCK;
}

function procCpuS(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime stime
  } catch {
    return 0;
  }
}

/** Processes with one of these names, and kernel threads (writeback, journalling: the measured work's disk I/O). */
function pidsNamed(names: RegExp): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (names.test(comm) || ppid === 2 || d === '2') out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function cgroupCpuS(containerId: string): number | undefined {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${containerId}/cpuacct.usage`;
  const v2 = [`/sys/fs/cgroup/system.slice/docker-${containerId}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${containerId}/cpu.stat`];
  try {
    return Number(readFileSync(v1, 'utf8')) / 1e9;
  } catch {
    for (const p of v2) {
      try {
        const m = /usage_usec (\d+)/.exec(readFileSync(p, 'utf8'));
        if (m) return Number(m[1]) / 1e6;
      } catch {
        /* next */
      }
    }
  }
  return undefined;
}

export interface CpuSnapshot {
  machine: number;
  container?: number;
  /** CPU seconds per daemon/kernel-thread pid. */
  daemons: Map<number, number>;
}

/** Containers' cgroup ids by name, resolved once. */
const ids = new Map<string, string>();
export async function containerId(name: string): Promise<string> {
  let id = ids.get(name);
  if (!id) {
    id = (await docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
    ids.set(name, id);
  }
  return id;
}

const DAEMONS = /^(dockerd|containerd|containerd-shim.*|docker-proxy)$/;

export function cpuSnapshot(containerIdFull: string): CpuSnapshot {
  return {
    machine: machineBusyS(),
    container: cgroupCpuS(containerIdFull),
    daemons: new Map(pidsNamed(DAEMONS).map((p) => [p, procCpuS(p)])),
  };
}

export interface CpuUse {
  /** CPU seconds of the whole machine during the measurement. */
  machineS: number;
  containerS?: number;
  daemonsS: number;
  hostProcessS?: number;
  /** Busy time not explained by the measured work (container, host process tree, Docker daemons, kernel threads). */
  otherS?: number;
}

export function cpuUse(before: CpuSnapshot, containerIdFull: string, hostProcessS: number | undefined): CpuUse {
  const machineS = machineBusyS() - before.machine;
  const c = cgroupCpuS(containerIdFull);
  const containerS = c !== undefined && before.container !== undefined ? c - before.container : undefined;
  // pids that exited meanwhile are left out; new ones (an exec's shim) count from zero
  let daemonsS = 0;
  for (const p of pidsNamed(DAEMONS)) {
    const now = procCpuS(p);
    const was = before.daemons.get(p) ?? 0;
    if (now >= was) daemonsS += now - was;
  }
  const otherS = containerS !== undefined && hostProcessS !== undefined ? Math.max(0, machineS - containerS - daemonsS - hostProcessS) : undefined;
  return { machineS, containerS, daemonsS, hostProcessS, otherS };
}

/** esbuild.js's options for every bundle (CommonJS for Node 20, the external modules), for benches that build a CLI. */
export function esbuildCommon(): import('esbuild').BuildOptions {
  return (require(path.join(__dirname, '..', 'esbuild.js')) as { common: import('esbuild').BuildOptions }).common;
}
