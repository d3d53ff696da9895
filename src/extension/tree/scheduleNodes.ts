import * as vscode from 'vscode';
import { cronProblem, describeCron } from '../../core/schedule/cronExpression';
import { describeTarget } from '../../core/schedule/scheduleEntries';
import type { Schedule, ScheduleView } from '../../core/schedule/scheduler';
import { formatAge } from '../../core/status/duration';

/** The "Schedules" section of the Containers tree and its rows (plain data; items made without I/O). */
export type ScheduleNode = { kind: 'schedules'; count: number } | { kind: 'schedule'; schedule: Schedule; view?: ScheduleView };

function when(d: Date | undefined, now: number): string {
  if (!d) return 'never';
  const ms = d.getTime() - now;
  return ms >= 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`;
}

function words(cron: string): string {
  return cronProblem(cron) ? `"${cron}" (invalid)` : describeCron(cron);
}

export function scheduleTreeItem(n: ScheduleNode, now = Date.now()): vscode.TreeItem {
  if (n.kind === 'schedules') {
    const item = new vscode.TreeItem('Schedules', vscode.TreeItemCollapsibleState.Expanded);
    item.id = 'schedules';
    item.description = `${n.count}`;
    item.iconPath = new vscode.ThemeIcon('watch');
    item.contextValue = 'schedules';
    item.tooltip = 'Backups run by pgDockerBackup.schedules while VS Code is open (one window runs them; a run missed while VS Code was closed runs once at start).';
    return item;
  }
  const { schedule: s, view: v } = n;
  const item = new vscode.TreeItem(`${words(s.cron)}: ${describeTarget(s)}`, vscode.TreeItemCollapsibleState.None);
  item.id = `schedule:${s.id}`;
  const failed = v?.lastOk === false;
  item.description = v?.problem ? 'invalid' : [`next ${when(v?.next, now)}`, `last ${when(v?.lastRun, now)}${v?.lastRun ? (failed ? ' ✗' : v.lastOk ? ' ✓' : ' …') : ''}`].join(' · ');
  item.iconPath = new vscode.ThemeIcon(v?.problem || failed ? 'error' : 'clock', v?.problem || failed ? new vscode.ThemeColor('errorForeground') : undefined);
  item.tooltip = new vscode.MarkdownString(
    [
      `**${words(s.cron)}** \`${s.cron}\``,
      `backs up ${describeTarget(s)} (${s.format})${s.pruneAfter ? ', then prunes' : ''}`,
      `next run: ${v?.next ? v.next.toLocaleString() : '—'}`,
      `last run: ${v?.lastRun ? `${v.lastRun.toLocaleString()} (${v.lastOk === undefined ? 'running' : v.lastOk ? 'ok' : 'failed'})` : 'never'}`,
      v?.lastError ? `last error: ${v.lastError}` : '',
      v?.problem ? `⚠ ${v.problem}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.contextValue = `schedule${failed ? '.failed' : ''}`;
  return item;
}
