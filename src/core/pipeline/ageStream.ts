import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

/**
 * age's payload (https://age-encryption.org/v1, "Payload"): a 16-byte nonce, then STREAM: 64 KiB chunks,
 * each ChaCha20-Poly1305 with a 12-byte nonce (11-byte big-endian counter, then 1 on the last chunk).
 * Done with Node's own crypto (OpenSSL, ~25x the pure-JS cipher's speed); the header (keys, MAC) is left
 * to age-encryption.
 */
export const CHUNK = 64 * 1024;
export const TAG = 16;
export const NONCE = 16;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

class Counter {
  private readonly nonce = Buffer.alloc(12);
  next(last: boolean): Buffer {
    const n = Buffer.from(this.nonce);
    n[11] = last ? 1 : 0;
    for (let i = 10; i >= 0; i--) {
      this.nonce[i] = (this.nonce[i] + 1) & 0xff;
      if (this.nonce[i] !== 0) break;
      if (i === 0) throw new Error('age STREAM counter overflow');
    }
    return n;
  }
}

export class StreamSealer {
  private readonly counter = new Counter();
  constructor(private readonly key: Buffer) {}
  seal(plain: Buffer, last: boolean): Buffer {
    const c = createCipheriv('chacha20-poly1305', this.key, this.counter.next(last), { authTagLength: TAG });
    const body = c.update(plain);
    c.final();
    return Buffer.concat([body, c.getAuthTag()]);
  }
}

/** Thrown when a chunk fails authentication (changed, cut off or reordered). */
export class AgeChunkError extends Error {}

export class StreamOpener {
  private readonly counter = new Counter();
  private chunks = 0;
  constructor(private readonly key: Buffer) {}
  open(sealed: Buffer, last: boolean): Buffer {
    if (sealed.length < TAG) throw new AgeChunkError('a chunk is shorter than its tag');
    if (last && sealed.length === TAG && this.chunks > 0) throw new AgeChunkError('the last chunk is empty');
    const d = createDecipheriv('chacha20-poly1305', this.key, this.counter.next(last), { authTagLength: TAG });
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const body = d.update(sealed.subarray(0, sealed.length - TAG));
    try {
      d.final();
    } catch (e) {
      throw new AgeChunkError(`chunk ${this.chunks} fails authentication`, { cause: e });
    }
    this.chunks++;
    return body;
  }
}
