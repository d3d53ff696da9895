import * as vscode from 'vscode';
import { formatBytes, formatDuration, type ProgressListener } from '../../core/progress';
import type { NamedRemote } from '../../core/store/remote/remoteConfig';
import type { RemoteModel } from '../remoteModel';
import type { Node } from '../tree/nodes';
import { rowEncrypted, rowTime, type RemoteRow } from '../tree/remoteNodes';

/** A remote backup a command acts on: the remote's name and the object's row. */
export interface RemoteTarget {
  remote: string;
  row: RemoteRow;
}

/** The remote backups among the clicked and selected rows. */
export function selectedRemoteBackups(node?: Node, nodes?: Node[]): RemoteTarget[] {
  const all = nodes && nodes.length ? nodes : node ? [node] : [];
  return all.flatMap((n) => (n.kind === 'remoteBackup' ? [{ remote: n.remote, row: n.row }] : []));
}

/** The remote a row stands for (a remote, container, database or error row), if any. */
export function remoteOfNode(node?: Node): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'remote') return node.remote.name;
  if (node.kind === 'remoteContainer' || node.kind === 'remoteDatabase' || node.kind === 'remoteBackup') return node.remote;
  if (node.kind === 'remoteError' || node.kind === 'remoteAction') return node.remote;
  return undefined;
}

/** A configured remote: the only one without asking, else a QuickPick; says how to add one when there is none. */
export async function pickRemote(model: RemoteModel, placeHolder: string, filter: (r: NamedRemote) => boolean = () => true): Promise<NamedRemote | undefined> {
  const remotes = model.remotes.filter(filter);
  if (model.problem) {
    void vscode.window.showErrorMessage(model.problem);
    return undefined;
  }
  if (remotes.length === 0) {
    const open = 'Open Settings';
    const choice = await vscode.window.showInformationMessage('No remote is configured: add one (name and s3:// or gs:// URL) to the setting pgDockerBackup.remotes.', open);
    if (choice === open) await vscode.commands.executeCommand('workbench.action.openSettings', 'pgDockerBackup.remotes');
    return undefined;
  }
  if (remotes.length === 1) return remotes[0];
  const pick = await vscode.window.showQuickPick(
    remotes.map((r) => ({ label: r.name, description: r.url, detail: r.endpoint, remote: r })),
    { placeHolder, matchOnDescription: true },
  );
  return pick?.remote;
}

/** From the palette: a remote, then one of its backups. */
export async function pickRemoteBackup(model: RemoteModel, placeHolder: string): Promise<RemoteTarget | undefined> {
  const remote = await pickRemote(model, `${placeHolder} (which remote?)`);
  if (!remote) return undefined;
  const listing = await model.listing(remote.name);
  if (listing.state === 'error') {
    void vscode.window.showErrorMessage(listing.message);
    return undefined;
  }
  if (listing.rows.length === 0) {
    void vscode.window.showInformationMessage(`There are no backups on remote "${remote.name}" yet.`);
    return undefined;
  }
  const rows = [...listing.rows].sort((a, b) => rowTime(b).getTime() - rowTime(a).getTime());
  const pick = await vscode.window.showQuickPick(
    rows.map((row) => ({
      label: row.file,
      description: `${row.container ?? '?'}/${row.database ?? '?'} · ${formatBytes(row.bytes)}${rowEncrypted(row) ? ' · encrypted' : ''}`,
      detail: rowTime(row).toLocaleString(),
      row,
    })),
    { placeHolder, matchOnDescription: true },
  );
  return pick ? { remote: remote.name, row: pick.row } : undefined;
}

/**
 * Progress of one transfer in a batch as progress of the whole batch: bytes so far of all of them, and
 * `(2 of 3)` in the message, so the notification's bar and rate cover the batch.
 */
export function batchProgress(onProgress: ProgressListener, done: number, total: number, index: number, count: number): ProgressListener {
  return (p) => onProgress({ ...p, message: count > 1 ? `${p.message} (${index + 1} of ${count})` : p.message, bytes: p.bytes === undefined ? undefined : done + p.bytes, totalBytes: total || p.totalBytes });
}

/** `12.3 MB in 4 s, 3.1 MB/s` */
export function describeTransfer(bytes: number, ms: number): string {
  return `${formatBytes(bytes)} in ${formatDuration(ms)}, ${formatBytes(Math.round(bytes / Math.max(0.001, ms / 1000)))}/s`;
}
