/**
 * Remote copies: upload and download throughput of our CLI against Debian's `aws s3 cp` on the same file
 * and the same local S3 server (s3rver, scripts/s3-test-server.cjs), and the CLI's peak RSS (target:
 * under 150 MB for a 2 GB backup). Prints a table and writes bench/results/remote.json.
 *   node --import=tsx bench/remote.ts [--large] [--rounds N] [--baseline OTHER/dist/cli.js]
 * (--large adds a 2 GB file; 3 rounds by default; --baseline measures another build in the same rounds)
 * Each round runs ours and aws alternately (who goes first alternates), upload then download, and records the
 * client's CPU (GNU time) and s3rver's CPU during each transfer: on a shared 2-core machine the server competes
 * with the client, so wall times are noisy and the CPU seconds say where the time went.
 * Needs `node esbuild.js` first; installs Debian's awscli with apt-get when /usr/bin/aws is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { randomFile } from '../test/integration/remoteServers';
import { MB, fmtMB, fmtS, haveGnuTime, median, run, table } from './lib';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const AWS = '/usr/bin/aws';
/** `--baseline DIST/cli.js`: another build of the CLI (e.g. main's) measured in the same rounds. */
const BASELINE = process.argv.includes('--baseline') ? path.resolve(process.argv[process.argv.indexOf('--baseline') + 1]) : undefined;

async function ensureAwsCli(): Promise<string> {
  if (!existsSync(AWS)) {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw new Error('Debian\'s awscli is missing: run `sudo apt-get install awscli`, then run the benchmark again.');
    console.error('installing Debian\'s awscli (apt-get)');
    await run('apt-get', ['install', '-y', '-qq', 'awscli'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return (await run(AWS, ['--version'])).stdout.trim();
}

async function startServer(dir: string): Promise<{ endpoint: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(ROOT, 'scripts', 's3-test-server.cjs'), '--dir', path.join(dir, 'data'), '--log', path.join(dir, 'requests.jsonl'), '--bucket', 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).port));
    child.once('exit', (c) => reject(new Error(`s3rver exited (${c})`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

interface Row {
  size: string;
  tool: string;
  direction: 'upload' | 'download';
  round: number;
  ms: number;
  mbPerS: number;
  /** user+system CPU seconds of the client process (GNU time) */
  clientCpuS?: number;
  /** user+system CPU seconds s3rver spent during the transfer (/proc/PID/stat) */
  serverCpuS: number;
  peakRssMB?: number;
}

/** user+system CPU seconds of a process so far. */
function cpuSecondsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  PG_DOCKER_BACKUP_REMOTES: '/nonexistent',
};

/** One round on one file: ours and aws alternate (who goes first alternates by round), upload then download. */
async function round(server: Awaited<ReturnType<typeof startServer>>, work: string, file: string, label: string, bytes: number, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const measure = async (tool: string, direction: Row['direction'], cmd: string, args: string[]) => {
    const s0 = cpuSecondsOf(server.pid);
    const r = await run(cmd, args, { env: ENV, measureRss: true });
    rows.push({ size: label, tool, direction, round: n, ms: r.ms, mbPerS: bytes / MB / (r.ms / 1000), clientCpuS: r.cpuS, serverCpuS: cpuSecondsOf(server.pid) - s0, peakRssMB: r.peakRssBytes === undefined ? undefined : r.peakRssBytes / MB });
    return r;
  };
  const name = path.basename(file);
  const awsArgs = ['--endpoint-url', server.endpoint, '--only-show-errors'];
  const ours = (cli: string, tool: string, prefix: string) => async () => {
    const up = await measure(tool, 'upload', process.execPath, [cli, 'upload', file, `s3://bench/${prefix}${n}`, '--endpoint', server.endpoint]);
    await measure(tool, 'download', process.execPath, [cli, 'download', up.stdout.trim(), '--endpoint', server.endpoint, '--dir', path.join(work, 'ours-down')]);
    await fs.rm(path.join(work, 'ours-down'), { recursive: true, force: true });
  };
  const aws = async () => {
    await measure('aws s3 cp', 'upload', AWS, ['s3', 'cp', file, `s3://bench/aws${n}/${name}`, ...awsArgs]);
    await measure('aws s3 cp', 'download', AWS, ['s3', 'cp', `s3://bench/aws${n}/${name}`, path.join(work, 'aws-down', name), ...awsArgs]);
  };
  const steps = [ours(CLI, 'pg-docker-backup', 'ours'), aws, ...(BASELINE ? [ours(BASELINE, 'pg-docker-backup (baseline)', 'base')] : [])];
  for (let i = 0; i < steps.length; i++) await steps[(i + n) % steps.length]();
  // the next round starts from the same disk state: downloads and this round's objects removed
  for (const d of [path.join(work, 'ours-down'), path.join(work, 'aws-down'), path.join(work, 'data', 'bench', `ours${n}`), path.join(work, 'data', 'bench', `aws${n}`), path.join(work, 'data', 'bench', `base${n}`)]) await fs.rm(d, { recursive: true, force: true });
  return rows;
}

function summary(rows: Row[]): string[][] {
  const out: string[][] = [];
  for (const size of [...new Set(rows.map((r) => r.size))]) {
    for (const direction of ['upload', 'download'] as const) {
      for (const tool of ['pg-docker-backup', 'pg-docker-backup (baseline)', 'aws s3 cp']) {
        const rs = rows.filter((r) => r.size === size && r.direction === direction && r.tool === tool);
        if (!rs.length) continue;
        const ms = median(rs.map((r) => r.ms));
        const bytes = rs[0].mbPerS * (rs[0].ms / 1000);
        out.push([size, direction, tool, `${rs.map((r) => fmtS(r.ms)).join(' / ')}`, fmtS(ms), (bytes / (ms / 1000)).toFixed(0), median(rs.map((r) => r.clientCpuS ?? NaN)).toFixed(1), median(rs.map((r) => r.serverCpuS)).toFixed(1), fmtMB(Math.max(...rs.map((r) => r.peakRssMB ?? 0)) * MB)]);
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `node esbuild.js` first.');
  const awsVersion = await ensureAwsCli();
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-remote-'));
  const server = await startServer(work);
  const sizes = [['200 MB', 200 * MB], ...(process.argv.includes('--large') ? [['2 GB', 2048 * MB]] : [])] as [string, number][];
  const rows: Row[] = [];
  try {
    for (const [label, bytes] of sizes) {
      const dir = path.join(work, 'local', 'bench-db', 'bench');
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `bench_${bytes}.dump`);
      await randomFile(file, bytes);
      for (let n = 0; n < rounds; n++) rows.push(...(await round(server, work, file, label, bytes, n)));
      await fs.rm(file, { force: true });
    }
  } finally {
    server.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  console.log(`\nRemote copies against s3rver on loopback (${os.cpus().length} CPUs; ${awsVersion}; ${rounds} alternating rounds, medians; CPU and RSS by ${haveGnuTime ? 'GNU time' : '/proc'})\n`);
  console.log(table(['file', 'direction', 'tool', 'each round', 'median', 'MB/s', 'client CPU s', 's3rver CPU s', 'peak RSS'], summary(rows)));
  const out = path.join(ROOT, 'bench', 'results', 'remote.json');
  await fs.writeFile(out, JSON.stringify({ when: new Date().toISOString(), cpus: os.cpus().length, loadavg: os.loadavg(), server: 's3rver 3.7.1 on 127.0.0.1', aws: awsVersion, rounds, rows }, null, 2) + '\n');
  console.log(`\nwritten to ${path.relative(ROOT, out)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
