import { createHash } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `data` cut into `size`-byte chunks. */
export function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Runs `data` through `t` in `size`-byte chunks; resolves to all output. */
export function through(t: Transform, data: Buffer, size = 64 * 1024): Promise<Buffer> {
  return buffer(Readable.from(chunks(data, size)).pipe(t).on('error', () => undefined).pipe(new PassError(t)));
}

/** What a decoder emitted before it failed, and the error (which the test expects). */
export async function outputAndError(t: Transform, data: Buffer, size = 64 * 1024): Promise<{ out: Buffer; error: Error }> {
  const out: Buffer[] = [];
  t.on('data', (c: Buffer) => out.push(c));
  const error = await new Promise<Error | undefined>((resolve) => {
    t.on('error', resolve);
    t.on('end', () => resolve(undefined));
    Readable.from(chunks(data, size)).pipe(t);
  });
  if (!error) throw new Error(`expected an error, got ${Buffer.concat(out).length} bytes and a clean end`);
  return { out: Buffer.concat(out), error };
}

import { PassThrough } from 'node:stream';
/** A PassThrough that fails when `source` fails (pipe() alone does not forward errors). */
class PassError extends PassThrough {
  constructor(source: Transform) {
    super();
    source.on('error', (e) => this.destroy(e));
  }
}
