import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeEncoding, lastVerification } from '../../core/backup/manifest';
import type { BackupEntry } from '../../core/store/backupStore';
import type { PgContainer } from '../../core/postgres/discovery';
import { sideDatabaseKind } from '../../core/databases/sideDatabases';
import type { DatabaseInfo } from '../../core/postgres/client';
import { formatBytes } from '../../core/progress';
import { age } from './age';
import { remoteNodeId, remoteTreeItem, type RemoteNode } from './remoteNodes';
import { scheduleTreeItem, type ScheduleNode } from './scheduleNodes';
import { pitrTreeItem, type PitrRowData } from './pitrRow';

/** Plain data for each row; TreeItems are made from it without any I/O. */
export type Node =
  | { kind: 'project'; project: string; containers: PgContainer[] }
  | { kind: 'container'; container: PgContainer }
  | { kind: 'database'; container: PgContainer; database: DatabaseInfo }
  | { kind: 'backup'; backup: BackupEntry; parentId: string }
  | { kind: 'folder'; label: string; path: string; children: Node[]; parentId: string }
  | { kind: 'message'; id: string; label: string; icon: string; tooltip?: string }
  | ScheduleNode
  | ({ kind: 'pitr' } & PitrRowData)
  | RemoteNode;

function formatLabel(b: BackupEntry): string {
  if (b.format === 'unknown') return 'unknown format';
  if (b.format === 'directory') return 'directory';
  return b.format === 'sql' ? (b.gzipped ? 'sql.gz' : 'sql') : b.gzipped ? 'custom.gz' : 'custom';
}

/** verified / failed / never verified, from the manifest's last verification (none without a manifest). */
export function verificationState(b: BackupEntry): { state: 'verified' | 'failed' | 'never'; line: string } {
  const v = lastVerification(b.manifest);
  if (!v) return { state: 'never', line: b.manifest ? 'Never verified (Verify Backup checks it).' : 'Never verified (no manifest: a verify does not record its result).' };
  const when = `${v.kind} verify ${age(new Date(v.at))}`;
  return v.ok ? { state: 'verified', line: `Verified: ${when}.` } : { state: 'failed', line: `FAILED ${when}: ${v.detail ?? ''}` };
}

function backupTooltip(b: BackupEntry): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${b.fileName}**\n\n`);
  md.appendMarkdown(`${verificationState(b).line.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}\n\n`);
  if (b.manifest) {
    const m = b.manifest;
    md.appendCodeblock(
      [
        `container:   ${m.container} (${m.image})`,
        `database:    ${m.database}`,
        `format:      ${m.format}, ${describeEncoding(m)}`,
        `size:        ${formatBytes(m.bytes)}`,
        `sha256:      ${m.sha256}`,
        `created:     ${m.created}`,
        `duration:    ${m.durationMs} ms`,
        `server:      ${m.serverVersion}`,
        `pg_dump:     ${m.pgDumpVersion}`,
        ...(m.composeProject ? [`compose:     ${m.composeProject}/${m.composeService ?? ''}`] : []),
        ...(m.options.tables.length ? [`tables only: ${m.options.tables.join(', ')}`] : []),
        `tables (${m.rowCounts} rows):`,
        ...m.tables.slice(0, 30).map((t) => `  ${t.schema}.${t.name}: ${t.rows}`),
        ...(m.tables.length > 30 ? [`  … ${m.tables.length - 30} more`] : []),
      ].join('\n'),
      'yaml',
    );
  } else {
    md.appendMarkdown(`No manifest: recognised by its content as **${formatLabel(b)}**${b.pgDumpVersion ? ` (pg_dump ${b.pgDumpVersion})` : ''}.\n\n`);
    md.appendMarkdown(`${formatBytes(b.sizeBytes)}, modified ${b.modified.toISOString()}\n\n\`${b.path}\``);
  }
  return md;
}

export function nodeId(n: Node): string {
  switch (n.kind) {
    case 'project':
      return `project:${n.project}`;
    case 'container':
      return `container:${n.container.name}`;
    case 'database':
      return `database:${n.container.name}/${n.database.name}`;
    case 'backup':
      return `${n.parentId}>backup:${n.backup.path}`;
    case 'folder':
      return `${n.parentId}>folder:${n.path}`;
    case 'message':
      return `message:${n.id}`;
    case 'schedules':
      return 'schedules';
    case 'schedule':
      return `schedule:${n.schedule.id}`;
    case 'pitr':
      return `pitr:${n.container.name}`;
    default:
      return remoteNodeId(n);
  }
}

