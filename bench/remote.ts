/**
 * Remote copies: upload and download throughput of our CLI against Debian's `aws s3 cp` on the same file
 * and the same local S3 server (s3rver, scripts/s3-test-server.cjs), and the CLI's peak RSS (target:
 * under 150 MB for a 2 GB backup). Prints a table and writes bench/results/remote.json.
 *   node --import=tsx bench/remote.ts [--large]     (--large adds a 2 GB file)
 * Needs `node esbuild.js` first; installs Debian's awscli with apt-get when /usr/bin/aws is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { randomFile } from '../test/integration/remoteServers';
import { MB, fmtMB, fmtS, haveGnuTime, run, table } from './lib';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const AWS = '/usr/bin/aws';

async function ensureAwsCli(): Promise<string> {
  if (!existsSync(AWS)) {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw new Error('Debian\'s awscli is missing: run `sudo apt-get install awscli`, then run the benchmark again.');
    console.error('installing Debian\'s awscli (apt-get)');
    await run('apt-get', ['install', '-y', '-qq', 'awscli'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return (await run(AWS, ['--version'])).stdout.trim();
}

async function startServer(dir: string): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(ROOT, 'scripts', 's3-test-server.cjs'), '--dir', path.join(dir, 'data'), '--log', path.join(dir, 'requests.jsonl'), '--bucket', 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).port));
    child.once('exit', (c) => reject(new Error(`s3rver exited (${c})`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

interface Row {
  size: string;
  tool: string;
  direction: 'upload' | 'download';
  ms: number;
  mbPerS: number;
  peakRssMB?: number;
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `node esbuild.js` first.');
  const awsVersion = await ensureAwsCli();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-remote-'));
  const server = await startServer(work);
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    PG_DOCKER_BACKUP_REMOTES: '/nonexistent',
  };
  const sizes = [['200 MB', 200 * MB], ...(process.argv.includes('--large') ? [['2 GB', 2048 * MB]] : [])] as [string, number][];
  const rows: Row[] = [];
  const add = (size: string, bytes: number, tool: string, direction: Row['direction'], r: { ms: number; peakRssBytes?: number }) =>
    rows.push({ size, tool, direction, ms: r.ms, mbPerS: bytes / MB / (r.ms / 1000), peakRssMB: r.peakRssBytes === undefined ? undefined : r.peakRssBytes / MB });
  try {
    for (const [label, bytes] of sizes) {
      const dir = path.join(work, 'local', 'bench-db', 'bench');
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `bench_${bytes}.dump`);
      await randomFile(file, bytes);
      const up = await run(process.execPath, [CLI, 'upload', file, 's3://bench/ours', '--endpoint', server.endpoint], { env, measureRss: true });
      add(label, bytes, 'pg-docker-backup', 'upload', up);
      const down = await run(process.execPath, [CLI, 'download', up.stdout.trim(), '--endpoint', server.endpoint, '--dir', path.join(work, 'ours-down')], { env, measureRss: true });
      add(label, bytes, 'pg-docker-backup', 'download', down);
      const awsArgs = ['--endpoint-url', server.endpoint, '--only-show-errors'];
      add(label, bytes, 'aws s3 cp', 'upload', await run(AWS, ['s3', 'cp', file, `s3://bench/aws/${path.basename(file)}`, ...awsArgs], { env, measureRss: true }));
      add(label, bytes, 'aws s3 cp', 'download', await run(AWS, ['s3', 'cp', `s3://bench/aws/${path.basename(file)}`, path.join(work, 'aws-down', path.basename(file)), ...awsArgs], { env, measureRss: true }));
      await fs.rm(path.join(work, 'ours-down'), { recursive: true, force: true });
      await fs.rm(path.join(work, 'aws-down'), { recursive: true, force: true });
      await fs.rm(file, { force: true });
    }
  } finally {
    server.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  console.log(`\nRemote copies against s3rver on loopback (${os.cpus().length} CPUs; ${awsVersion}; RSS by ${haveGnuTime ? 'GNU time' : '/proc VmHWM polling'})\n`);
  console.log(table(['file', 'tool', 'direction', 'time', 'MB/s', 'peak RSS'], rows.map((r) => [r.size, r.tool, r.direction, fmtS(r.ms), r.mbPerS.toFixed(0), fmtMB(r.peakRssMB === undefined ? undefined : r.peakRssMB * MB)])));
  const out = path.join(ROOT, 'bench', 'results', 'remote.json');
  await fs.writeFile(out, JSON.stringify({ when: new Date().toISOString(), cpus: os.cpus().length, server: 's3rver 3.7.1 on 127.0.0.1', aws: awsVersion, rows }, null, 2) + '\n');
  console.log(`\nwritten to ${path.relative(ROOT, out)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
