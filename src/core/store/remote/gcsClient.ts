import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IdempotencyStrategy, Storage, type File } from '@google-cloud/storage';
import { silentLogger } from '../../logger';
import type { ObjectClient, ObjectClientOptions, ObjectInfo, PutOptions } from './objectClient';
import type { Remote } from './remoteConfig';
import { describeRemoteError } from './remoteErrors';

function isNotFound(e: unknown): boolean {
  const x = e as { code?: number; message?: string };
  return x?.code === 404 && !/bucket does not exist|specified bucket|no such bucket/i.test(x.message ?? '');
}

function info(f: File): ObjectInfo {
  const m = f.metadata;
  return { key: f.name, bytes: Number(m.size ?? 0), modified: new Date(String(m.updated ?? m.timeCreated ?? 0)) };
}

/** One resumable upload with no chunk size: a single streamed request; GCS creates the object at its end. */
async function resumableUpload(target: File, body: Readable, o: PutOptions, metadata: object, fail: (action: string, e: unknown) => Error): Promise<void> {
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      o.onBytes?.(sent);
      done(null, chunk);
    },
  });
  let bodyError: unknown;
  body.once('error', (e) => (bodyError = e.name === 'AbortError' ? undefined : e));
  try {
    await pipeline(body, counter, target.createWriteStream({ resumable: true, metadata, validation: 'crc32c' }));
  } catch (e) {
    if (bodyError) throw bodyError;
    throw fail('Uploading', e);
  }
}

/**
 * Google Cloud Storage through @google-cloud/storage: Application Default Credentials or a key file;
 * STORAGE_EMULATOR_HOST is honoured by the SDK (it then sends no credentials). Uploads are resumable
 * with no chunk size: one streamed request, and GCS creates the object only when the last byte arrived,
 * so a failed or cancelled upload leaves no object.
 */
export function createGcsClient(remote: Remote, options: ObjectClientOptions): ObjectClient {
  const logger = options.logger ?? silentLogger;
  const storage = new Storage({
    keyFilename: remote.keyFile,
    retryOptions: { autoRetry: true, maxRetries: Math.max(0, (remote.maxAttempts ?? 5) - 1), idempotencyStrategy: IdempotencyStrategy.RetryAlways },
  });
  const bucket = storage.bucket(remote.bucket);
  const fail = (action: string, e: unknown) => describeRemoteError(remote.name, action, e, remote.bucket);
  const file = (key: string) => bucket.file(key, remote.options?.kmsKeyId ? { kmsKeyName: remote.options.kmsKeyId } : {});
  const metadata = (contentType?: string) => ({ contentType, ...(remote.options?.storageClass ? { storageClass: remote.options.storageClass } : {}) });

  const put = (key: string, body: Readable, o: PutOptions) => {
    logger.debug(`gcs upload ${remote.bucket}/${key}`);
    return resumableUpload(file(key), body, o, metadata(o.contentType), fail);
  };

  return {
    put,
    async putSmall(key, body, contentType) {
      logger.debug(`gcs put ${remote.bucket}/${key}`);
      try {
        await file(key).save(body, { resumable: false, metadata: metadata(contentType) });
      } catch (e) {
        throw fail('Uploading', e);
      }
    },
    async get(key) {
      logger.debug(`gcs get ${remote.bucket}/${key}`);
      if (!(await this.head(key))) return undefined;
      // our sha256 checks the bytes; the SDK's own hash check would need the whole object read first
      return file(key).createReadStream({ validation: false });
    },
    async head(key) {
      try {
        const [m] = await file(key).getMetadata();
        return { key, bytes: Number(m.size ?? 0), modified: new Date(String(m.updated ?? 0)) };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw fail('Reading', e);
      }
    },
    async *list(prefix, pageSize = options.pageSize ?? 1000) {
      let pageToken: string | undefined;
      do {
        let files: File[];
        let next: { pageToken?: string } | null | undefined;
        try {
          [files, next] = (await bucket.getFiles({ prefix: prefix || undefined, maxResults: pageSize, autoPaginate: false, pageToken })) as unknown as [File[], { pageToken?: string } | null];
        } catch (e) {
          throw fail('Listing', e);
        }
        for (const f of files) yield info(f);
        pageToken = next?.pageToken;
      } while (pageToken);
    },
    async delete(keys) {
      for (const key of keys) {
        logger.debug(`gcs delete ${remote.bucket}/${key}`);
        try {
          await file(key).delete({ ignoreNotFound: true });
        } catch (e) {
          throw fail('Deleting', e);
        }
      }
    },
    close() {
      // the SDK keeps no sockets open between requests that would hold the process
    },
  };
}
