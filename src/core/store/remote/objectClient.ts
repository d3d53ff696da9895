import type { Readable } from 'node:stream';
import type { Logger } from '../../logger';
import type { Remote } from './remoteConfig';

export interface ObjectInfo {
  key: string;
  bytes: number;
  modified: Date;
}

export interface PutOptions {
  /** Known length of the body; undefined for a stream of unknown length. */
  contentLength?: number;
  /** For S3 multipart: bytes per part (see partSizeFor). */
  partSize: number;
  /** Parts in flight at once (memory: about partSize × (concurrency + 1)). */
  concurrency: number;
  contentType?: string;
  /** Bytes sent so far, as the transport acknowledges them. */
  onBytes?: (bytes: number) => void;
}

export interface PutFileOptions {
  size: number;
  partSize: number;
  concurrency: number;
  contentType?: string;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
  /** Sees the file's sha256 before the object is completed; throwing aborts the upload. */
  verify?: (sha256: string, bytes: number) => void;
}

/**
 * The few object-store primitives RemoteStore is built on, one implementation per SDK. Errors are
 * rethrown as PgBackupError sentences that name the remote (see remoteErrors.ts).
 */
export interface ObjectClient {
  /**
   * Uploads a stream. A failing body (cancel, checksum mismatch) or transport makes it reject after the
   * incomplete upload was aborted (S3: AbortMultipartUpload), so no object appears.
   */
  put(key: string, body: Readable, options: PutOptions): Promise<void>;
  /**
   * S3 only: a local file of known size in parts read into reused buffers (less memory and CPU than
   * put()); computes the sha256 on the way. Rejects after aborting the multipart upload, like put().
   */
  putFile?(key: string, file: string, options: PutFileOptions): Promise<{ bytes: number; sha256: string }>;
  putSmall(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The object's bytes; undefined when there is no such object. */
  get(key: string, signal?: AbortSignal): Promise<Readable | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object under the prefix, page by page (pageSize objects per request). */
  list(prefix: string, pageSize?: number): AsyncIterable<ObjectInfo>;
  /** Deletes the keys; a missing key is not an error. */
  delete(keys: string[]): Promise<void>;
  close(): void;
}

/** Explicit S3 keys, e.g. from the extension's SecretStorage; otherwise the SDK's default chain. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ObjectClientOptions {
  logger?: Logger;
  credentials?: S3Credentials;
  /** S3 only: max keys per ListObjectsV2 page (1..1000); GCS: maxResults. */
  pageSize?: number;
}

export type ObjectClientFactory = (remote: Remote, options: ObjectClientOptions) => ObjectClient;
