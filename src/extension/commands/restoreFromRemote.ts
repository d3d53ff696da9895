import * as fs from 'node:fs/promises';
import { PgBackupError } from '../../core/errors';
import { describeBackup } from '../../core/store/backupStore';
import { runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { downloadToBackupFolder } from './downloadRemoteBackup';
import { pickRemoteBackup, selectedRemoteBackups } from './remotePicks';
import { restoreEntry } from './restoreBackup';

/**
 * Restore from Remote…: downloads the remote backup into the backup folder with progress (checked
 * against its sidecar's sha256), then runs the usual restore: the plan in one modal, scratch database,
 * swap, checks, Undo. A copy already in the backup folder is used when its size matches.
 */
export const restoreFromRemoteCommand: CommandHandler = async ({ services, model, remotes }, node) => {
  const target = selectedRemoteBackups(node)[0] ?? (await pickRemoteBackup(remotes, 'Restore which remote backup?'));
  if (!target) return;
  let local: string;
  try {
    const r = await runWithProgress(`Downloading ${target.row.file} from ${target.remote}`, (signal, onProgress) =>
      remotes.withStore(target.remote, (store) => downloadToBackupFolder(store, services.settings.backupDirectory, target, signal, onProgress)),
    );
    if (r.existing && (await fs.stat(r.path)).size !== target.row.bytes) {
      throw new PgBackupError('refused', `${r.path} is already in the backup folder but differs in size from ${target.row.url}; delete or rename it to restore the remote copy.`);
    }
    services.logger.info(r.existing ? `restoring the copy already in the backup folder: ${r.path}` : `downloaded ${target.row.url} to ${r.path}${r.verified ? ' (sha256 checked against its sidecar)' : ' (no sidecar: not checked)'}`);
    local = r.path;
  } catch (e) {
    await showError(services, e);
    return;
  }
  await model.refresh();
  await restoreEntry(services, model, await describeBackup(local, services.settings.backupDirectory));
};
