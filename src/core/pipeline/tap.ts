import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through and keeps the first `limit` of them (to read a dump's header without a second read). */
export class HeadTap extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 64 * 1024) {
    super({ highWaterMark: 1024 * 1024 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.size < this.limit) {
      const part = chunk.subarray(0, this.limit - this.size);
      this.chunks.push(Buffer.from(part));
      this.size += part.length;
    }
    done(null, chunk);
  }
  head(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
