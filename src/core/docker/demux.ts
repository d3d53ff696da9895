import { Transform, type TransformCallback } from 'node:stream';

/**
 * Splits Docker's multiplexed attach stream (8-byte header: stream id, 3 zero bytes, big-endian length)
 * into stdout, passed on as this Transform's output without copying, and stderr, handed to `onStderr`.
 * Backpressure follows the stdout consumer.
 */
export class DockerDemuxer extends Transform {
  private header = Buffer.alloc(8);
  private headerFill = 0;
  private remaining = 0;
  private streamId = 0;
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
      else if (this.streamId === 1) {
        this.stdoutBytes += payload.length;
        this.push(payload);
      }
    }
    done();
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
