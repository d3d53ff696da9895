import { Transform, type TransformCallback } from 'node:stream';
import { Decompress } from 'fzstd';
import { damagedError, type DecodeContext } from './damaged';
import type { Layer } from './stage';

/** A zstd frame (28 B5 2F FD) or a skippable frame (50-5F 2A 4D 18), both little-endian magics. */
export function isZstd(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magic = head.readUInt32LE(0);
  return magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50;
}

/**
 * Decodes zstd (one or more frames, skippable frames skipped) on this machine, streaming: fzstd keeps at
 * most the frame's window (pg_dump's levels use 1-8 MiB) and one block of input. Content checksums are
 * not verified (fzstd does not); the manifest's sha256 of the file is the integrity check.
 */
export function zstdDecoder(context?: DecodeContext): Transform {
  return new ZstdDecoder(context);
}

class ZstdDecoder extends Transform {
  private readonly decompress: Decompress;
  private empty = true;

  constructor(private readonly context?: DecodeContext) {
    super({ readableHighWaterMark: 256 * 1024 });
    // fzstd hands over fresh arrays (it never reuses an emitted buffer), so they can be pushed as they are.
    this.decompress = new Decompress((data) => {
      if (data.length) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length) this.empty = false;
    try {
      this.decompress.push(chunk);
    } catch (e) {
      return callback(this.damaged(e));
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.empty) return callback(damagedError(this.context, 'zstd', 'is empty'));
    try {
      this.decompress.push(new Uint8Array(0), true);
    } catch (e) {
      return callback(this.damaged(e));
    }
    callback();
  }

  private damaged(e: unknown) {
    const code = (e as { code?: number }).code;
    return damagedError(this.context, 'zstd', code === 5 ? 'ends early (the file is cut off)' : 'is not valid zstd', e);
  }
}

/** The first bytes under a zstd layer, from a possibly cut-off head. */
function peekZstd(head: Buffer): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  try {
    const d = new Decompress((data) => {
      out.push(Buffer.from(data));
      size += data.length;
    });
    d.push(head);
  } catch {
    // a cut-off or damaged head: keep what came out before it
  }
  return Buffer.concat(out, size);
}

export const zstdLayer: Layer = {
  algorithm: 'zstd',
  kind: 'compress',
  extension: '.zst',
  sniff: isZstd,
  decoder: () => zstdDecoder(),
  peek: peekZstd,
};

