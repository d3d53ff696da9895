import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import { pitrStatus, type PitrStatus } from '../../core/pitr/status';
import type { PgContainer } from '../../core/postgres/discovery';
import type { Services } from '../services';

/** The point-in-time recovery row under a running container: plain data. */
export interface PitrRowData {
  container: PgContainer;
  status?: PitrStatus;
  error?: string;
}

/**
 * The recovery status of each container, read in the background (a few execs in the container) the first
 * time its row is shown, and forgotten on every refresh of the tree.
 */
export class PitrStatusCache {
  private readonly entries = new Map<string, { status?: PitrStatus; error?: string; loading: boolean }>();
  constructor(private readonly services: Services, private readonly onLoaded: () => void) {}

  row(container: PgContainer): PitrRowData {
    const e = this.entries.get(container.name);
    if (!e) this.load(container);
    return { container, status: e?.status, error: e?.error };
  }

  clear(): void {
    this.entries.clear();
  }

  private load(container: PgContainer): void {
    const entry: { status?: PitrStatus; error?: string; loading: boolean } = { loading: true };
    this.entries.set(container.name, entry);
    pitrStatus(this.services.docker, { container: container.name, dir: this.services.settings.backupDirectory, logger: this.services.logger, discovery: this.services.discovery() })
      .then((s) => (entry.status = s), (e: unknown) => (entry.error = errorMessage(e)))
      .finally(() => {
        entry.loading = false;
        if (this.entries.get(container.name) === entry) this.onLoaded();
      });
  }
}

const shortTime = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export function pitrTreeItem(r: PitrRowData): vscode.TreeItem {
  const item = new vscode.TreeItem('Point-in-time recovery', vscode.TreeItemCollapsibleState.None);
  const s = r.status;
  if (!s) {
    item.description = r.error ? `⚠ ${r.error.slice(0, 60)}` : 'checking…';
    item.iconPath = new vscode.ThemeIcon(r.error ? 'warning' : 'loading~spin');
    item.contextValue = 'pitr.unknown';
    item.tooltip = r.error;
    return item;
  }
  const failing = s.archiver.failingNow ? ' · ⚠ archiving failing' : '';
  if (!s.enabled) {
    item.description = 'WAL archiving off';
    item.iconPath = new vscode.ThemeIcon('circle-slash');
    item.contextValue = 'pitr.off';
  } else {
    item.description = s.window ? `${shortTime(s.window.from)} → ${shortTime(s.window.to)}${failing}` : `no window: ${s.windowProblem ?? '?'}${failing}`;
    item.iconPath = new vscode.ThemeIcon(s.window && !failing ? 'history' : 'warning');
    item.contextValue = s.window ? 'pitr.on' : 'pitr.noWindow';
  }
  item.tooltip = new vscode.MarkdownString(
    [
      `**WAL archiving** ${s.enabled ? 'on' : 'off'}: wal_level \`${s.settings.walLevel}\`, archive_mode \`${s.settings.archiveMode}\``,
      `archive_command \`${s.settings.archiveCommand || '(empty)'}\``,
      ...s.problems.map((p) => `⚠ ${p}`),
      s.archive ? `archive: ${s.archive.description}, ${s.archive.segments} segments${s.archive.missing.length ? `, **${s.archive.missing.length} missing**` : ''}` : '',
      `archiver: last archived ${s.archiver.lastArchivedWal ?? 'none'}${s.archiver.lastFailedWal ? `, last failed ${s.archiver.lastFailedWal} at ${s.archiver.lastFailedTime}` : ''}`,
      `${s.baseBackups.length} base backup(s)`,
      s.window ? `recoverable: ${new Date(s.window.from).toLocaleString()} → ${new Date(s.window.to).toLocaleString()}` : `no recoverable window: ${s.windowProblem ?? ''}`,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  return item;
}