export function toTreeItem(n: Node, childCount: (n: Node) => number): vscode.TreeItem {
  const C = vscode.TreeItemCollapsibleState;
  switch (n.kind) {
    case 'project': {
      const item = new vscode.TreeItem(n.project, C.Expanded);
      item.description = 'compose project';
      item.iconPath = new vscode.ThemeIcon('layers');
      item.contextValue = 'composeProject';
      return withId(item, n);
    }
    case 'container':
      return withId(containerItem(n.container), n);
    case 'database': {
      const d = n.database;
      const side = sideDatabaseKind(d.name);
      const item = new vscode.TreeItem(d.name, childCount(n) > 0 ? C.Collapsed : C.None);
      item.description = [d.sizeBytes >= 0 ? formatBytes(d.sizeBytes) : '', side === 'before_restore' ? 'kept for undo' : side === 'restoring' ? 'restore in progress' : side === 'verify' ? 'verify in progress' : '', d.connections ? `${d.connections} session${d.connections === 1 ? '' : 's'}` : '']
        .filter(Boolean)
        .join(' · ');
      item.iconPath = new vscode.ThemeIcon(side ? 'history' : 'symbol-field');
      item.tooltip = `${d.name}\nowner ${d.owner}\n${d.connections} other session(s)`;
      item.contextValue = side ? 'pgDatabase.side' : 'pgDatabase';
      return withId(item, n);
    }
    case 'backup':
      return withId(backupItem(n.backup), n);
    case 'folder': {
      const item = new vscode.TreeItem(n.label, C.Collapsed);
      item.iconPath = vscode.ThemeIcon.Folder;
      item.resourceUri = vscode.Uri.file(n.path);
      item.description = `${childCount(n)}`;
      item.contextValue = 'backupFolder';
      return withId(item, n);
    }
    case 'pitr':
      return withId(pitrTreeItem(n), n);
    case 'message': {
      const item = new vscode.TreeItem(n.label, C.None);
      item.iconPath = new vscode.ThemeIcon(n.icon);
      item.tooltip = n.tooltip;
      item.contextValue = 'message';
      return withId(item, n);
    }
    case 'schedules':
    case 'schedule':
      return scheduleTreeItem(n);
    default:
      return remoteTreeItem(n);
  }
}

/** A container row: state and version, a warning when its server cannot be read, the details in the tooltip. */
function containerItem(c: PgContainer): vscode.TreeItem {
  const C = vscode.TreeItemCollapsibleState;
  const item = new vscode.TreeItem(c.name, c.running ? C.Expanded : C.None);
  const version = c.server ? `PostgreSQL ${c.server.version.split(' ')[0]}` : '';
  item.description = [c.running ? version : c.state, c.protected ? 'protected' : '', c.problem ? '⚠ ' + c.problem.slice(0, 60) : ''].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(c.running ? (c.problem ? 'warning' : 'database') : 'debug-stop', c.running ? undefined : new vscode.ThemeColor('disabledForeground'));
  item.tooltip = new vscode.MarkdownString(
    [
      `**${c.name}** — ${c.state}`,
      `image \`${c.image}\``,
      c.server ? `server ${c.server.version}` : '',
      c.composeProject ? `compose ${c.composeProject}/${c.composeService ?? ''}` : '',
      `user \`${c.user}\`, password from ${c.passwordSource}`,
      c.appContainers.length ? `app containers: ${c.appContainers.map((a) => a.name).join(', ')}` : 'no app containers',
      c.problem ? `⚠ ${c.problem}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.contextValue = `pgContainer.${c.running ? 'running' : 'stopped'}${c.protected ? '.protected' : ''}`;
  return item;
}

/** A backup row: age, size, format, encrypted, verified / failed at a glance; the manifest in the tooltip. */
function backupItem(b: BackupEntry): vscode.TreeItem {
  const C = vscode.TreeItemCollapsibleState;
  const item = new vscode.TreeItem(path.basename(b.fileName), C.None);
  const encrypted = b.manifest ? b.manifest.stages.some((s) => s.kind === 'encrypt') : b.fileName.endsWith('.age');
  const verified = verificationState(b).state;
  const mark = verified === 'verified' ? ' · ✓ verified' : verified === 'failed' ? ' · ✗ verify failed' : '';
  item.description = `${age(b.created)} · ${formatBytes(b.sizeBytes)} · ${formatLabel(b)}${encrypted ? ' · encrypted' : ''}${b.source === 'detected' ? ' · no manifest' : ''}${mark}`;
  item.tooltip = backupTooltip(b);
  // verified / failed at a glance; otherwise what the file is (encrypted, unknown, a backup)
  item.iconPath =
    verified === 'verified'
      ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
      : verified === 'failed'
        ? new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'))
        : new vscode.ThemeIcon(encrypted ? 'lock' : b.format === 'unknown' ? 'question' : 'archive');
  item.resourceUri = vscode.Uri.file(b.path);
  item.contextValue = b.format === 'unknown' ? 'backup.unknown' : 'backup.local';
  return item;
}

function withId(item: vscode.TreeItem, n: Node): vscode.TreeItem {
  item.id = nodeId(n);
  return item;
}
