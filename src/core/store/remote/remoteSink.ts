import { PassThrough } from 'node:stream';
import type { BackupSink } from '../../pipeline/sink';
import { backupFileName } from '../naming';
import { backupKey } from './layout';
import type { RemoteStore, UploadResult } from './remoteStore';

/**
 * A backup streamed straight to a remote, with no full local copy: the bytes go up as they come (multipart,
 * bounded memory); the object is complete once the stream ends, and its sidecar (with the manifest) is
 * written after it on commit. An abort fails the upload, which sends AbortMultipartUpload: no object is left.
 */
export async function openRemoteSink(store: RemoteStore, o: { container: string; database: string; extension: `.${string}`; created: Date; encrypted: boolean; signal?: AbortSignal }): Promise<BackupSink> {
  const fileName = backupFileName(o.database, o.extension, o.created);
  const key = backupKey(store.remote.prefix, o.container, o.database, fileName);
  const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  let giveManifest: (m: Record<string, unknown> | undefined) => void = () => undefined;
  const manifest = new Promise<Record<string, unknown> | undefined>((resolve) => (giveManifest = resolve));
  const upload: Promise<UploadResult> = store.uploadStream(stream, key, { container: o.container, database: o.database, encrypted: o.encrypted, manifest, signal: o.signal });
  upload.catch(() => undefined);
  return {
    location: store.url(key),
    fileName,
    stream,
    async commit(m) {
      giveManifest(m as Record<string, unknown>);
      await upload;
    },
    async abort() {
      giveManifest(undefined);
      stream.destroy(new Error('the backup failed'));
      await upload.catch(() => undefined);
    },
  };
}
