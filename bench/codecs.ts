// Host-side codec throughput: zstd / lz4 / gzip decoding against the reference CLIs, and age encryption
// and decryption of a 500 MB stream with each run's peak RSS (every measurement in a child process of its
// own, so that its peak RSS is its own).
//
//   node --import=tsx bench/codecs.ts [--mb 300] [--age-mb 500] [--dir /tmp/pgdb-bench-codecs]
//
// Prints a table and writes bench/results/codecs.json. Needs the zstd, lz4 and gzip CLIs (test-env.sh).
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { ageDecoder, ageEncoder, SCRYPT_WORK_FACTOR } from '../src/core/pipeline/age';
import { generateIdentity } from '../src/core/pipeline/keys';
import { lz4Decoder } from '../src/core/pipeline/lz4';
import { zstdDecoder } from '../src/core/pipeline/zstd';
import { MB, table } from './lib';

const ROOT = path.resolve(__dirname, '..');

interface ChildResult {
  ms: number;
  bytesOut: number;
  maxRssMB: number;
}

/** A sink that counts and drops. */
function counter(): Writable & { bytes: number } {
  const w = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** `mb` MiB of the same 1 MiB of random bytes (encryption does not care what the bytes are). */
function repeated(mb: number): Readable {
  const block = Buffer.alloc(MB, 7).map((_, i) => (i * 2654435761) >>> 24);
  let left = mb;
  return new Readable({
    highWaterMark: MB,
    read() {
      this.push(left-- > 0 ? Buffer.from(block) : null);
    },
  });
}

/** Runs in the child: one measurement. */
async function child(op: string, args: string[]): Promise<void> {
  const started = process.hrtime.bigint();
  const sink = counter();
  const source = () => createReadStream(args[0], { highWaterMark: 256 * 1024 });
  const keys = () => ({ identities: [readFileSync(args[1], 'utf8').trim()] });
  const steps: Record<string, () => [Readable, ...Transform[]]> = {
    zstd: () => [source(), zstdDecoder()],
    lz4: () => [source(), lz4Decoder()],
    gzip: () => [source(), zlib.createGunzip({ chunkSize: 256 * 1024 })],
    ageEncrypt: () => [repeated(Number(args[0])), ageEncoder({ recipients: [args[1]] })],
    ageDecrypt: () => [source(), ageDecoder(keys())],
    scrypt: () => [repeated(0), ageEncoder({ passphrase: 'a passphrase for the bench' })],
    idle: () => [repeated(0)],
  };
  const [src, ...transforms] = steps[op]();
  if (!transforms.length) {
    await pipeline(src, sink);
  } else if (op === 'ageEncrypt' && args[2]) {
    await pipeline(src, transforms[0], createWriteStream(args[2]));
  } else {
    await pipeline(src, ...(transforms as [Transform]), sink);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const result: ChildResult = { ms, bytesOut: sink.bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function measure(op: string, ...args: string[]): ChildResult {
  const r = spawnSync(process.execPath, ['--import=tsx', __filename, '--child', op, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

function timeCli(cmd: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', '"$0" "$@" > /dev/null', cmd, ...args]);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** A dump-like text file: COPY rows of ids, numbers and words from Chinook, from a fixed seed. */
async function makeInput(file: string, mb: number): Promise<void> {
  const words = readFileSync(path.join(ROOT, 'test/fixtures/chinook_postgresql.sql'), 'utf8').split(/[\s,()';]+/).filter((w) => w.length > 2);
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let id = 0;
  let written = 0;
  const target = mb * MB;
  const rows = new Readable({
    read() {
      if (written >= target) return this.push(null);
      const lines: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const w = Array.from({ length: 5 }, () => words[rnd(words.length)]).join(' ');
        lines.push(`${++id}\t${rnd(100000)}\t${w}\t2024-0${1 + rnd(9)}-1${rnd(10)} 1${rnd(10)}:${10 + rnd(50)}:00\t${rnd(1000000) / 100}\n`);
      }
      const chunk = Buffer.from(lines.join(''));
      written += chunk.length;
      this.push(chunk);
    },
  });
  await pipeline(rows, createWriteStream(file));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { mb: { type: 'string', default: '300' }, 'age-mb': { type: 'string', default: '500' }, dir: { type: 'string' }, child: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.child) return child(values.child, process.argv.slice(process.argv.indexOf(values.child) + 1));
  const dir = values.dir ?? path.join(os.tmpdir(), 'pgdb-bench-codecs');
  await fs.mkdir(dir, { recursive: true });
  const input = path.join(dir, `input-${values.mb}.sql`);
  if (!existsSync(input)) await makeInput(input, Number(values.mb));
  const size = (await fs.stat(input)).size;
  // what a child process (node + tsx) holds before any stream: the rows' RSS minus this is the stream's
  const baseline = measure('idle');
  const rows: string[][] = [['(baseline: node + tsx, no stream)', '', '', '', `${baseline.maxRssMB.toFixed(0)} MB`]];
  const json: Record<string, unknown> = { node: process.version, cpus: os.cpus().length, loadAverageAtStart: os.loadavg().map((l) => +l.toFixed(1)), inputBytes: size, at: new Date().toISOString() };
  const codecs: Array<[string, string, string[], string[]]> = [
    ['zstd', 'zst', ['zstd', '-q', '-f', '-3', input, '-o'], ['zstd', '-dc']],
    ['lz4', 'lz4', ['lz4', '-q', '-f', '-1', input], ['lz4', '-dc']],
    ['gzip', 'gz', ['sh', '-c', 'gzip -1 -c "$0" > "$1"', input], ['gzip', '-dc']],
  ];
  const decode: Record<string, unknown> = {};
  for (const [name, ext, compress, cliDecode] of codecs) {
    const file = `${input}.${ext}`;
    if (!existsSync(file)) spawnSync(compress[0], [...compress.slice(1), file], { stdio: 'inherit' });
    const compressed = (await fs.stat(file)).size;
    const here = measure(name, file);
    if (here.bytesOut !== size) throw new Error(`${name}: decoded ${here.bytesOut} bytes, expected ${size}`);
    const cliMs = timeCli(cliDecode[0], [...cliDecode.slice(1), file]);
    const mbps = (ms: number) => size / MB / (ms / 1000);
    decode[name] = { compressedBytes: compressed, ms: Math.round(here.ms), mbPerS: Math.round(mbps(here.ms)), cliMs: Math.round(cliMs), cliMbPerS: Math.round(mbps(cliMs)), maxRssMB: Math.round(here.maxRssMB) };
    rows.push([`decode ${name}${name === 'gzip' ? ' (node zlib)' : ''}`, `${(size / MB).toFixed(0)} MB from ${(compressed / MB).toFixed(0)} MB`, `${mbps(here.ms).toFixed(0)} MB/s`, `${cliDecode[0]} -d: ${mbps(cliMs).toFixed(0)} MB/s`, `${here.maxRssMB.toFixed(0)} MB`]);
  }
  json.decode = decode;
  json.baselineRssMB = Math.round(baseline.maxRssMB);

  const ageMb = Number(values['age-mb']);
  const key = await generateIdentity();
  const keyFile = path.join(dir, 'key.txt');
  await fs.writeFile(keyFile, key.identity, { mode: 0o600 });
  const encrypted = path.join(dir, `stream-${ageMb}.age`);
  const enc = measure('ageEncrypt', String(ageMb), key.recipient);
  measure('ageEncrypt', String(ageMb), key.recipient, encrypted);
  const dec = measure('ageDecrypt', encrypted, keyFile);
  if (dec.bytesOut !== ageMb * MB) throw new Error(`age: decrypted ${dec.bytesOut} bytes, expected ${ageMb * MB}`);
  const scrypt = measure('scrypt');
  const rate = (r: ChildResult) => (ageMb / (r.ms / 1000));
  // a backup streams at 50-100 MB/s; encryption runs in this process beside it, so at worst (no overlap)
  // it adds backupRate / ageRate to the wall time.
  const overhead = (backupMbps: number) => backupMbps / rate(enc);
  json.age = {
    streamMB: ageMb,
    encrypt: { ms: Math.round(enc.ms), mbPerS: Math.round(rate(enc)), maxRssMB: Math.round(enc.maxRssMB) },
    decrypt: { ms: Math.round(dec.ms), mbPerS: Math.round(rate(dec)), maxRssMB: Math.round(dec.maxRssMB) },
    scryptPassphrase: { workFactor: SCRYPT_WORK_FACTOR, ms: Math.round(scrypt.ms), maxRssMB: Math.round(scrypt.maxRssMB) },
    worstCaseAddedWallTime: { at50MBps: +overhead(50).toFixed(3), at100MBps: +overhead(100).toFixed(3) },
  };
  rows.push([`age encrypt (X25519)`, `${ageMb} MB`, `${rate(enc).toFixed(0)} MB/s`, `adds ≤${(overhead(50) * 100).toFixed(0)}% at 50 MB/s, ≤${(overhead(100) * 100).toFixed(0)}% at 100 MB/s`, `${enc.maxRssMB.toFixed(0)} MB`]);
  rows.push([`age decrypt (X25519)`, `${ageMb} MB`, `${rate(dec).toFixed(0)} MB/s`, '', `${dec.maxRssMB.toFixed(0)} MB`]);
  rows.push([`age passphrase (scrypt 2^${SCRYPT_WORK_FACTOR})`, 'key derivation once', `${(scrypt.ms / 1000).toFixed(2)} s`, '', `${scrypt.maxRssMB.toFixed(0)} MB`]);
  process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs (other work slows every row alike)\n`);
  process.stdout.write(table(['what', 'size', 'here', 'reference / note', 'peak RSS'], rows) + '\n');
  await fs.mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  await fs.writeFile(path.join(ROOT, 'bench', 'results', 'codecs.json'), JSON.stringify(json, null, 2) + '\n');
  await fs.rm(encrypted, { force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
