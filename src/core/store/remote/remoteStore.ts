import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PgBackupError, cancelledError, isPgBackupError, throwIfAborted } from '../../errors';
import { silentLogger, type Logger } from '../../logger';
import { ProgressReporter, type ProgressListener } from '../../progress';
import { MANIFEST_SUFFIX, PARTIAL_SUFFIX } from '../naming';
import { DEFAULT_STREAM_MAX_BYTES, FILE_PARTS_BUDGET, SIDECAR_VERSION, concurrencyFor, describeKey, isEncryptedName, isSidecarKey, partSizeFor, sidecarKey, type RemoteSidecar } from './layout';
import type { ObjectClient, ObjectClientOptions } from './objectClient';
import { objectUrl, trimSlashes, type Remote } from './remoteConfig';

export interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** What the sidecar says about an upload; the sha256 and size are filled in from the bytes sent. */
export interface UploadInfo extends TransferOptions {
  container: string;
  database: string;
  /** Known sha256 (from the local manifest): the bytes read are checked against it while uploading. */
  sha256?: string;
  contentLength?: number;
  encrypted?: boolean;
  /**
   * The local manifest, carried in the sidecar and written back beside a download. For a backup streamed
   * straight to the remote it is known only at the end: a promise, awaited before the sidecar is written.
   */
  manifest?: Record<string, unknown> | Promise<Record<string, unknown> | undefined>;
  /** Parts in flight at once (default: concurrencyFor(part size), see layout.ts). */
  concurrency?: number;
}

export interface UploadResult {
  key: string;
  url: string;
  bytes: number;
  sha256: string;
  /** True when the remote already held these bytes (same sha256 in the sidecar): nothing was sent. */
  skipped: boolean;
}

export interface RemoteBackup {
  key: string;
  url: string;
  file: string;
  bytes: number;
  modified: Date;
  container?: string;
  database?: string;
  hasSidecar: boolean;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** False when the object has no sidecar, so there was no checksum to compare with. */
  verified: boolean;
  sidecar?: RemoteSidecar;
}

const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

function sha256Mismatch(what: string, digest: string, expected: string): PgBackupError {
  return new PgBackupError('failed', `The sha256 of ${what} (${digest.slice(0, 12)}…) differs from its manifest's (${expected.slice(0, 12)}…); nothing was uploaded: the local file is damaged or was changed after the backup.`);
}

/** Hashes and counts the bytes passing through; with `expected`, fails at the end on a mismatch. */
class Sha256Check extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  digest = '';
  constructor(private readonly expected?: string, private readonly what = 'the file') {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    if (this.expected && this.expected !== this.digest) {
      done(sha256Mismatch(this.what, this.digest, this.expected));
      return;
    }
    done();
  }
}

async function sha256OfFile(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash, { signal });
  return hash.digest('hex');
}

/**
 * Backups on one remote: `prefix/<container>/<database>/<file>` plus the sidecar `<file>.json` written
 * after the object. Built on an ObjectClient (S3 or GCS) so both behave the same.
 */
export class RemoteStore {
  private readonly logger: Logger;
  constructor(readonly remote: Remote, private readonly client: ObjectClient, logger?: Logger) {
    this.logger = logger ?? silentLogger;
  }

  url(key: string): string {
    return objectUrl(this.remote, key);
  }

  /** Uploads a local backup file, unless the remote already has the same bytes (by our sha256). */
  async upload(localFile: string, key: string, o: UploadInfo): Promise<UploadResult> {
    this.refuseUnencrypted(o.encrypted ?? isEncryptedName(localFile), localFile);
    throwIfAborted(o.signal, 'The upload');
    const size = o.contentLength ?? (await fs.stat(localFile)).size;
    const existing = await this.readSidecar(key);
    if (existing && existing.bytes === size) {
      const sha = o.sha256 ?? (await sha256OfFile(localFile, o.signal).catch((e) => this.rethrowCancel(e, 'The upload')));
      const object = await this.client.head(key);
      if (existing.sha256 === sha && object?.bytes === size) {
        this.logger.info(`${this.url(key)} already holds these bytes (sha256 ${sha.slice(0, 12)}…): not uploaded again`);
        return { key, url: this.url(key), bytes: size, sha256: sha, skipped: true };
      }
    }
    const partSize = partSizeFor(size);
    if (this.client.putFile && size > partSize) return this.sendFile(localFile, key, { ...o, contentLength: size }, partSize);
    return this.send(createReadStream(localFile), key, { ...o, contentLength: size }, partSize, o.concurrency ?? concurrencyFor(partSize));
  }

