import * as vscode from 'vscode';
import { formatBytes } from '../../core/progress';
import { executeRemotePrune, planRemotePrune, type RemotePruneItem, type RemotePrunePlan } from '../../core/store/remote/remotePrune';
import { describePolicy } from '../../core/store/retention';
import { retentionPolicy } from '../settings';
import type { Node } from '../tree/nodes';
import { NO_CONTAINER, NO_DATABASE, rowTime } from '../tree/remoteNodes';
import { confirmModal, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { MAX_LINES, MAX_PER_GROUP, groupedPreview, type PreviewItem } from './pruneBackups';
import { pickRemote } from './remotePicks';

/** Which remote backups a row stands for: a remote, one container's or one database's. */
function scopeOf(node?: Node): { remote?: string; container?: string; database?: string; label?: string } {
  if (node?.kind === 'remote') return { remote: node.remote.name, label: node.remote.name };
  if (node?.kind === 'remoteContainer') return { remote: node.remote, container: node.container, label: `${node.remote}: ${node.container}` };
  if (node?.kind === 'remoteDatabase') return { remote: node.remote, container: node.container, database: node.database, label: `${node.remote}: ${node.container}/${node.database}` };
  return {};
}

const groupOf = (i: RemotePruneItem) => `${i.backup.container ?? NO_CONTAINER} / ${i.backup.database ?? '?'}`;
const previewOf = (i: RemotePruneItem): PreviewItem => ({ group: groupOf(i), time: rowTime(i.backup), bytes: i.backup.bytes, name: i.backup.file });

/** The remote deletions grouped by container and database, as Prune Backups shows local ones. */
export function groupedRemoteDeletions(plan: RemotePrunePlan, maxPerGroup = Infinity, maxLines = Infinity): string {
  return groupedPreview(plan.delete.map(previewOf), plan.keep.map(groupOf), maxPerGroup, maxLines);
}

/** Prune Remote…: the retention setting applied to a remote's backups (as a local prune), after one grouped modal. */
export const pruneRemoteCommand: CommandHandler = async ({ services, remotes }, node) => {
  const scope = scopeOf(node);
  if (scope.container === NO_CONTAINER || scope.database === NO_DATABASE) {
    void vscode.window.showInformationMessage('Objects that are not in a <container>/<database> folder and have no sidecar are not backups of this tool: prune never deletes them.');
    return;
  }
  const remote = scope.remote ?? (await pickRemote(remotes, 'Prune the backups of which remote?'))?.name;
  if (!remote) return;
  const where = ` on remote "${scope.label ?? remote}"`;
  try {
    const policy = retentionPolicy(services.settings.retention);
    await remotes.withStore(remote, async (store) => {
      const plan = await runWithProgress(`Listing the backups on ${remote}`, (signal) => planRemotePrune(store, { policy, container: scope.container, database: scope.database, signal }));
      const described = describePolicy(plan.policy);
      if (plan.delete.length === 0) {
        void vscode.window.showInformationMessage(`Nothing to prune${where}: all ${plan.keep.length} backups are kept by the retention policy (${described}).`);
        return;
      }
      const n = plan.delete.length;
      const bytes = plan.delete.reduce((s, d) => s + d.backup.bytes, 0);
      services.logger.info(`remote prune plan (${described})${where}:\n${groupedRemoteDeletions(plan)}\nkept: ${plan.keep.map((k) => `${k.backup.url} (${k.reasons.join(', ')})`).join('\n  ')}`);
      const detail =
        `${groupedRemoteDeletions(plan, MAX_PER_GROUP, MAX_LINES)}\n\n` +
        `Policy: keep ${described} (per container and database, local time; the newest verified backup is always kept). ` +
        `${plan.keep.length} backups are kept. The objects and their sidecars are deleted from the bucket; this cannot be undone. The full list is in the log.`;
      if (!(await confirmModal(`Delete ${n} old backup${n === 1 ? '' : 's'} (${formatBytes(bytes)})${where}?`, detail, 'Delete'))) return;
      const deleted = await runWithProgress(`Pruning ${n} backup${n === 1 ? '' : 's'} on ${remote}`, () => executeRemotePrune(store, plan, services.logger));
      void vscode.window.showInformationMessage(`Deleted ${deleted.length} backup${deleted.length === 1 ? '' : 's'}${where}.`);
    });
  } catch (e) {
    await showError(services, e);
  } finally {
    remotes.invalidate(remote);
  }
};
