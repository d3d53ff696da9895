import { decodePathSegment, encodePathSegment } from '../naming';

/** The manifest travels beside the backup object as `<key>.json`, written after the object. */
export const SIDECAR_SUFFIX = '.json';
export const SIDECAR_VERSION = 1;

/** What the sidecar object holds: our checksum (never the ETag) and where the backup came from. */
export interface RemoteSidecar {
  sidecarVersion: typeof SIDECAR_VERSION;
  file: string;
  container: string;
  database: string;
  bytes: number;
  /** sha256 of the object's bytes, hex: decides whether an upload is needed and checks a download. */
  sha256: string;
  encrypted: boolean;
  uploaded: string;
  /** The local manifest (`<file>.json`) as it was, when the backup had one; written back on download. */
  manifest?: Record<string, unknown>;
}

/** `prefix/<container>/<database>/<file>`, names encoded like the local folders. */
export function backupKey(prefix: string, container: string, database: string, file: string): string {
  const rel = `${encodePathSegment(container)}/${encodePathSegment(database)}/${file}`;
  return prefix ? `${prefix}/${rel}` : rel;
}

export function sidecarKey(key: string): string {
  return key + SIDECAR_SUFFIX;
}

export function isSidecarKey(key: string): boolean {
  return key.endsWith(SIDECAR_SUFFIX);
}

/** Container, database and file name from a key's last three segments, as backupKey wrote them. */
export function describeKey(key: string): { container?: string; database?: string; file: string } {
  const parts = key.split('/');
  const file = parts[parts.length - 1];
  if (parts.length < 3) return { file };
  return { container: decodePathSegment(parts[parts.length - 3]), database: decodePathSegment(parts[parts.length - 2]), file };
}

/** Encrypted backups are `.age` files (the reference age format); a sidecar may say so too. */
export function isEncryptedName(file: string): boolean {
  return /\.age$/i.test(file);
}

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts per upload, each 5 MiB to 5 GiB. */
export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 8 * MiB;
/** The largest object a streamed upload of unknown length is sized for unless told otherwise. */
export const DEFAULT_STREAM_MAX_BYTES = 256 * 1024 * MiB;

/**
 * The part size for an upload of `bytes` (or at most `bytes` when the length is not known yet): large
 * enough that 10,000 parts cover it, at least 8 MiB, rounded up to whole MiB.
 */
export function partSizeFor(bytes: number): number {
  const needed = Math.ceil(bytes / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, Math.ceil(needed / MiB) * MiB);
}
