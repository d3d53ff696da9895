import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PgBackupError } from '../../core/errors';
import type { ProgressListener } from '../../core/progress';
import { BACKUP_FILE_PATTERN, encodePathSegment } from '../../core/store/naming';
import type { RemoteStore } from '../../core/store/remote/remoteStore';
import { runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { batchProgress, describeTransfer, pickRemoteBackup, selectedRemoteBackups, type RemoteTarget } from './remotePicks';

/**
 * Where a remote backup goes in the backup folder: `<dir>/<container>/<database>/<file>`, as a local
 * backup would. A name that is not a backup file name (it came from the bucket) is refused.
 */
export function localPathFor(dir: string, t: RemoteTarget): string {
  const { row } = t;
  if (!BACKUP_FILE_PATTERN.test(row.file) || /[\\/]|^\.\.?$/.test(row.file)) {
    throw new PgBackupError('refused', `${row.url} is not a backup file name pg-docker-backup restores (it came from the remote); nothing was downloaded.`);
  }
  if (!row.container || !row.database) {
    throw new PgBackupError('refused', `${row.url} is not in a <container>/<database>/ folder of the remote and has no sidecar saying where it came from; nothing was downloaded.`);
  }
  return path.join(dir, encodePathSegment(row.container), encodePathSegment(row.database), row.file);
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Downloads one remote backup into the backup folder (through `.partial`, checked against its sidecar's
 * sha256, manifest written beside it). A local file of the same name is kept: `existing` says so.
 */
export async function downloadToBackupFolder(store: RemoteStore, dir: string, t: RemoteTarget, signal: AbortSignal, onProgress: ProgressListener): Promise<{ path: string; existing: boolean; verified: boolean }> {
  const local = localPathFor(dir, t);
  if (await exists(local)) return { path: local, existing: true, verified: false };
  const r = await store.download(t.row.key, local, { signal, onProgress });
  return { path: r.path, existing: false, verified: r.verified };
}

/** Download: the selected remote backups (or one picked) into the backup folder. */
export const downloadRemoteBackupCommand: CommandHandler = async ({ services, model, remotes }, node, nodes) => {
  let targets = selectedRemoteBackups(node, nodes);
  if (targets.length === 0) {
    const t = await pickRemoteBackup(remotes, 'Download which backup?');
    if (!t) return;
    targets = [t];
  }
  const dir = services.settings.backupDirectory;
  const what = targets.length === 1 ? targets[0].row.file : `${targets.length} backups`;
  const started = Date.now();
  try {
    const total = targets.reduce((n, t) => n + t.row.bytes, 0);
    const results = await runWithProgress(`Downloading ${what}`, async (signal, onProgress) => {
      const out: Awaited<ReturnType<typeof downloadToBackupFolder>>[] = [];
      let done = 0;
      for (const [i, t] of targets.entries()) {
        out.push(await remotes.withStore(t.remote, (store) => downloadToBackupFolder(store, dir, t, signal, batchProgress(onProgress, done, total, i, targets.length))));
        done += t.row.bytes;
      }
      return out;
    });
    await model.refresh();
    const fetched = results.filter((r) => !r.existing);
    const bytes = targets.filter((_, i) => !results[i].existing).reduce((n, t) => n + t.row.bytes, 0);
    const kept = results.filter((r) => r.existing);
    const unchecked = fetched.filter((r) => !r.verified).length;
    const message = [
      fetched.length ? `Downloaded ${fetched.length === 1 ? path.basename(fetched[0].path) : `${fetched.length} backups`} into the backup folder (${describeTransfer(bytes, Date.now() - started)}).` : '',
      unchecked ? `${unchecked} had no sidecar, so ${unchecked === 1 ? 'its' : 'their'} sha256 could not be checked.` : '',
      kept.length ? `${kept.length === 1 ? kept[0].path : `${kept.length} backups`} ${kept.length === 1 ? 'was' : 'were'} already in the backup folder and kept as ${kept.length === 1 ? 'it was' : 'they were'}.` : '',
    ];
    const choice = await vscode.window.showInformationMessage(message.filter(Boolean).join(' '), 'Reveal');
    if (choice === 'Reveal') await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(results[0].path));
  } catch (e) {
    await model.refresh();
    await showError(services, e);
  }
};
