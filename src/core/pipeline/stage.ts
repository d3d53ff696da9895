import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

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
  /** `record` is the stage as recorded (e.g. an age stage's recipients, for a better wrong-key message). */
  decoder(keys: KeyMaterial, record?: StageRecord): Transform;
  /** A host-side encoder, where the product encodes on this machine. */
  encoder?(record: StageRecord, keys?: KeyMaterial): Transform;
  /** The first bytes of the decoded content, tolerating a cut-off input (for sniffing the next layer). */
  peek?(head: Buffer): Buffer;
}

export const gzipLayer: Layer = {
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
