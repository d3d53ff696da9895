import * as vscode from 'vscode';
import { planUndo, undoRestore } from '../../core/undo';
import { confirmModal, confirmTyped, pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { notifyWithChecks } from './runChecks';

/** Also called with `{ kind: 'undoTarget', container, database }` from the notification after a restore. */
export const undoRestoreCommand: CommandHandler = async ({ services, model }, node) => {
  const target = node as unknown as { kind?: string; container?: unknown; database?: unknown } | undefined;
  let container: string | undefined;
  let database: string | undefined;
  if (target?.kind === 'undoTarget') {
    container = target.container as string;
    database = target.database as string;
  } else if (node?.kind === 'database' || node?.kind === 'container') {
    container = node.container.name;
    database = node.kind === 'database' ? node.database.name : undefined;
  }
  if (!container) {
    const c = await pickContainer(model, 'Undo the last restore in which container?');
    if (!c) return;
    container = c.name;
  }
  if (!database) {
    const c = model.containerByName(container);
    database = c ? await pickDatabase(c, 'Undo the last restore of which database?') : undefined;
    if (!database) return;
  }
  try {
    const plan = await planUndo(services.docker, { container, database, logger: services.logger, discovery: services.discovery() });
    if (!(await confirmModal(`Undo the last restore of "${plan.database}" in ${plan.container.name}?`, plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n'), 'Undo Restore'))) return;
    if (plan.container.protected && !(await confirmTyped(plan.container.name, plan.database, 'undo the restore'))) return;
    await runWithProgress(`Undoing the restore of ${plan.database}`, (signal, onProgress) => undoRestore(services.docker, plan, { signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }));
    await model.refresh();
    const again = { kind: 'undoTarget', container: plan.container.name, database: plan.database };
    await notifyWithChecks(services, `"${plan.database}" is back as it was before the restore; the restored one is kept as "${plan.currentKeptAs}".`, { container: plan.container.name, database: plan.database }, {
      label: 'Undo',
      run: () => vscode.commands.executeCommand('pgDockerBackup.undoRestore', again),
    });
  } catch (e) {
    await model.refresh();
    await showError(services, e, container);
  }
};
