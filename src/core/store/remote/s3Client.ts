import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { silentLogger, type Logger } from '../../logger';
import type { ObjectClient, ObjectClientOptions, ObjectInfo, PutOptions } from './objectClient';
import type { Remote } from './remoteConfig';
import { describeRemoteError } from './remoteErrors';
import { uploadFileInParts } from './s3FileUpload';

/**
 * The S3 client's configuration for a remote: the default credential chain unless keys are passed in,
 * standard retries with backoff for throttling and 5xx, and for custom endpoints checksums only where
 * the API requires them (several S3-compatible stores refuse the SDK's newer default checksums).
 */
export function s3ClientConfig(remote: Remote, options: Pick<ObjectClientOptions, 'credentials'> = {}): S3ClientConfig {
  const custom = Boolean(remote.endpoint);
  return {
    region: remote.region ?? (custom ? 'us-east-1' : undefined),
    endpoint: remote.endpoint,
    forcePathStyle: remote.forcePathStyle ?? custom,
    credentials: options.credentials,
    maxAttempts: remote.maxAttempts ?? 5,
    retryMode: 'standard',
    followRegionRedirects: !custom,
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  };
}

function isNotFound(e: unknown): boolean {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return x?.name === 'NoSuchKey' || x?.name === 'NotFound' || x?.$metadata?.httpStatusCode === 404 && x?.name !== 'NoSuchBucket';
}

/** Logs each request's operation and key at debug level (never headers or credentials). */
function addRequestLog(client: S3Client, logger: Logger, bucket: string): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; Prefix?: string; PartNumber?: number };
      const what = `${context.commandName} ${bucket}/${input.Key ?? input.Prefix ?? ''}${input.PartNumber ? ` part ${input.PartNumber}` : ''}`;
      logger.debug(`s3 ${what}`);
      try {
        return await next(args);
      } catch (e) {
        logger.debug(`s3 ${what} failed: ${(e as Error).name}: ${(e as Error).message}`);
        throw e;
      }
    },
    { step: 'initialize', name: 'pgDockerBackupRequestLog' },
  );
}

/**
 * One streamed upload through lib-storage: a single PutObject for a body shorter than a part, else a
 * multipart upload with `o.concurrency` parts in flight. When the body or a part fails, lib-storage sends
 * AbortMultipartUpload before done() rejects; the body's own error (cancel, checksum) is what we report.
 */
async function uploadStream(a: {
  client: S3Client;
  Bucket: string;
  Key: string;
  body: Readable;
  o: PutOptions;
  objectParams: Record<string, unknown>;
  logger: Logger;
  fail: (action: string, e: unknown) => Error;
}): Promise<void> {
  const { client, Bucket, Key, body, o, objectParams, logger, fail } = a;
  let bodyError: unknown;
  // an AbortError is the SDK's iterator letting go of the body after a failed part, not the body's fault
  body.once('error', (e) => (bodyError = e.name === 'AbortError' ? undefined : e));
  const upload = new Upload({
    client,
    params: { Bucket, Key, Body: body, ContentLength: o.contentLength, ContentType: o.contentType, ...objectParams },
    partSize: o.partSize,
    queueSize: o.concurrency,
    // lib-storage sends AbortMultipartUpload itself when the body or a part fails, before done() rejects
    leavePartsOnError: false,
  });
  upload.on('httpUploadProgress', (p) => o.onBytes?.(p.loaded ?? 0));
  try {
    await upload.done();
  } catch (e) {
    if (bodyError) {
      if (e !== bodyError) logger.warn(`s3 ${Bucket}/${Key}: aborting the incomplete multipart upload failed too: ${(e as Error).message}`);
      throw bodyError;
    }
    throw fail('Uploading', e);
  }
}

export function createS3Client(remote: Remote, options: ObjectClientOptions): ObjectClient {
  const logger = options.logger ?? silentLogger;
  // the SDK warns on Node 20 about its own future versions: nothing a user of this tool can act on
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client(s3ClientConfig(remote, options));
  addRequestLog(client, logger, remote.bucket);
  const Bucket = remote.bucket;
  const fail = (action: string, e: unknown) => describeRemoteError(remote.name, action, e, Bucket);
  const objectParams = {
    StorageClass: remote.options?.storageClass as never,
    ServerSideEncryption: remote.options?.sse,
    SSEKMSKeyId: remote.options?.kmsKeyId,
  };

  const put = (Key: string, body: Readable, o: PutOptions) => uploadStream({ client, Bucket, Key, body, o, objectParams, logger, fail });

  return {
    put,
    putFile: (Key, file, o) => uploadFileInParts({ client, Bucket, Key, file, o, objectParams, logger, fail }),
    async putSmall(Key, body, ContentType) {
      try {
        await client.send(new PutObjectCommand({ Bucket, Key, Body: body, ContentType, ContentLength: body.length, ...objectParams }));
      } catch (e) {
        throw fail('Uploading', e);
      }
    },
    async get(Key, signal) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket, Key }), { abortSignal: signal });
        return r.Body as Readable;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw fail('Downloading', e);
      }
    },
    async head(Key) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket, Key }));
        return { key: Key, bytes: r.ContentLength ?? 0, modified: r.LastModified ?? new Date(0) };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw fail('Reading', e);
      }
    },
    async *list(Prefix, pageSize = options.pageSize ?? 1000): AsyncIterable<ObjectInfo> {
      let ContinuationToken: string | undefined;
      do {
        let page;
        try {
          page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: Prefix || undefined, MaxKeys: pageSize, ContinuationToken }));
        } catch (e) {
          throw fail('Listing', e);
        }
        for (const o of page.Contents ?? []) {
          if (o.Key) yield { key: o.Key, bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    async delete(keys) {
      // one DeleteObject per key: DeleteObjects needs a Content-MD5/checksum that some S3-compatible stores reject
      for (const Key of keys) {
        try {
          await client.send(new DeleteObjectCommand({ Bucket, Key }));
        } catch (e) {
          if (!isNotFound(e)) throw fail('Deleting', e);
        }
      }
    },
    close() {
      client.destroy();
    },
  };
}
