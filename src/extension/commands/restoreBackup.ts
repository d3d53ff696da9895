import * as vscode from 'vscode';
import { isPgBackupError } from '../../core/errors';
import { formatDuration } from '../../core/progress';
import { executeRestore } from '../../core/restore/execute';
import { planRestore } from '../../core/restore/plan';
import type { BackupEntry } from '../../core/store/backupStore';
import type { Services } from '../services';
import type { BackupModel } from '../model';
import { confirmModal, confirmTyped, pickBackup, pickContainer, runWithProgress, showError } from '../ui';
import type { KeyMaterial } from '../../core/pipeline/stage';
import { storedKeys } from '../encryptionKeys';
import type { CommandHandler } from './context';
import { notifyWithChecks } from './runChecks';

/** The refusal of the meta-command gate (a plain backup holding psql commands that run outside the database). */
const META_REFUSAL = /psql meta-command|cannot tell what psql would run|cannot tell which lines psql/;

/** Where the backup goes: its manifest's container and database, else asked for. */
async function targetOf(model: BackupModel, backup: BackupEntry): Promise<{ to: string; database: string } | undefined> {
  let to = backup.container;
  if (!to || !model.containerByName(to)) {
    await model.ensureLoaded();
    const c = await pickContainer(model, `Restore ${backup.fileName} into which container?`);
    if (!c) return undefined;
    to = c.name;
  }
  const database = backup.database ?? (await vscode.window.showInputBox({ title: 'Restore Backup', prompt: `Restore ${backup.fileName} into which database of ${to}?`, ignoreFocusOut: true }));
  return database ? { to, database } : undefined;
}

/** Plans, confirms and runs one restore; true when it ran. */
async function restoreOnce(services: Services, model: BackupModel, backup: BackupEntry, to: string, database: string, allowMetaCommands: boolean, keys: KeyMaterial): Promise<boolean> {
  const plan = await planRestore(services.docker, {
    keys,
    backupPath: backup.path,
    to,
    database,
    dropPrevious: !services.settings.keepPreviousDatabase,
    jobs: services.settings.restoreJobs,
    allowMetaCommands,
    logger: services.logger,
    discovery: services.discovery(),
  });
  const ok = await confirmModal(`Restore ${backup.fileName} into "${plan.database}" in ${plan.container.name}?`, plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n'), 'Restore');
  if (!ok) return false;
  if (plan.container.protected && !(await confirmTyped(plan.container.name, plan.database, 'restore over it'))) return false;
  const r = await runWithProgress(`Restoring ${backup.fileName} into ${plan.database}`, (signal, onProgress) =>
    executeRestore(services.docker, plan, { keys, signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }),
  );
  await model.refresh();
  const msg = `Restored "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)}${plan.stopContainers.length ? ` (apps down ${formatDuration(r.downtimeMs)})` : ''}.${r.keptPrevious ? ` The previous database is kept as "${r.keptPrevious}".` : ''}`;
  for (const w of r.warnings) void vscode.window.showWarningMessage(w);
  const undo = r.keptPrevious
    ? { label: 'Undo', run: () => vscode.commands.executeCommand('pgDockerBackup.undoRestore', { kind: 'undoTarget', container: plan.container.name, database: plan.database }) }
    : undefined;
  await notifyWithChecks(services, msg, { container: plan.container.name, database: plan.database, backupPath: plan.backup.path }, undo);
  return true;
}

export const restoreBackupCommand: CommandHandler = async ({ extension, services, model }, node) => {
  const backup = node?.kind === 'backup' ? node.backup : await pickBackup(model, 'Restore which backup?');
  if (!backup) return;
  const target = await targetOf(model, backup);
  if (!target) return;
  let keys: KeyMaterial = {};
  try {
    keys = await storedKeys(extension.secrets); // for an encrypted backup (Set Encryption Passphrase or Identity…)
    await restoreOnce(services, model, backup, target.to, target.database, false, keys);
  } catch (e) {
    await model.refresh();
    // A plain backup with psql meta-commands: nothing ran. Only an explicit choice lets them run.
    if (isPgBackupError(e, 'refused') && META_REFUSAL.test(e.message)) {
      const run = 'Restore and Run Them';
      const detail = `${e.message}\n\npsql meta-commands run outside the database: \\! runs a shell command in the container, \\o and \\copy … program write files or run programs, \\connect leaves the scratch database. Only go on if you trust where this file came from.`;
      if ((await vscode.window.showWarningMessage('This backup holds psql commands that would run outside the database.', { modal: true, detail }, run)) !== run) return;
      try {
        await restoreOnce(services, model, backup, target.to, target.database, true, keys);
      } catch (e2) {
        await model.refresh();
        await showError(services, e2, target.to);
      }
      return;
    }
    await showError(services, e, target.to);
  }
};
