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

/**
 * Bytes of parts in flight a streamed upload (lib-storage) aims for: three 8 MiB parts. lib-storage copies
 * each part once (Buffer.concat of the read chunks) and that garbage lives until V8 collects it, so peak
 * RSS is about 75 MB (the CLI at rest) + 2 x budget + collection lag: more than 24 MiB goes over 150 MB.
 */
export const IN_FLIGHT_BUDGET = 24 * MiB;

/**
 * The same for a local file uploaded in parts read into reused buffers (s3FileUpload.ts): no copies and
 * no garbage, so (parts in flight + 1) x part size is all the upload holds: five 8 MiB parts, 48 MiB.
 */
export const FILE_PARTS_BUDGET = 40 * MiB;

/**
 * Parts in flight for a part size: as many as fit the budget (at least 2, at most 5). More parts in
 * flight hide the server's per-part latency (its disk writes) behind the next parts; larger parts (streams
 * of unknown length, backups over 78 GiB) keep 2 so memory stays bounded.
 */
export function concurrencyFor(partSize: number, budget = IN_FLIGHT_BUDGET): number {
  return Math.max(2, Math.min(5, Math.floor(budget / partSize)));
}
