import * as vscode from 'vscode';
import { formatBytes } from '../../core/progress';
import { executePrune, planPrune, type PruneItem, type PruneOptions, type PrunePlan } from '../../core/store/prune';
import { describePolicy } from '../../core/store/retention';
import type { Services } from '../services';
import { retentionPolicy } from '../settings';
import type { Node } from '../tree/nodes';
import { confirmModal, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';

/** Lines per group and in all shown in the modal; the full list goes to the log. */
export const MAX_PER_GROUP = 8;
export const MAX_LINES = 40;

/** Which backups a node stands for: a Backup Folder group, a container or database row, or everything. */
function scopeOf(node: Node | undefined): Pick<PruneOptions, 'container' | 'database' | 'folder'> & { label?: string } {
  if (node?.kind === 'folder') return { folder: node.path, label: node.label };
  if (node?.kind === 'database') return { container: node.container.name, database: node.database.name, label: `${node.container.name}/${node.database.name}` };
  if (node?.kind === 'container') return { container: node.container.name, label: node.container.name };
  return {};
}

function groupOf(item: PruneItem): string {
  return `${item.entry.container ?? '(no container)'} / ${item.entry.database ?? '?'}`;
}

/** One backup in a prune preview, local or remote. */
export interface PreviewItem {
  /** `container / database` */
  group: string;
  time: Date;
  bytes: number;
  name: string;
}

/** The deletions grouped by container and database: `db1 / app: 12 to delete, 40 kept` and a line per backup. */
export function groupedPreview(del: PreviewItem[], keptGroups: string[], maxPerGroup = Infinity, maxLines = Infinity): string {
  const groups = new Map<string, { del: PreviewItem[]; kept: number }>();
  for (const item of del) {
    const g = groups.get(item.group) ?? { del: [], kept: 0 };
    g.del.push(item);
    groups.set(item.group, g);
  }
  for (const group of keptGroups) {
    const g = groups.get(group);
    if (g) g.kept++;
  }
  const lines: string[] = [];
  for (const [name, g] of groups) {
    if (lines.length >= maxLines) {
      lines.push('…');
      break;
    }
    lines.push(`${name}: ${g.del.length} to delete, ${g.kept} kept`);
    for (const item of g.del.slice(0, maxPerGroup)) lines.push(`    ${item.time.toLocaleString()} · ${formatBytes(item.bytes)} · ${item.name}`);
    if (g.del.length > maxPerGroup) lines.push(`    … and ${g.del.length - maxPerGroup} more`);
  }
  return lines.join('\n');
}

/** The local deletions grouped by container and database (see groupedPreview). */
export function groupedDeletions(plan: PrunePlan, maxPerGroup = Infinity, maxLines = Infinity): string {
  const item = (i: PruneItem): PreviewItem => ({ group: groupOf(i), time: i.entry.created, bytes: i.entry.sizeBytes, name: i.entry.fileName });
  return groupedPreview(plan.delete.map(item), plan.keep.map(groupOf), maxPerGroup, maxLines);
}

/** Plans with the retention setting (a wrong setting is a usage error naming it). */
async function planWithSettings(services: Services, scope: ReturnType<typeof scopeOf>): Promise<PrunePlan> {
  const settings = services.settings;
  return planPrune({ dir: settings.backupDirectory, policy: retentionPolicy(settings.retention), ...scope });
}

export const pruneBackupsCommand: CommandHandler = async ({ services, model }, node) => {
  const scope = scopeOf(node);
  try {
    const plan = await planWithSettings(services, scope);
    const policy = describePolicy(plan.policy);
    const where = scope.label ? ` in ${scope.label}` : '';
    if (plan.delete.length === 0) {
      void vscode.window.showInformationMessage(`Nothing to prune${where}: all ${plan.keep.length} backups are kept by the retention policy (${policy}).`);
      return;
    }
    const bytes = plan.delete.reduce((n, d) => n + d.entry.sizeBytes, 0);
    services.logger.info(`prune plan (${policy})${where}:\n${groupedDeletions(plan)}\nkept: ${plan.keep.map((k) => `${k.entry.path} (${k.reasons.join(', ')})`).join('\n  ')}`);
    const n = plan.delete.length;
    const detail =
      `${groupedDeletions(plan, MAX_PER_GROUP, MAX_LINES)}\n\n` +
      `Policy: keep ${policy} (per container and database, local time; the newest verified backup is always kept). ` +
      `${plan.keep.length} backups are kept. The files and their manifests are deleted from disk; this cannot be undone. The full list is in the log.`;
    if (!(await confirmModal(`Delete ${n} old backup${n === 1 ? '' : 's'} (${formatBytes(bytes)})${where}?`, detail, 'Delete'))) return;
    const r = await runWithProgress(`Pruning ${n} backup${n === 1 ? '' : 's'}`, (signal) => executePrune(plan, { signal, logger: services.logger }));
    await model.refresh();
    const skipped = r.skipped.length ? ` ${r.skipped.length} left alone because they changed since (see the log).` : '';
    void vscode.window.showInformationMessage(`Deleted ${r.deleted.length} backup${r.deleted.length === 1 ? '' : 's'}.${skipped}`);
  } catch (e) {
    await model.refresh();
    await showError(services, e);
  }
};

/**
 * After a successful backup with `pgDockerBackup.pruneAfterBackup` on: prunes that database's group with the
 * retention setting, without asking (turning the setting on is the consent). Never fails the backup:
 * returns a sentence for the backup's message, or a warning.
 */
export async function pruneAfterBackup(services: Services, container: string, database: string): Promise<string> {
  try {
    const plan = await planWithSettings(services, { container, database });
    if (plan.delete.length === 0) return '';
    const r = await executePrune(plan, { logger: services.logger });
    return ` Pruned ${r.deleted.length} old backup${r.deleted.length === 1 ? '' : 's'} (keep ${describePolicy(plan.policy)}).`;
  } catch (e) {
    services.logger.warn(`prune after backup failed: ${e instanceof Error ? e.message : String(e)}`);
    return ` Pruning old backups failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}
