import { Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

type WebReadable = globalThis.ReadableStream<Uint8Array>;

/**
 * A Node Transform around a web-streams transformation (`start` gets the input as a web ReadableStream
 * and resolves to the output one, e.g. age-encryption's encrypt/decrypt). Memory stays bounded and
 * backpressure holds both ways: a written chunk is acknowledged only when the web side has taken it, and
 * the output is read only while this stream's readable side wants more. `mapError` turns the web
 * side's errors (a rejected `start`, a failed read) into the error this stream is destroyed with.
 */
export function webTransform(start: (input: WebReadable) => Promise<WebReadable>, mapError: (e: unknown) => Error): Transform {
  return new WebTransformBridge(start, mapError);
}

class WebTransformBridge extends Transform {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly pumped: Promise<void>;
  private wantMore: (() => void) | undefined;
  private failed: Error | undefined;

  constructor(start: (input: WebReadable) => Promise<WebReadable>, private readonly mapError: (e: unknown) => Error) {
    super({ readableHighWaterMark: 256 * 1024 });
    // highWaterMark 1 on each side: at most one chunk waits between this stream and the web one.
    const pass = new TransformStream<Uint8Array, Uint8Array>({}, { highWaterMark: 1 }, { highWaterMark: 1 });
    this.writer = pass.writable.getWriter();
    this.pumped = Promise.resolve()
      .then(() => start(pass.readable))
      .then((out) => this.pump(out as unknown as ReadableStream<Uint8Array>));
    this.pumped.catch((e: unknown) => this.fail(e));
  }

  private async pump(out: ReadableStream<Uint8Array>): Promise<void> {
    const reader = out.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (this.destroyed) {
        await reader.cancel().catch(() => undefined);
        return;
      }
      if (value.length && !this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) {
        await new Promise<void>((resolve) => (this.wantMore = resolve));
      }
    }
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = this.mapError(e);
    this.writer.abort(this.failed).catch(() => undefined);
    this.destroy(this.failed);
  }

  override _read(size: number): void {
    const resume = this.wantMore;
    this.wantMore = undefined;
    resume?.();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failed) return callback(this.failed);
    this.writer.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(
      () => callback(),
      // the web side failed: `fail` reports the cause; the writer's own error says less
      () => callback(this.failed ?? null),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.writer
      .close()
      .then(() => this.pumped)
      .then(
        () => callback(),
        (e: unknown) => callback(this.failed ?? this.mapError(e)),
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.writer.abort(error ?? undefined).catch(() => undefined);
    const resume = this.wantMore;
    this.wantMore = undefined;
    resume?.();
    callback(error);
  }
}
