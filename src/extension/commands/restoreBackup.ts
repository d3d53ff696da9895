import * as vscode from 'vscode';
import { executeRestore } from '../../core/restore/execute';
import { planRestore } from '../../core/restore/plan';
import { formatDuration } from '../../core/progress';
import { confirmModal, confirmTyped, pickBackup, pickContainer, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';

export const restoreBackupCommand: CommandHandler = async ({ services, model }, node) => {
  const backup = node?.kind === 'backup' ? node.backup : await pickBackup(model, 'Restore which backup?');
  if (!backup) return;
  let to = backup.container;
  let database = backup.database;
  // A runbook file without a manifest: ask where it goes.
  if (!to || !model.containerByName(to)) {
    await model.ensureLoaded();
    const c = await pickContainer(model, `Restore ${backup.fileName} into which container?`);
    if (!c) return;
    to = c.name;
  }
  if (!database) {
    database = await vscode.window.showInputBox({ title: 'Restore Backup', prompt: `Restore ${backup.fileName} into which database of ${to}?`, ignoreFocusOut: true });
    if (!database) return;
  }
  try {
    const plan = await planRestore(services.docker, {
      backupPath: backup.path,
      to,
      database,
      dropPrevious: !services.settings.keepPreviousDatabase,
      jobs: services.settings.restoreJobs,
      logger: services.logger,
      discovery: services.discovery(),
    });
    const ok = await confirmModal(`Restore ${backup.fileName} into "${plan.database}" in ${plan.container.name}?`, plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n'), 'Restore');
    if (!ok) return;
    if (plan.container.protected && !(await confirmTyped(plan.container.name, plan.database, 'restore over it'))) return;
    const r = await runWithProgress(`Restoring ${backup.fileName} into ${plan.database}`, (signal, onProgress) =>
      executeRestore(services.docker, plan, { signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }),
    );
    await model.refresh();
    const msg = `Restored "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)}${plan.stopContainers.length ? ` (apps down ${formatDuration(r.downtimeMs)})` : ''}.${r.keptPrevious ? ` The previous database is kept as "${r.keptPrevious}".` : ''}`;
    for (const w of r.warnings) void vscode.window.showWarningMessage(w);
    const choice = r.keptPrevious ? await vscode.window.showInformationMessage(msg, 'Undo Restore') : await vscode.window.showInformationMessage(msg);
    if (choice === 'Undo Restore') {
      await vscode.commands.executeCommand('pgDockerBackup.undoRestore', { kind: 'undoTarget', container: plan.container.name, database: plan.database });
    }
  } catch (e) {
    await model.refresh();
    await showError(services, e, to);
  }
};
