/**
 * Local object-store servers for the remote tests, started as child processes by the project's own
 * scripts: S3 = s3rver behind a request log (scripts/s3-test-server.cjs), GCS = firebase-tools' storage
 * routes (scripts/gcs-test-server.cjs, installed by scripts/gcs-emulator.sh). Each can be killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './harness';

export const S3_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The CLI's environment for a remote test: s3rver's keys through the AWS default chain (no profile, no
 * instance metadata), the named remotes in `work/remotes.json`, downloads and backups under `localDir`.
 */
export function remoteTestEnv(work: string, localDir: string, secretAccessKey = S3_KEYS.secretAccessKey): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: S3_KEYS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    PG_DOCKER_BACKUP_REMOTES: path.join(work, 'remotes.json'),
    PG_DOCKER_BACKUP_DIR: localDir,
  };
}

export interface RecordedRequest {
  id: number;
  method: string;
  url: string;
  status?: number;
}

export interface TestServer {
  port: number;
  endpoint: string;
  /** S3 only: every request the server received, in arrival order, with its status once answered. */
  requests(): RecordedRequest[];
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function startChild(script: string, args: string[], what: string, help: string, nodeFlags: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'scripts', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 30 s: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it listened: ${stderr.trim()}\n${help}`));
    });
  });
  return { child, port };
}

function stopper(child: ChildProcess, signal: NodeJS.Signals): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
}

export async function startS3Server(buckets: string[], dir?: string): Promise<TestServer> {
  const work = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-s3-')));
  const log = path.join(work, 'requests.jsonl');
  const args = ['--dir', path.join(work, 'data'), '--log', log, ...buckets.flatMap((b) => ['--bucket', b])];
  const { child, port } = await startChild('s3-test-server.cjs', args, 's3rver', 'Run `npm ci` (s3rver is a devDependency).', ['--openssl-legacy-provider']);
  const stop = stopper(child, 'SIGTERM');
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests() {
      const byId = new Map<number, RecordedRequest>();
      for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
        const e = JSON.parse(line);
        if (e.method) byId.set(e.id, { id: e.id, method: e.method, url: e.url });
        else if (byId.has(e.id)) byId.get(e.id)!.status = e.status;
      }
      return [...byId.values()];
    },
    kill: stopper(child, 'SIGKILL'),
    async stop() {
      await stop();
      if (!dir) await fs.rm(work, { recursive: true, force: true });
    },
  };
}

export async function startGcsServer(): Promise<TestServer> {
  const { child, port } = await startChild('gcs-test-server.cjs', [], 'the GCS emulator', 'Run `bash scripts/gcs-emulator.sh` (or scripts/test-env.sh) to install it.');
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => [],
    kill: stopper(child, 'SIGKILL'),
    stop: stopper(child, 'SIGTERM'),
  };
}

/** Multipart requests in a recorded log, by kind. */
export function multipartCalls(requests: RecordedRequest[], key: string) {
  const forKey = requests.filter((r) => decodeURIComponent(r.url.split('?')[0]).endsWith('/' + key));
  const q = (r: RecordedRequest) => new URLSearchParams(r.url.split('?')[1] ?? '');
  return {
    create: forKey.filter((r) => r.method === 'POST' && q(r).has('uploads')),
    parts: forKey.filter((r) => r.method === 'PUT' && q(r).has('partNumber')),
    complete: forKey.filter((r) => r.method === 'POST' && q(r).has('uploadId')),
    abort: forKey.filter((r) => r.method === 'DELETE' && q(r).has('uploadId')),
    put: forKey.filter((r) => r.method === 'PUT' && !q(r).has('partNumber')),
  };
}

/** A file of `bytes` random bytes, written in 1 MiB blocks (never held in memory whole). */
export async function randomFile(file: string, bytes: number): Promise<void> {
  const { randomFill } = await import('node:crypto');
  const fh = await fs.open(file, 'w', 0o600);
  const block = Buffer.alloc(1024 * 1024);
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(block.length, bytes - written);
      await new Promise<void>((resolve, reject) => randomFill(block, 0, n, (e) => (e ? reject(e) : resolve())));
      await fh.write(block, 0, n);
      written += n;
    }
  } finally {
    await fh.close();
  }
}
