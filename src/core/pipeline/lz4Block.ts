/** Raised by decodeLz4Block on data no LZ4 compressor writes (the caller turns it into a "damaged" error). */
export class Lz4DataError extends Error {}

/**
 * Decodes one LZ4 block (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) from
 * `src[0..src.length)` into `dst` at `dStart`, never writing at or past `dLimit`; matches may reach back to
 * `historyStart` (earlier output of the frame when its blocks are linked). Returns the end of the output.
 * Every length and offset is checked, so damaged input throws instead of producing garbage out of bounds.
 */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array, dStart: number, dLimit: number, historyStart: number): number {
  const sEnd = src.length;
  let s = 0;
  let d = dStart;
  for (;;) {
    if (s >= sEnd) throw new Lz4DataError('block ends inside a sequence');
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4DataError('block ends inside a literal length');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > sEnd || d + literals > dLimit) throw new Lz4DataError('literals run past the block');
    if (literals < 16) {
      for (let i = 0; i < literals; i++) dst[d + i] = src[s + i];
    } else {
      dst.set(src.subarray(s, s + literals), d);
    }
    s += literals;
    d += literals;
    if (s === sEnd) return d; // the last sequence has literals only
    if (s + 2 > sEnd) throw new Lz4DataError('block ends inside a match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || d - offset < historyStart) throw new Lz4DataError('match offset points before the data');
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4DataError('block ends inside a match length');
        b = src[s++];
        length += b;
      } while (b === 255);
    }
    length += 4;
    if (d + length > dLimit) throw new Lz4DataError('match runs past the block');
    let from = d - offset;
    if (offset >= length && length > 32) {
      dst.copyWithin(d, from, from + length);
      d += length;
    } else {
      const end = d + length;
      while (d < end) dst[d++] = dst[from++];
    }
  }
}
