import { Transform, type TransformCallback } from 'node:stream';

/** Stdout is passed on in pieces of at least this size, or after FLUSH_MS when less arrived. */
const COALESCE_BYTES = 256 * 1024;
const FLUSH_MS = 2;

/**
 * Splits Docker's multiplexed attach stream (8-byte header: stream id, 3 zero bytes, big-endian length)
 * into stdout, this Transform's output, and stderr, handed to `onStderr`. A process such as pg_dump -Z1
 * writes frames of about 10 KiB; stdout is passed on in pieces of 256 KiB (or whatever arrived within 2 ms),
 * so the stages after it (hash, encryption, file) handle 25 times fewer chunks: about 0.3 s less CPU per
 * 50 MB, on machines where the host, dockerd and the container share two cores. Backpressure follows the
 * stdout consumer.
 */
export class DockerDemuxer extends Transform {
  private header = Buffer.alloc(8);
  private headerFill = 0;
  private remaining = 0;
  private streamId = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  stdoutBytes = 0;

  constructor(private readonly onStderr: (chunk: Buffer) => void) {
    super({ readableHighWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + take);
        this.headerFill += take;
        off += take;
        if (this.headerFill < 8) break;
        this.headerFill = 0;
        this.streamId = this.header[0];
        this.remaining = this.header.readUInt32BE(4);
        if (this.streamId > 3 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
          done(new Error('unexpected data on the Docker exec stream (is the exec attached with a TTY?)'));
          return;
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - off);
      const payload = chunk.subarray(off, off + take);
      off += take;
      this.remaining -= take;
      if (this.streamId === 2) this.onStderr(payload);
      else if (this.streamId === 1) this.stdout(payload);
    }
    if (this.pendingBytes > 0 && !this.timer) this.timer = setTimeout(() => this.flushPending(), FLUSH_MS);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.flushPending();
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    done(err);
  }

  private stdout(payload: Buffer): void {
    this.stdoutBytes += payload.length;
    this.pending.push(payload);
    this.pendingBytes += payload.length;
    if (this.pendingBytes >= COALESCE_BYTES) this.flushPending();
  }

  private flushPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingBytes === 0) return;
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.push(out);
  }
}

/** Keeps the last `limit` bytes written to it (e.g. a process's stderr for an error message). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 16 * 1024) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.limit) {
      this.size -= this.chunks[0].length;
      this.chunks.shift();
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}