  /** A file in parts read straight into reused buffers (S3), the sha256 computed on the way and checked before the object is completed. */
  private async sendFile(localFile: string, key: string, o: UploadInfo & { contentLength: number }, partSize: number): Promise<UploadResult> {
    const reporter = new ProgressReporter(o.onProgress);
    reporter.step('upload', `Uploading to ${this.url(key)}`);
    const r = await this.client.putFile!(key, localFile, {
      size: o.contentLength,
      partSize,
      concurrency: o.concurrency ?? concurrencyFor(partSize, FILE_PARTS_BUDGET),
      contentType: 'application/octet-stream',
      signal: o.signal,
      onBytes: (n) => reporter.bytes(n, o.contentLength),
      verify: (digest) => {
        if (o.sha256 && o.sha256 !== digest) throw sha256Mismatch(path.basename(key), digest, o.sha256);
      },
    });
    reporter.bytes(r.bytes, r.bytes, undefined, true);
    return this.finishUpload(key, o, r.bytes, r.sha256);
  }

  /**
   * Uploads a stream of unknown length (a backup going straight to the remote), sized for at most
   * `maxBytes` (default 256 GiB: 27 MiB parts); the sha256 is computed on the way.
   */
  async uploadStream(source: Readable, key: string, o: UploadInfo & { maxBytes?: number }): Promise<UploadResult> {
    this.refuseUnencrypted(o.encrypted ?? isEncryptedName(key), key);
    throwIfAborted(o.signal, 'The upload');
    const partSize = partSizeFor(o.contentLength ?? o.maxBytes ?? DEFAULT_STREAM_MAX_BYTES);
    return this.send(source, key, o, partSize, o.concurrency ?? concurrencyFor(partSize));
  }

  private refuseUnencrypted(encrypted: boolean, what: string): void {
    if (this.remote.requireEncryption && !encrypted) {
      throw new PgBackupError('refused', `Remote "${this.remote.name}" accepts only encrypted backups and ${path.basename(what)} is not encrypted; encrypt it first (age) or use another remote.`);
    }
  }

  private rethrowCancel(e: unknown, what: string): never {
    if ((e as Error)?.name === 'AbortError') throw cancelledError(what);
    throw e;
  }

