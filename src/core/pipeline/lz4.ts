import { Transform, type TransformCallback } from 'node:stream';
import { damagedError, type DecodeContext } from './damaged';
import { Lz4DataError, decodeLz4Block } from './lz4Block';
import type { Layer } from './stage';
import { Xxh32, xxh32 } from './xxh32';

const FRAME_MAGIC = 0x184d2204;
const isSkippable = (magic: number) => (magic & 0xfffffff0) >>> 0 === 0x184d2a50;
const HISTORY = 64 * 1024;
const BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/** An LZ4 frame (04 22 4D 18) or a skippable frame (50-5F 2A 4D 18). The legacy format is not read. */
export function isLz4(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magic = head.readUInt32LE(0);
  return magic === FRAME_MAGIC || isSkippable(magic);
}

/**
 * Decodes the LZ4 frame format (what `lz4` and pg_dump -Z lz4 write: one or more frames, independent or
 * linked blocks) on this machine, streaming: it holds one block (at most 4 MiB) and 64 KiB of history.
 * Header, block and content checksums are verified when the frame has them. Written here because no npm
 * package decodes LZ4 frames as a stream in plain JavaScript (lz4js, lz4-napi and lz4-wasm take a whole
 * buffer; `lz4` needs a native build that is unmaintained since 2020).
 */
export function lz4Decoder(context?: DecodeContext): Transform {
  return new Lz4Decoder(context);
}

interface Frame {
  linked: boolean;
  blockChecksum: boolean;
  contentChecksum: Xxh32 | undefined;
  contentSize: number | undefined;
  blockMax: number;
  window: Uint8Array;
  windowLength: number;
  produced: number;
}

type State =
  | { at: 'magic' }
  | { at: 'skip'; left: number }
  | { at: 'skipSize' }
  | { at: 'descriptor' }
  | { at: 'blockSize' }
  | { at: 'block'; size: number; raw: boolean }
  | { at: 'contentChecksum' };

class Lz4Decoder extends Transform {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private state: State = { at: 'magic' };
  private frame: Frame | undefined;
  private frames = 0;

  constructor(
    private readonly context?: DecodeContext,
    private readonly output: (b: Buffer) => void = (b) => this.push(b),
  ) {
    super({ readableHighWaterMark: 256 * 1024 });
  }

