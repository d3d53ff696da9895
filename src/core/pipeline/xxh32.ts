/** XXH32 (seed 0), streaming: the checksum of LZ4 frames (content, blocks, descriptor). */
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const round = (acc: number, lane: number) => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
const u32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

export class Xxh32 {
  private v1 = (P1 + P2) | 0;
  private v2 = P2;
  private v3 = 0;
  private v4 = -P1 | 0;
  private total = 0;
  private readonly tail = new Uint8Array(16);
  private tailLength = 0;

  update(data: Uint8Array): this {
    let i = 0;
    const n = data.length;
    this.total += n;
    if (this.tailLength) {
      const take = Math.min(16 - this.tailLength, n);
      this.tail.set(data.subarray(0, take), this.tailLength);
      this.tailLength += take;
      i = take;
      if (this.tailLength < 16) return this;
      this.stripe(this.tail, 0);
      this.tailLength = 0;
    }
    let { v1, v2, v3, v4 } = this;
    for (; i + 16 <= n; i += 16) {
      v1 = round(v1, u32(data, i));
      v2 = round(v2, u32(data, i + 4));
      v3 = round(v3, u32(data, i + 8));
      v4 = round(v4, u32(data, i + 12));
    }
    Object.assign(this, { v1, v2, v3, v4 });
    if (i < n) {
      this.tail.set(data.subarray(i), 0);
      this.tailLength = n - i;
    }
    return this;
  }

  digest(): number {
    let h =
      this.total >= 16
        ? (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) | 0
        : (this.v3 + P5) | 0;
    h = (h + this.total) | 0; // the length modulo 2^32
    let i = 0;
    for (; i + 4 <= this.tailLength; i += 4) h = Math.imul(rotl((h + Math.imul(u32(this.tail, i), P3)) | 0, 17), P4);
    for (; i < this.tailLength; i++) h = Math.imul(rotl((h + Math.imul(this.tail[i], P5)) | 0, 11), P1);
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  }

  private stripe(b: Uint8Array, i: number): void {
    this.v1 = round(this.v1, u32(b, i));
    this.v2 = round(this.v2, u32(b, i + 4));
    this.v3 = round(this.v3, u32(b, i + 8));
    this.v4 = round(this.v4, u32(b, i + 12));
  }
}

export function xxh32(data: Uint8Array): number {
  return new Xxh32().update(data).digest();
}
