import * as vscode from 'vscode';
import { planReset, resetDatabase } from '../../core/reset';
import { archivingOn } from '../../core/pitr/mark';
import { formatBytes } from '../../core/progress';
import { describeBackup } from '../../core/store/backupStore';
import { restorePointBefore } from './pitr';
import { confirmTyped, pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { notifyWithChecks } from './runChecks';

const MARK_THEN_RESET = 'Mark Restore Point, Then Reset';

export const resetDatabaseCommand: CommandHandler = async ({ services, model }, node) => {
  let container = node?.kind === 'container' || node?.kind === 'database' ? node.container : undefined;
  container ??= await pickContainer(model, 'Reset a database of which container?');
  if (!container) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(container, `Reset which database of ${container.name}?`);
  if (!database) return;
  const safety = services.settings.safetyBackupBeforeReset;
  try {
    const plan = await planReset(services.docker, { container: container.name, database, dir: services.settings.backupDirectory, noSafetyBackup: !safety, logger: services.logger, discovery: services.discovery() });
    const apps = plan.restartContainers.map((a) => a.name);
    // With WAL archiving on, a restore point first makes the reset recoverable to the second (Recover to a Point in Time).
    const archiving = await archivingOn(services.docker, { container: plan.container.name, logger: services.logger, discovery: services.discovery() });
    const detail = [
      `All data in "${plan.database}" (${formatBytes(Math.max(0, plan.sizeBytes))}) is deleted; it is created again empty, owned by "${plan.owner}".`,
      safety ? `A safety backup is written first to ${services.settings.backupDirectory}.` : 'No safety backup is taken (pgDockerBackup.safetyBackupBeforeReset is off).',
      apps.length ? `These app containers are stopped and started again (their migrations run): ${apps.join(', ')}.` : 'No app container restarts.',
      archiving ? `${plan.container.name} archives WAL: "Mark Restore Point, Then Reset" creates a named restore point first, to recover to with Recover to a Point in Time.` : '',
    ].filter(Boolean).join('\n\n');
    const buttons = [...(archiving ? [MARK_THEN_RESET] : []), ...(safety ? ['Reset', 'Reset Without Safety Backup'] : ['Reset'])];
    const choice = await vscode.window.showWarningMessage(`Reset "${plan.database}" in ${plan.container.name}?`, { modal: true, detail }, ...buttons);
    if (!choice) return;
    if (container.protected && !(await confirmTyped(container.name, plan.database, 'reset it'))) return;
    const noSafetyBackup = !safety || choice === 'Reset Without Safety Backup';
    const mark = choice === MARK_THEN_RESET ? await restorePointBefore(services, plan.container.name, 'reset', plan.database) : undefined;
    const r = await runWithProgress(`Resetting ${plan.database}`, (signal, onProgress) =>
      resetDatabase(services.docker, { ...plan, safetyBackup: !noSafetyBackup }, {
        container: plan.container.name,
        database: plan.database,
        dir: services.settings.backupDirectory,
        noSafetyBackup,
        signal,
        onProgress,
        logger: services.logger,
        discovery: services.discovery(signal),
      }),
    );
    await model.refresh();
    for (const w of r.warnings) void vscode.window.showWarningMessage(w);
    const kept = r.safetyBackup;
    // Undo of a reset: restore its safety backup (the restore's own modal says what happens).
    const undo = kept
      ? { label: 'Undo', run: async () => vscode.commands.executeCommand('pgDockerBackup.restoreBackup', { kind: 'backup', backup: await describeBackup(kept.path), parentId: '' }) }
      : undefined;
    await notifyWithChecks(services, `"${plan.database}" in ${plan.container.name} is empty again.${kept ? ` Safety backup: ${kept.path}` : ''}${mark ? ` Restore point: "${mark}".` : ''}`, { container: plan.container.name, database: plan.database }, undo);
  } catch (e) {
    await model.refresh();
    await showError(services, e, container.name);
  }
};
