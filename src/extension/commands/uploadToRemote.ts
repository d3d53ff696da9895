import * as path from 'node:path';
import * as vscode from 'vscode';
import { PgBackupError } from '../../core/errors';
import type { BackupEntry } from '../../core/store/backupStore';
import { backupKey, isEncryptedName } from '../../core/store/remote/layout';
import type { RemoteStore, UploadResult } from '../../core/store/remote/remoteStore';
import type { Node } from '../tree/nodes';
import { pickBackup, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { batchProgress, describeTransfer, pickRemote } from './remotePicks';

function selectedLocalBackups(node?: Node, nodes?: Node[]): BackupEntry[] {
  const all = nodes && nodes.length ? nodes : node ? [node] : [];
  return all.flatMap((n) => (n.kind === 'backup' && n.backup.format !== 'unknown' ? [n.backup] : []));
}

function isEncrypted(b: BackupEntry): boolean {
  return isEncryptedName(b.path) || Boolean(b.manifest?.stages.some((s) => s.kind === 'encrypt'));
}

/** Uploads the backups one after another (each a no-op when the remote has the same sha256). */
export async function uploadBackups(store: RemoteStore, backups: BackupEntry[], signal: AbortSignal, onProgress: Parameters<typeof batchProgress>[0] = () => undefined): Promise<UploadResult[]> {
  const total = backups.reduce((n, b) => n + b.sizeBytes, 0);
  const results: UploadResult[] = [];
  let done = 0;
  for (const [i, b] of backups.entries()) {
    if (!b.container || !b.database) {
      throw new PgBackupError('usage', `${b.fileName} has no manifest and is not in a <container>/<database> folder of the backup folder, so its place on the remote is unknown.`);
    }
    const key = backupKey(store.remote.prefix, b.container, b.database, path.basename(b.path));
    results.push(
      await store.upload(b.path, key, {
        container: b.container,
        database: b.database,
        sha256: b.manifest?.sha256 || undefined,
        encrypted: isEncrypted(b),
        manifest: b.manifest as unknown as Record<string, unknown> | undefined,
        signal,
        onProgress: batchProgress(onProgress, done, total, i, backups.length),
      }),
    );
    done += b.sizeBytes;
  }
  return results;
}

/** Upload to Remote…: the selected local backups (or one picked) to a configured remote. */
export const uploadToRemoteCommand: CommandHandler = async ({ services, model, remotes }, node, nodes) => {
  let backups = selectedLocalBackups(node, nodes);
  if (backups.length === 0) {
    const b = await pickBackup(model, 'Upload which backup?');
    if (!b) return;
    backups = [b];
  }
  const what = backups.length === 1 ? backups[0].fileName : `${backups.length} backups`;
  const remote = await pickRemote(remotes, `Upload ${what} to which remote?`);
  if (!remote) return;
  const started = Date.now();
  try {
    const results = await runWithProgress(`Uploading ${what} to ${remote.name}`, (signal, onProgress) => remotes.withStore(remote.name, (store) => uploadBackups(store, backups, signal, onProgress)));
    const sent = results.filter((r) => !r.skipped);
    const skipped = results.length - sent.length;
    const bytes = sent.reduce((n, r) => n + r.bytes, 0);
    const parts = [
      sent.length ? `Uploaded ${sent.length === 1 ? path.posix.basename(sent[0].key) : `${sent.length} backups`} to "${remote.name}" (${describeTransfer(bytes, Date.now() - started)}).` : '',
      skipped ? `${skipped === 1 && results.length === 1 ? `${backups[0].fileName} was` : `${skipped} ${skipped === 1 ? 'was' : 'were'}`} already on "${remote.name}" (same sha256): not sent again.` : '',
    ];
    services.logger.info(results.map((r) => `${r.skipped ? 'already there' : 'uploaded'}: ${r.url}`).join('\n'));
    void vscode.window.showInformationMessage(parts.filter(Boolean).join(' '));
  } catch (e) {
    await showError(services, e);
  } finally {
    remotes.invalidate(remote.name);
  }
};
