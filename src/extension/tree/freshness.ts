import * as vscode from 'vscode';
import type { BackupEntry } from '../../core/store/backupStore';
import { formatAge } from '../../core/status/duration';
import { assessFreshness } from '../../core/status/freshness';

/**
 * Marks a database row stale (warning icon, a line in the tooltip) when its newest backup is older than
 * `pgDockerBackup.maxBackupAge`, or when it has none. Pure on the model's data: no I/O.
 */
export function decorateFreshness(item: vscode.TreeItem, container: string, database: string, backups: readonly BackupEntry[], maxAge: { text: string; ms: number }, now = new Date()): vscode.TreeItem {
  const [row] = assessFreshness({ containers: [{ name: container, running: true, databases: [{ name: database }] }], backups, now, maxAgeMs: maxAge.ms });
  if (!row?.stale) return item;
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  const why = row.newest ? `Stale: the newest backup is ${formatAge(row.newest.ageMs)} old, more than ${maxAge.text} (pgDockerBackup.maxBackupAge).` : `Stale: no backup yet (pgDockerBackup.maxBackupAge is ${maxAge.text}).`;
  item.tooltip = `${typeof item.tooltip === 'string' ? item.tooltip : ''}\n\n${why}`.trim();
  item.description = [item.description, row.newest ? 'stale' : 'no backup'].filter(Boolean).join(' · ');
  return item;
}
