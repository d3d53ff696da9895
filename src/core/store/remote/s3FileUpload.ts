import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PgBackupError, cancelledError, isPgBackupError } from '../../errors';
import type { Logger } from '../../logger';
import type { PutFileOptions } from './objectClient';

/**
 * A local file of known size as a multipart upload, each part read straight into one of `concurrency + 1`
 * reused part buffers (no stream of 64 KiB chunks, no Buffer.concat per part, no garbage between
 * collections): memory stays at (concurrency + 1) x partSize, so more parts can be in flight within the
 * same RSS, which hides the server's per-part latency. Parts are read in order, so the sha256 of the
 * file is computed on the way; `o.verify` sees it before CompleteMultipartUpload. Any failure, a
 * mismatch or a cancel sends AbortMultipartUpload before it rejects: no object appears.
 */
export async function uploadFileInParts(a: {
  client: S3Client;
  Bucket: string;
  Key: string;
  file: string;
  o: PutFileOptions;
  objectParams: Record<string, unknown>;
  logger: Logger;
  fail: (action: string, e: unknown) => Error;
}): Promise<{ bytes: number; sha256: string }> {
  const { client, Bucket, Key, file, o, logger } = a;
  const { size, partSize, concurrency } = o;
  // opened first: nothing to abort when the file cannot be read
  const fh = await fs.open(file, 'r');
  const stop = new AbortController();
  const onCancel = () => stop.abort(cancelledError('The upload'));
  o.signal?.addEventListener('abort', onCancel, { once: true });
  const created = await client
    .send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: o.contentType, ...a.objectParams }), { abortSignal: stop.signal })
    .catch(async (e) => {
      o.signal?.removeEventListener('abort', onCancel);
      await fh.close();
      throw o.signal?.aborted ? cancelledError('The upload') : a.fail('Uploading', e);
    });
  const UploadId = created.UploadId!;
  const free: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  const hash = createHash('sha256');
  let failure: unknown;
  let sent = 0;
  try {
    for (let offset = 0, PartNumber = 1; offset < size && !failure && !stop.signal.aborted; offset += partSize, PartNumber++) {
      while (inFlight.size >= concurrency && !failure) await Promise.race(inFlight);
      if (failure || stop.signal.aborted) break;
      const buf = free.pop() ?? Buffer.allocUnsafe(partSize);
      const length = Math.min(partSize, size - offset);
      await readFully(fh, buf, length, offset, file);
      const Body = buf.subarray(0, length);
      hash.update(Body);
      const part = client
        .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: length }), { abortSignal: stop.signal })
        .then((r) => {
          parts.push({ PartNumber, ETag: r.ETag });
          sent += length;
          o.onBytes?.(sent);
        })
        .catch((e) => {
          failure ??= e;
          stop.abort(e);
        })
        .finally(() => {
          free.push(buf);
          inFlight.delete(part);
        });
      inFlight.add(part);
    }
    await Promise.all(inFlight);
    if (stop.signal.aborted || failure) throw o.signal?.aborted ? cancelledError('The upload') : failure;
    const sha256 = hash.digest('hex');
    o.verify?.(sha256, size);
    parts.sort((x, y) => x.PartNumber! - y.PartNumber!);
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    return { bytes: size, sha256 };
  } catch (e) {
    await Promise.allSettled(inFlight);
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch((err) => {
      logger.warn(`s3 ${Bucket}/${Key}: aborting the incomplete multipart upload failed too: ${(err as Error).message}`);
    });
    if (o.signal?.aborted) throw cancelledError('The upload');
    throw isPgBackupError(e) ? e : a.fail('Uploading', e);
  } finally {
    o.signal?.removeEventListener('abort', onCancel);
    await fh.close();
  }
}

async function readFully(fh: fs.FileHandle, buf: Buffer, length: number, position: number, file: string): Promise<void> {
  for (let got = 0; got < length; ) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new PgBackupError('failed', `${file} became shorter while it was being uploaded; nothing was uploaded: upload it again once it is complete.`);
    got += bytesRead;
  }
}