  private async send(source: Readable, key: string, o: UploadInfo, partSize: number, concurrency: number): Promise<UploadResult> {
    const reporter = new ProgressReporter(o.onProgress);
    reporter.step('upload', `Uploading to ${this.url(key)}`);
    const check = new Sha256Check(o.sha256, path.basename(key));
    source.on('error', (e) => check.destroy(e));
    source.pipe(check);
    const onAbort = () => check.destroy(cancelledError('The upload'));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.client.put(key, check, {
        contentLength: o.contentLength,
        partSize,
        concurrency,
        contentType: 'application/octet-stream',
        onBytes: (n) => reporter.bytes(n, o.contentLength),
      });
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      source.destroy();
    }
    reporter.bytes(check.bytes, check.bytes, undefined, true);
    return this.finishUpload(key, o, check.bytes, check.digest);
  }

  /** Writes the sidecar (after the object: an object without one is an upload that did not finish). */
  private async finishUpload(key: string, o: UploadInfo, bytes: number, sha256: string): Promise<UploadResult> {
    const { container, database } = o;
    const manifest = await o.manifest;
    const sidecar: RemoteSidecar = {
      sidecarVersion: SIDECAR_VERSION,
      file: path.posix.basename(key),
      container,
      database,
      bytes,
      sha256,
      encrypted: o.encrypted ?? isEncryptedName(key),
      uploaded: new Date().toISOString(),
      ...(manifest ? { manifest } : {}),
    };
    // the sidecar goes last: an object without one is an upload that did not finish
    await this.client.putSmall(sidecarKey(key), Buffer.from(JSON.stringify(sidecar, null, 2)), 'application/json');
    this.logger.info(`uploaded ${this.url(key)} (${bytes} bytes, sha256 ${sha256})`);
    return { key, url: this.url(key), bytes, sha256, skipped: false };
  }

  /** The sidecar of `key`, or undefined when it has none (or it is not ours). */
  async readSidecar(key: string): Promise<RemoteSidecar | undefined> {
    const body = await this.client.get(sidecarKey(key));
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      size += (c as Buffer).length;
      if (size > MAX_SIDECAR_BYTES) {
        body.destroy();
        return undefined;
      }
      chunks.push(c as Buffer);
    }
    try {
      const s = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RemoteSidecar;
      return s && s.sidecarVersion === SIDECAR_VERSION && typeof s.sha256 === 'string' ? s : undefined;
    } catch {
      return undefined;
    }
  }

  head(key: string) {
    return this.client.head(key);
  }

  /**
   * Downloads `key` to `localPath` through `<path>.partial`: checks the sha256 against the sidecar,
   * then renames it into place and writes the manifest beside it. A mismatch or cancel leaves nothing.
   */
  async download(key: string, localPath: string, o: TransferOptions = {}): Promise<DownloadResult> {
    throwIfAborted(o.signal, 'The download');
    const sidecar = await this.readSidecar(key);
    const head = await this.client.head(key);
    if (!head) throw new PgBackupError('notFound', `${this.url(key)} does not exist on remote "${this.remote.name}".`);
    if (!sidecar) this.logger.warn(`${this.url(key)} has no sidecar (${sidecarKey(key)}): its sha256 cannot be checked`);
    const reporter = new ProgressReporter(o.onProgress);
    reporter.step('download', `Downloading ${this.url(key)}`);
    await fs.mkdir(path.dirname(localPath), { recursive: true });
    const partial = localPath + PARTIAL_SUFFIX;
    const check = new Sha256Check();
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        reporter.bytes(check.bytes + chunk.length, head.bytes);
        done(null, chunk);
      },
    });
    try {
      const body = await this.client.get(key, o.signal);
      if (!body) throw new PgBackupError('notFound', `${this.url(key)} disappeared while it was being downloaded.`);
      const out = createWriteStream(partial, { mode: 0o600 });
      await pipeline(body, counter, check, out, { signal: o.signal });
      const fh = await fs.open(partial, 'r');
      await fh.sync().finally(() => fh.close());
      if (sidecar && (sidecar.sha256 !== check.digest || sidecar.bytes !== check.bytes)) {
        throw new PgBackupError('failed', `The download of ${this.url(key)} does not match its sidecar (sha256 ${check.digest.slice(0, 12)}… against ${sidecar.sha256.slice(0, 12)}…); it was not kept.`);
      }
      await fs.rename(partial, localPath);
    } catch (e) {
      await fs.rm(partial, { force: true });
      if (o.signal?.aborted && !isPgBackupError(e)) throw cancelledError('The download');
      throw e;
    }
    if (sidecar?.manifest) await fs.writeFile(localPath + MANIFEST_SUFFIX, JSON.stringify(sidecar.manifest, null, 2) + '\n', { mode: 0o600 });
    reporter.bytes(check.bytes, head.bytes, undefined, true);
    return { path: localPath, bytes: check.bytes, sha256: check.digest, verified: Boolean(sidecar), sidecar };
  }

  /** Backups under the remote's prefix (optionally below `sub`, e.g. `container/database`), sidecars paired. */
  async list(sub = ''): Promise<RemoteBackup[]> {
    const base = [this.remote.prefix, trimSlashes(sub)].filter(Boolean).join('/');
    const objects = new Map<string, { bytes: number; modified: Date }>();
    const sidecars = new Set<string>();
    for await (const o of this.client.list(base ? `${base}/` : '')) {
      if (isSidecarKey(o.key)) sidecars.add(o.key);
      else if (!o.key.endsWith(PARTIAL_SUFFIX) && !o.key.endsWith('/')) objects.set(o.key, o);
    }
    return [...objects].map(([key, o]) => ({
      key,
      url: this.url(key),
      ...describeKey(key),
      bytes: o.bytes,
      modified: o.modified,
      hasSidecar: sidecars.has(sidecarKey(key)),
    }));
  }

  /** The backups below `sub` with what their sidecars say (read a few at a time). */
  async listWithSidecars(sub = '', signal?: AbortSignal): Promise<(RemoteBackup & { sidecar?: RemoteSidecar })[]> {
    const backups = await this.list(sub);
    const rows: (RemoteBackup & { sidecar?: RemoteSidecar })[] = new Array(backups.length);
    let next = 0;
    const worker = async () => {
      while (next < backups.length && !signal?.aborted) {
        const i = next++;
        const b = backups[i];
        const sidecar = b.hasSidecar ? await this.readSidecar(b.key) : undefined;
        rows[i] = { ...b, container: sidecar?.container ?? b.container, database: sidecar?.database ?? b.database, sidecar };
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (signal?.aborted) throw cancelledError('The listing');
    return rows;
  }

  /** Deletes each backup object and its sidecar. */
  async delete(keys: string[]): Promise<void> {
    await this.client.delete(keys.flatMap((k) => [k, sidecarKey(k)]));
  }

  close(): void {
    this.client.close();
  }
}

/** Opens a remote: the SDK (S3 or GCS) is loaded only now, so nothing pays for it before first use. */
export async function openRemoteStore(remote: Remote, options: ObjectClientOptions = {}): Promise<RemoteStore> {
  const client =
    remote.kind === 's3'
      ? (await import('./s3Client.js')).createS3Client(remote, options)
      : (await import('./gcsClient.js')).createGcsClient(remote, options);
  return new RemoteStore(remote, client, options.logger);
}
