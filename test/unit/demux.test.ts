import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DockerDemuxer } from '../../src/core/docker/demux';

/** One frame of Docker's multiplexed stream: stream id, three zero bytes, big-endian length, payload. */
function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Cuts a buffer into pieces of the given sizes (cycling), as a socket might deliver it. */
function cut(all: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < all.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(all.subarray(off, off + n));
    off += n;
  }
  return out;
}

describe('DockerDemuxer', () => {
  it('passes stdout on byte for byte and in few large pieces, with stderr apart, however the frames are cut', async () => {
    const stdoutParts = Array.from({ length: 200 }, (_, i) => randomBytes(9000 + i));
    const stream = Buffer.concat(stdoutParts.flatMap((p, i) => (i % 50 === 0 ? [frame(2, Buffer.from(`warning ${i}\n`)), frame(1, p)] : [frame(1, p)])));
    let stderr = '';
    const demux = new DockerDemuxer((c) => (stderr += c.toString()));
    const chunks: Buffer[] = [];
    demux.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => demux.on('end', r));
    for (const piece of cut(stream, [3, 8, 5000, 70000, 1])) demux.write(piece);
    demux.end();
    await ended;
    assert.ok(Buffer.concat(chunks).equals(Buffer.concat(stdoutParts)), 'stdout differs from what the process wrote');
    assert.equal(stderr, 'warning 0\nwarning 50\nwarning 100\nwarning 150\n');
    assert.equal(demux.stdoutBytes, stdoutParts.reduce((n, p) => n + p.length, 0));
    assert.ok(chunks.length <= 10, `stdout came in ${chunks.length} pieces for 1.8 MB; expected a few of 256 KiB`);
  });

  it('delivers a small answer soon, without waiting for more output or the end (interactive sessions)', async () => {
    const demux = new DockerDemuxer(() => undefined);
    const got = new Promise<Buffer>((r) => demux.once('data', r));
    demux.write(frame(1, Buffer.from('pgdb-snapshot:00000003-1\n')));
    const first = await Promise.race([got, new Promise<undefined>((r) => setTimeout(r, 500, undefined))]);
    assert.equal(first?.toString(), 'pgdb-snapshot:00000003-1\n');
    demux.destroy();
  });

  it('refuses a stream that is not multiplexed (a TTY exec) with an error that says so', async () => {
    const demux = new DockerDemuxer(() => undefined);
    const failed = new Promise<Error>((r) => demux.on('error', r));
    demux.write(Buffer.from('plain text from a tty\n'));
    assert.match((await failed).message, /TTY/);
  });
});
