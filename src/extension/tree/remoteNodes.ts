import * as vscode from 'vscode';
import { upgradeManifest } from '../../core/backup/manifest';
import { formatBytes } from '../../core/progress';
import { parseBackupFileName } from '../../core/store/naming';
import { isEncryptedName, type RemoteSidecar } from '../../core/store/remote/layout';
import type { NamedRemote } from '../../core/store/remote/remoteConfig';
import type { RemoteBackup } from '../../core/store/remote/remoteStore';
import { age } from './age';

/** One backup object on a remote, with what its sidecar says. */
export type RemoteRow = RemoteBackup & { sidecar?: RemoteSidecar };

/** Rows of the Remote Backups view: remote → container → database → backup; errors with a Retry. */
export type RemoteNode =
  | { kind: 'remote'; remote: NamedRemote }
  | { kind: 'remoteContainer'; remote: string; container: string; rows: RemoteRow[] }
  | { kind: 'remoteDatabase'; remote: string; container: string; database: string; rows: RemoteRow[] }
  | { kind: 'remoteBackup'; remote: string; row: RemoteRow }
  | { kind: 'remoteError'; remote?: string; message: string }
  | { kind: 'remoteAction'; remote?: string; action: 'retry' | 'credentials' };

export const NO_CONTAINER = '(no container)';
export const NO_DATABASE = '(no database)';

/** The backup's time: its manifest's, else the time in its name (UTC, as ours are written), else the object's. */
export function rowTime(row: RemoteRow): Date {
  const created = upgradeManifest(row.sidecar?.manifest)?.created;
  return created ? new Date(created) : (parseBackupFileName(row.file)?.at ?? row.modified);
}

export function rowEncrypted(row: RemoteRow): boolean {
  return row.sidecar?.encrypted ?? isEncryptedName(row.file);
}

/** Rows grouped by a key, groups in name order and rows newest first. */
export function groupRows(rows: RemoteRow[], by: (r: RemoteRow) => string): [string, RemoteRow[]][] {
  const groups = new Map<string, RemoteRow[]>();
  for (const r of rows) groups.set(by(r), [...(groups.get(by(r)) ?? []), r]);
  for (const list of groups.values()) list.sort((a, b) => rowTime(b).getTime() - rowTime(a).getTime());
  return [...groups].sort(([a], [b]) => a.localeCompare(b));
}

export function remoteNodeId(n: RemoteNode): string {
  switch (n.kind) {
    case 'remote':
      return `remote:${n.remote.name}`;
    case 'remoteContainer':
      return `remote:${n.remote}>container:${n.container}`;
    case 'remoteDatabase':
      return `remote:${n.remote}>container:${n.container}>database:${n.database}`;
    case 'remoteBackup':
      return `remote:${n.remote}>object:${n.row.key}`;
    case 'remoteError':
      return `remote:${n.remote ?? ''}>error`;
    case 'remoteAction':
      return `remote:${n.remote ?? ''}>${n.action}`;
  }
}

function backupItem(n: Extract<RemoteNode, { kind: 'remoteBackup' }>): vscode.TreeItem {
  const r = n.row;
  const encrypted = rowEncrypted(r);
  const item = new vscode.TreeItem(r.file, vscode.TreeItemCollapsibleState.None);
  item.description = [age(rowTime(r)), formatBytes(r.bytes), encrypted ? 'encrypted' : '', r.hasSidecar ? '' : 'no sidecar'].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(encrypted ? 'lock' : 'cloud');
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${r.file}** on remote *${n.remote}*\n\n`);
  md.appendCodeblock(
    [
      `url:       ${r.url}`,
      `size:      ${formatBytes(r.bytes)}`,
      `created:   ${rowTime(r).toISOString()}`,
      `uploaded:  ${r.sidecar?.uploaded ?? r.modified.toISOString()}`,
      `encrypted: ${encrypted ? 'yes' : 'no'}`,
      r.sidecar ? `sha256:    ${r.sidecar.sha256}` : 'no sidecar: the upload did not finish, or it is not ours',
    ].join('\n'),
    'yaml',
  );
  item.tooltip = md;
  item.contextValue = encrypted ? 'remoteBackup.encrypted' : 'remoteBackup';
  return item;
}

export function remoteTreeItem(n: RemoteNode): vscode.TreeItem {
  const C = vscode.TreeItemCollapsibleState;
  let item: vscode.TreeItem;
  switch (n.kind) {
    case 'remote':
      item = new vscode.TreeItem(n.remote.name, C.Collapsed);
      item.description = n.remote.url;
      item.tooltip = `${n.remote.url}${n.remote.endpoint ? ` at ${n.remote.endpoint}` : ''}${n.remote.requireEncryption ? '\nonly encrypted backups are uploaded' : ''}`;
      item.iconPath = new vscode.ThemeIcon('cloud');
      item.contextValue = `remote.${n.remote.url.startsWith('gs:') ? 'gs' : 's3'}`;
      break;
    case 'remoteContainer':
      item = new vscode.TreeItem(n.container, C.Collapsed);
      item.description = `${n.rows.length}`;
      item.iconPath = new vscode.ThemeIcon('database');
      item.contextValue = 'remoteContainer';
      break;
    case 'remoteDatabase':
      item = new vscode.TreeItem(n.database, C.Collapsed);
      item.description = `${n.rows.length} · ${formatBytes(n.rows.reduce((s, r) => s + r.bytes, 0))}`;
      item.iconPath = new vscode.ThemeIcon('symbol-field');
      item.contextValue = 'remoteDatabase';
      break;
    case 'remoteBackup':
      item = backupItem(n);
      break;
    case 'remoteError':
      item = new vscode.TreeItem(n.message, C.None);
      item.tooltip = n.message;
      item.iconPath = new vscode.ThemeIcon('error');
      item.contextValue = 'remoteError';
      break;
    case 'remoteAction': {
      const [label, icon, command] = n.action === 'retry' ? ['Retry', 'refresh', 'pgDockerBackup.refreshRemotes'] : ['Set Remote Credentials…', 'key', 'pgDockerBackup.setRemoteCredentials'];
      item = new vscode.TreeItem(label, C.None);
      item.iconPath = new vscode.ThemeIcon(icon);
      item.command = { command, title: label, arguments: [n] };
      item.contextValue = 'remoteAction';
      break;
    }
  }
  item.id = remoteNodeId(n);
  return item;
}