  /** Decodes what `chunk` completes, synchronously; throws Lz4DataError on damaged data. */
  feed(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.step());
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.feed(chunk);
    } catch (e) {
      return callback(this.damaged(e));
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.state.at !== 'magic' || this.buffered > 0) {
      return callback(damagedError(this.context, 'lz4', 'ends early (the file is cut off)'));
    }
    if (this.frames === 0) return callback(damagedError(this.context, 'lz4', 'is empty'));
    callback();
  }

  private damaged(e: unknown) {
    if (e instanceof Lz4DataError) return damagedError(this.context, 'lz4', `is not valid lz4 (${e.message})`, e);
    return e instanceof Error ? e : new Error(String(e));
  }

  /** The next `n` input bytes (consumed), or undefined when fewer are buffered. */
  private takeInput(n: number): Buffer | undefined {
    if (this.buffered < n) return undefined;
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
    } else {
      out = Buffer.concat(this.chunks, this.buffered).subarray(0, n);
      this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    }
    this.chunks[0] = this.chunks[0].subarray(n);
    if (this.chunks[0].length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }

  private peekByte(i: number): number | undefined {
    for (const c of this.chunks) {
      if (i < c.length) return c[i];
      i -= c.length;
    }
    return undefined;
  }

  /** One step of the frame state machine; false when it needs more input. */
  private step(): boolean {
    const st = this.state;
    switch (st.at) {
      case 'magic': {
        const b = this.takeInput(4);
        if (!b) return false;
        const magic = b.readUInt32LE(0);
        if (magic === FRAME_MAGIC) this.state = { at: 'descriptor' };
        else if (isSkippable(magic)) this.state = { at: 'skipSize' };
        else throw new Lz4DataError(this.frames ? 'unknown data after the last frame' : 'not an LZ4 frame');
        return true;
      }
      case 'skipSize': {
        const b = this.takeInput(4);
        if (!b) return false;
        this.state = { at: 'skip', left: b.readUInt32LE(0) };
        return true;
      }
      case 'skip': {
        const n = Math.min(st.left, this.buffered);
        this.takeInput(n);
        st.left -= n;
        if (st.left > 0) return false;
        this.frames++;
        this.state = { at: 'magic' };
        return true;
      }
      case 'descriptor':
        return this.readDescriptor();
      case 'blockSize': {
        const b = this.takeInput(4);
        if (!b) return false;
        const word = b.readUInt32LE(0);
        if (word === 0) {
          this.state = this.frame?.contentChecksum ? { at: 'contentChecksum' } : { at: 'magic' };
          if (!this.frame?.contentChecksum) this.endFrame();
          return true;
        }
        const size = word & 0x7fffffff;
        if (size > this.frame!.blockMax) throw new Lz4DataError('a block is larger than the frame allows');
        this.state = { at: 'block', size, raw: (word & 0x80000000) !== 0 };
        return true;
      }
      case 'block': {
        const frame = this.frame!;
        const b = this.takeInput(st.size + (frame.blockChecksum ? 4 : 0));
        if (!b) return false;
        const data = b.subarray(0, st.size);
        if (frame.blockChecksum && xxh32(data) !== b.readUInt32LE(st.size)) throw new Lz4DataError('block checksum mismatch');
        this.emitBlock(frame, data, st.raw);
        this.state = { at: 'blockSize' };
        return true;
      }
      case 'contentChecksum': {
        const b = this.takeInput(4);
        if (!b) return false;
        if (this.frame!.contentChecksum!.digest() !== b.readUInt32LE(0)) throw new Lz4DataError('content checksum mismatch');
        this.endFrame();
        this.state = { at: 'magic' };
        return true;
      }
    }
  }

  private readDescriptor(): boolean {
    const flg = this.peekByte(0);
    if (flg === undefined) return false;
    const length = 3 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
    const d = this.takeInput(length);
    if (!d) return false;
    if (flg >>> 6 !== 1) throw new Lz4DataError('unknown frame version');
    if (flg & 0x02 || d[1] & 0x8f) throw new Lz4DataError('reserved descriptor bits are set');
    if (flg & 0x01) throw new Lz4DataError('the frame needs a dictionary');
    if (((xxh32(d.subarray(0, length - 1)) >>> 8) & 0xff) !== d[length - 1]) throw new Lz4DataError('descriptor checksum mismatch');
    const blockMax = BLOCK_MAX[(d[1] >>> 4) & 7];
    if (!blockMax) throw new Lz4DataError('unknown block size');
    const linked = (flg & 0x20) === 0;
    const contentSize = flg & 0x08 ? Number(d.readBigUInt64LE(2)) : undefined;
    this.frame = {
      linked,
      blockChecksum: (flg & 0x10) !== 0,
      contentChecksum: flg & 0x04 ? new Xxh32() : undefined,
      contentSize,
      blockMax,
      window: new Uint8Array((linked ? HISTORY : 0) + blockMax),
      windowLength: 0,
      produced: 0,
    };
    this.state = { at: 'blockSize' };
    return true;
  }

  private emitBlock(frame: Frame, data: Buffer, raw: boolean): void {
    let out: Buffer;
    const start = frame.windowLength;
    if (raw) {
      out = Buffer.from(data);
      if (frame.linked) frame.window.set(data, start);
    } else {
      const end = decodeLz4Block(data, frame.window, start, start + frame.blockMax, frame.linked ? 0 : start);
      out = Buffer.from(frame.window.subarray(start, end));
    }
    const end = start + out.length;
    if (frame.linked) {
      // keep the last 64 KiB as the next block's history
      if (end > HISTORY) frame.window.copyWithin(0, end - HISTORY, end);
      frame.windowLength = Math.min(end, HISTORY);
    }
    frame.produced += out.length;
    frame.contentChecksum?.update(out);
    if (out.length) this.output(out);
  }

  private endFrame(): void {
    const frame = this.frame!;
    if (frame.contentSize !== undefined && frame.contentSize !== frame.produced) {
      throw new Lz4DataError('the frame is shorter or longer than its header says');
    }
    this.frame = undefined;
    this.frames++;
  }
}

/** The first bytes under an lz4 layer, from a possibly cut-off head. */
function peekLz4(head: Buffer): Buffer {
  const out: Buffer[] = [];
  try {
    new Lz4Decoder(undefined, (b) => out.push(b)).feed(head);
  } catch {
    // a cut-off or damaged head: keep what came out before it
  }
  return Buffer.concat(out);
}

export const lz4Layer: Layer = {
  algorithm: 'lz4',
  kind: 'compress',
  extension: '.lz4',
  sniff: isLz4,
  decoder: () => lz4Decoder(),
  peek: peekLz4,
};

