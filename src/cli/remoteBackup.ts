import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupOptions, BackupResult } from '../core/backup/backupDatabase';
import { PgBackupError } from '../core/errors';
import type { StageRecord } from '../core/pipeline/stage';
import { BACKUP_FILE_PATTERN, encodePathSegment } from '../core/store/naming';
import { backupKey, describeKey } from '../core/store/remote/layout';
import { isRemoteUrl } from '../core/store/remote/remoteConfig';
import { openRemoteSink } from '../core/store/remote/remoteSink';
import type { UploadResult } from '../core/store/remote/remoteStore';
import { progressPrinter, type CliContext } from './io';
import { namedRemotes, openStore, remoteFor, remoteObjectFor, remoteOptions } from './remotes';

/** Flags of `backup` that send it to a remote (with the remote flags). */
export const backupRemoteOptions = { upload: { type: 'string' }, 'to-remote': { type: 'string' }, ...remoteOptions } as const;

type Flags = { upload?: string; 'to-remote'?: string; endpoint?: string; region?: string; 'path-style'?: boolean };

/**
 * `backup --to-remote R`: a sink that streams the backup straight to the remote (no full local copy); the
 * remote is opened once, closed when the backup settles.
 */
export async function remoteSinkFor(ctx: CliContext, values: Flags, encrypted: boolean): Promise<{ sink: BackupOptions['sink']; close: () => void } | undefined> {
  if (!values['to-remote']) return undefined;
  const store = await openStore(ctx, await remoteFor(ctx, values['to-remote'], values));
  return {
    sink: (o) => openRemoteSink(store, { ...o, encrypted, signal: ctx.signal }),
    close: () => store.close(),
  };
}

/** `backup --upload R` (and `pitr base-backup --upload R`): the local backup, uploaded once written (a no-op when the remote has the same bytes). */
export async function uploadBackup(
  ctx: CliContext,
  values: Flags,
  r: Pick<BackupResult, 'path' | 'container' | 'database' | 'sha256'> & { manifest: { stages: StageRecord[] } },
): Promise<UploadResult | undefined> {
  if (!values.upload) return undefined;
  const store = await openStore(ctx, await remoteFor(ctx, values.upload, values));
  try {
    const key = backupKey(store.remote.prefix, r.container, r.database, path.basename(r.path));
    return await store.upload(r.path, key, {
      container: r.container,
      database: r.database,
      sha256: r.sha256,
      encrypted: r.manifest.stages.some((s) => s.kind === 'encrypt'),
      manifest: r.manifest as unknown as Record<string, unknown>,
      signal: ctx.signal,
      onProgress: progressPrinter(ctx),
    });
  } finally {
    store.close();
  }
}

/**
 * `restore <remote-object>`: a URL (s3://, gs://) or `NAME/<container>/<database>/<file>` of a named
 * remote, when no such local file exists, is downloaded into DIR/<container>/<database>/ (checked against
 * its sidecar's sha256, manifest written beside it) and restored from there. Returns the local path.
 */
export async function localCopyOf(ctx: CliContext, text: string, dir: string, values: Flags): Promise<string> {
  if (fs.existsSync(text)) return text;
  const named = await namedRemotes(ctx);
  if (!isRemoteUrl(text) && !named.some((n) => text.startsWith(`${n.name}/`))) return text;
  const { remote, key } = await remoteObjectFor(ctx, text, values);
  const store = await openStore(ctx, remote);
  try {
    const where = describeKey(key);
    if (!BACKUP_FILE_PATTERN.test(where.file) || /[\\/]|^\.\.?$/.test(where.file)) {
      throw new PgBackupError('refused', `${store.url(key)} is not a backup file name pg-docker-backup restores (it came from the remote); nothing was downloaded.`);
    }
    const local = path.join(dir, encodePathSegment(where.container ?? '_remote'), encodePathSegment(where.database ?? '_remote'), path.posix.basename(key));
    if (fs.existsSync(local)) return local;
    const r = await store.download(key, local, { signal: ctx.signal, onProgress: progressPrinter(ctx) });
    ctx.logger.info(`downloaded ${store.url(key)} to ${r.path}${r.verified ? ' (sha256 checked against its sidecar)' : ' (no sidecar: not checked)'}`);
    return r.path;
  } finally {
    store.close();
  }
}
