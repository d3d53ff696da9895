import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { PgBackupError } from '../errors';

/**
 * A backup is `pg_dump` → encode stages (compression, then encryption) → a sink; a restore is a source →
 * the inverse stages → a loader. A stage runs where it is cheapest: compression inside the container
 * (pg_dump's own -Z, gunzip), encryption and checks on this machine. The manifest records each stage in
 * the order it was applied, so any file can be opened by reversing what its manifest says.
 */
export type StageAlgorithm = 'gzip' | 'zstd' | 'lz4' | 'age';

export interface StageRecord {
  kind: 'compress' | 'encrypt';
  algorithm: StageAlgorithm;
  /** Compression level, where the codec has one. */
  level?: number;
  /** Where the stage ran when the backup was made. */
  where: 'container' | 'host';
  /** age: the recipients' public keys (never an identity). */
  recipients?: string[];
  /** age: encrypted to a passphrase (scrypt) instead of recipients. */
  passphrase?: boolean;
}

/** What decoding an encrypted layer needs; never logged, never in argv. */
export interface KeyMaterial {
  /** age identities (AGE-SECRET-KEY-1…), e.g. read from PG_DOCKER_BACKUP_AGE_IDENTITY. */
  identities?: string[];
  passphrase?: string;
}

/** One kind of layer: how to recognise it and undo it on this machine (and make it, where we do). */
export interface Layer {
  algorithm: StageAlgorithm;
  kind: StageRecord['kind'];
  /** File name suffix it adds: `.gz`, `.zst`, `.lz4`, `.age`. */
  extension: string;
  /** Whether these first bytes start such a layer. */
  sniff(head: Buffer): boolean;
  /** A host-side decoder. Throws a PgBackupError (e.g. missing key) before any byte flows. */
  decoder(keys: KeyMaterial): Transform;
  /** A host-side encoder, where the product encodes on this machine. */
  encoder?(record: StageRecord, keys?: KeyMaterial): Transform;
  /** The first bytes of the decoded content, tolerating a cut-off input (for sniffing the next layer). */
  peek?(head: Buffer): Buffer;
}

const gzipLayer: Layer = {
  algorithm: 'gzip',
  kind: 'compress',
  extension: '.gz',
  sniff: (head) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b,
  decoder: () => zlib.createGunzip({ chunkSize: 256 * 1024 }),
  encoder: (record) => zlib.createGzip({ level: record.level ?? zlib.constants.Z_DEFAULT_COMPRESSION }),
  peek: (head) => {
    try {
      return zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return Buffer.alloc(0);
    }
  },
};

const layers = new Map<StageAlgorithm, Layer>([['gzip', gzipLayer]]);

/** Makes a layer known (zstd, lz4 and age register themselves from their own modules). */
export function registerLayer(layer: Layer): void {
  layers.set(layer.algorithm, layer);
}

export function layerFor(algorithm: StageAlgorithm): Layer {
  const l = layers.get(algorithm);
  if (!l) throw new PgBackupError('failed', `This version of pg-docker-backup cannot read ${algorithm} data.`);
  return l;
}

/** The layer these first bytes start, if any known one. */
export function sniffLayer(head: Buffer): Layer | undefined {
  for (const l of layers.values()) if (l.sniff(head)) return l;
  return undefined;
}

/**
 * Peels the layers a file's first bytes show, outermost first, until the content is no known layer (the
 * dump's own header) or a layer cannot be looked into without a key (age): returns the layers found and
 * the first bytes under them.
 */
export function sniffLayers(head: Buffer, maxDepth = 4): { layers: Layer[]; content: Buffer; opaque: boolean } {
  const found: Layer[] = [];
  let content = head;
  for (let i = 0; i < maxDepth; i++) {
    const l = sniffLayer(content);
    if (!l) break;
    found.push(l);
    if (!l.peek) return { layers: found, content: Buffer.alloc(0), opaque: true };
    content = l.peek(content);
  }
  return { layers: found, content, opaque: false };
}

/** The host-side decoders that undo `stages` (recorded in the order applied), outermost first. */
export function decoders(stages: readonly StageRecord[], keys: KeyMaterial = {}): Transform[] {
  return [...stages].reverse().map((s) => layerFor(s.algorithm).decoder(keys));
}

/** The file name suffix the stages add, in order (`.gz`, `.gz.age`). */
export function stagesExtension(stages: readonly StageRecord[]): string {
  return stages.map((s) => layerFor(s.algorithm).extension).join('');
}
