// Where does a backup's time go? Streams `pg_dump -Z<level>` out of a container through the Docker exec API
// (dockerode, like the CLI) in several ways and prints wall time, this process's CPU and the chunk sizes.
//
//   node --import=tsx bench/streamProbe.ts [--container pgdb-bench-db] [--level 1] [--rounds 3] [--modes raw,demux,file]
//
// Modes: raw   = read the hijacked socket and drop the bytes (no demultiplexing): the floor of the API path
//        demux = dockerode's demuxStream into a null sink
//        file  = demux + sha256 + write to a file with fsync (what a backup does, minus the CLI's setup)
// It does not use src/, so it measures the transport, not the product code.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { median } from './lib';

export interface ProbeResult {
  mode: string;
  ms: number;
  bytes: number;
  chunks: number;
  cpuUserMs: number;
  cpuSysMs: number;
}

export async function probe(container: string, argv: string[], mode: 'raw' | 'demux' | 'file', dir = os.tmpdir()): Promise<ProbeResult> {
  const docker = new Docker();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const exec = await docker.getContainer(container).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false });
  const socket = (await exec.start({ hijack: true, stdin: false })) as unknown as NodeJS.ReadableStream;
  let bytes = 0;
  let chunks = 0;
  const count = (c: Buffer) => {
    bytes += c.length;
    chunks++;
  };
  const nul = () => new Writable({ write: (_c, _e, cb) => cb() });
  if (mode === 'raw') {
    socket.on('data', count);
    await new Promise<void>((resolve, reject) => {
      socket.on('end', resolve);
      socket.on('error', reject);
    });
  } else {
    const stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
    stdout.on('data', count);
    const done = new Promise<void>((resolve, reject) => {
      socket.on('end', () => {
        stdout.end();
        resolve();
      });
      socket.on('error', reject);
    });
    docker.modem.demuxStream(socket, stdout, nul());
    let file: string | undefined;
    let sink: Writable = nul();
    if (mode === 'file') {
      file = path.join(dir, `pgdb-probe-${process.pid}.out`);
      sink = createWriteStream(file, { flush: true, highWaterMark: 1024 * 1024 });
    }
    const hash = createHash('sha256');
    const writing = pipeline(
      stdout,
      new PassThrough({ transform: (c, _e, cb) => (mode === 'file' && hash.update(c), cb(null, c)) }),
      sink,
    );
    await done;
    await writing;
    if (file) await fs.rm(file, { force: true });
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { mode, ms, bytes, chunks, cpuUserMs: cpu.user / 1000, cpuSysMs: cpu.system / 1000 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      container: { type: 'string', default: 'pgdb-bench-db' },
      user: { type: 'string', default: 'bench' },
      database: { type: 'string', default: 'benchdb' },
      level: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'raw,demux,file' },
    },
  });
  const argv = ['pg_dump', '-U', values.user!, '-d', values.database!, `-Z${values.level}`];
  const modes = values.modes!.split(',') as ('raw' | 'demux' | 'file')[];
  const all: Record<string, ProbeResult[]> = {};
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let i = 0; i < modes.length; i++) {
      const m = modes[(i + r) % modes.length];
      const res = await probe(values.container!, argv, m);
      (all[m] ??= []).push(res);
      process.stderr.write(`${m}: ${(res.ms / 1000).toFixed(2)} s, ${res.chunks} chunks of ${(res.bytes / res.chunks / 1024).toFixed(1)} KiB, cpu ${res.cpuUserMs.toFixed(0)}+${res.cpuSysMs.toFixed(0)} ms\n`);
    }
  }
  for (const [m, rs] of Object.entries(all)) {
    console.log(`${m.padEnd(6)} median ${(median(rs.map((x) => x.ms)) / 1000).toFixed(2)} s  cpu ${median(rs.map((x) => x.cpuUserMs + x.cpuSysMs)).toFixed(0)} ms  chunks ${median(rs.map((x) => x.chunks))}`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
