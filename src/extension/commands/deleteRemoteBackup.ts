import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { formatBytes } from '../../core/progress';
import { confirmModal, showError } from '../ui';
import type { CommandHandler } from './context';
import { localPathFor } from './downloadRemoteBackup';
import { pickRemoteBackup, selectedRemoteBackups, type RemoteTarget } from './remotePicks';

/** Whether the backup folder holds a copy of this remote backup (the way back after a delete). */
function hasLocalCopy(dir: string, t: RemoteTarget): boolean {
  try {
    return existsSync(localPathFor(dir, t));
  } catch {
    return false;
  }
}

/** Delete Remote Backup…: the selected remote backups (or one picked), each with its sidecar, after a modal naming them. */
export const deleteRemoteBackupCommand: CommandHandler = async ({ services, remotes }, node, nodes) => {
  let targets = selectedRemoteBackups(node, nodes);
  if (targets.length === 0) {
    const t = await pickRemoteBackup(remotes, 'Delete which remote backup?');
    if (!t) return;
    targets = [t];
  }
  const byRemote = new Map<string, RemoteTarget[]>();
  for (const t of targets) byRemote.set(t.remote, [...(byRemote.get(t.remote) ?? []), t]);
  const names = [...byRemote.keys()].map((r) => `"${r}"`).join(', ');
  const what = targets.length === 1 ? targets[0].row.file : `${targets.length} backups`;
  const bytes = targets.reduce((n, t) => n + t.row.bytes, 0);
  const dir = services.settings.backupDirectory;
  const lines = targets.map((t) => `${t.row.url} (${formatBytes(t.row.bytes)})${hasLocalCopy(dir, t) ? ' · a copy is in the backup folder' : ' · no copy in the backup folder'}`);
  const detail = `${lines.join('\n')}\n\nEach object and its sidecar (.json) are deleted from the bucket. This cannot be undone; the local copies, where there are any, are kept.`;
  if (!(await confirmModal(`Delete ${what} (${formatBytes(bytes)}) from remote ${names}?`, detail, 'Delete'))) return;
  try {
    for (const [remote, list] of byRemote) {
      await remotes.withStore(remote, (store) => store.delete(list.map((t) => t.row.key)));
      services.logger.info(`deleted from ${remote}: ${list.map((t) => t.row.url).join(', ')}`);
    }
    void vscode.window.showInformationMessage(`Deleted ${what} from remote ${names}.`);
  } catch (e) {
    await showError(services, e);
  } finally {
    for (const remote of byRemote.keys()) remotes.invalidate(remote);
  }
};
