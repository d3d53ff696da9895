import * as vscode from 'vscode';
import { isPgBackupError } from '../../core/errors';
import { takeBaseBackup } from '../../core/pitr/baseBackup';
import { pitrEnableAdvice } from '../../core/pitr/enable';
import { createRestorePoint, restorePointNameFor } from '../../core/pitr/mark';
import { executePitrRestore, planPitrRestore } from '../../core/pitr/restore';
import { pitrStatus, type PitrStatus } from '../../core/pitr/status';
import { formatBoth, formatLocal, parseTargetTime } from '../../core/pitr/time';
import type { PgContainer } from '../../core/postgres/discovery';
import { formatBytes, formatDuration } from '../../core/progress';
import type { Services } from '../services';
import type { Node } from '../tree/nodes';
import { confirmModal, confirmTyped, pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandContext, CommandHandler } from './context';
import { matchesContainerPattern, recipientStages, storedKeys } from '../encryptionKeys';
import { describePitrPrune, executePitrPrune, planPitrPrune } from '../../core/pitr/prune';
import { describePolicy } from '../../core/store/retention';
import { retentionPolicy } from '../settings';
import { PgBackupError } from '../../core/errors';

async function containerOf({ model }: CommandContext, node: Node | undefined, question: string): Promise<PgContainer | undefined> {
  if (node && (node.kind === 'container' || node.kind === 'database' || node.kind === 'pitr')) return node.container;
  return pickContainer(model, question);
}

function statusOf(services: Services, container: string): Thenable<PitrStatus> {
  return runWithProgress(`Reading the WAL archive of ${container}`, (signal) =>
    pitrStatus(services.docker, { container, dir: services.settings.backupDirectory, signal, logger: services.logger, discovery: services.discovery(signal) }),
  );
}

/** Opens the compose override and the steps in an untitled editor; changes nothing. */
export const pitrEnableCommand: CommandHandler = async (ctx, node) => {
  const c = await containerOf(ctx, node, 'Show how to turn on WAL archiving for which container?');
  if (!c) return;
  try {
    const advice = await pitrEnableAdvice(ctx.services.docker, { container: c.name, logger: ctx.services.logger, discovery: ctx.services.discovery() });
    const doc = await vscode.workspace.openTextDocument({ language: 'yaml', content: advice.text });
    await vscode.window.showTextDocument(doc, { preview: false });
  } catch (e) {
    await showError(ctx.services, e, c.name);
  }
};

export const pitrBaseBackupCommand: CommandHandler = async (ctx, node) => {
  const c = await containerOf(ctx, node, 'Take a base backup of which container?');
  if (!c) return;
  try {
    // encrypted like Back Up: a base backup holds every database of the cluster
    const settings = ctx.services.settings;
    const hostStages = await recipientStages(settings.encryptionRecipients);
    if (!hostStages.length && matchesContainerPattern(c.name, settings.encryptionRequiredFor)) {
      throw new PgBackupError('refused', `Backups of ${c.name} must be encrypted (pgDockerBackup.encryption.requiredFor): set pgDockerBackup.encryption.recipients. Nothing was written.`);
    }
    const r = await runWithProgress(`Base backup of ${c.name}`, (signal, onProgress) =>
      takeBaseBackup(ctx.services.docker, { container: c.name, dir: settings.backupDirectory, hostStages, signal, onProgress, logger: ctx.services.logger, discovery: ctx.services.discovery(signal) }),
    );
    await ctx.model.refresh();
    void vscode.window.showInformationMessage(`Base backup of ${c.name} written (${formatBytes(r.bytes)}): recoverable from ${formatLocal(new Date(r.manifest.consistentAt))} on.`);
  } catch (e) {
    await showError(ctx.services, e, c.name);
  }
};

export const pitrMarkCommand: CommandHandler = async (ctx, node) => {
  const c = await containerOf(ctx, node, 'Create a restore point in which container?');
  if (!c) return;
  const name = await vscode.window.showInputBox({ title: 'Create Restore Point', prompt: `A name to recover ${c.name} to later`, value: restorePointNameFor('change', c.defaultDatabase, new Date()), ignoreFocusOut: true });
  if (!name) return;
  try {
    const r = await createRestorePoint(ctx.services.docker, { container: c.name, name, logger: ctx.services.logger, discovery: ctx.services.discovery() });
    void vscode.window.showInformationMessage(`Restore point "${r.name}" created in ${r.container} at ${r.lsn}.`);
  } catch (e) {
    await showError(ctx.services, e, c.name);
  }
};

/** Before a risky operation: a restore point when archiving is on (best effort; undefined when there is none). */
export async function restorePointBefore(services: Services, container: string, what: string, database: string): Promise<string | undefined> {
  try {
    const r = await createRestorePoint(services.docker, { container, name: restorePointNameFor(what, database, new Date()), logger: services.logger, discovery: services.discovery() });
    return r.name;
  } catch (e) {
    services.logger.warn(`no restore point before ${what} of ${database}: ${isPgBackupError(e) ? e.message : String(e)}`);
    return undefined;
  }
}

/** The input box's verdict on a typed time: undefined when it is inside the window. */
export function validateTargetTime(text: string, window: { from: string; to: string }): string | undefined {
  let d: Date;
  try {
    d = parseTargetTime(text);
  } catch (e) {
    return isPgBackupError(e) ? e.message : String(e);
  }
  const t = d.getTime();
  if (t < Date.parse(window.from) || t > Date.parse(window.to)) return `${formatBoth(d)} is outside the recoverable window ${formatLocal(new Date(window.from))} → ${formatLocal(new Date(window.to))}.`;
  return undefined;
}

async function askTime(c: PgContainer, database: string, s: PitrStatus): Promise<string | undefined> {
  const w = s.window!;
  const to = formatLocal(new Date(w.to)).slice(0, 19);
  return vscode.window.showInputBox({
    title: `Recover "${database}" in ${c.name} to a point in time`,
    prompt: `Local time (or with an offset, e.g. +00). Recoverable: ${formatLocal(new Date(w.from))} → ${formatLocal(new Date(w.to))}; a WAL switch before the recovery extends it to now.`,
    value: to,
    ignoreFocusOut: true,
    validateInput: (v) => validateTargetTime(v, { from: w.from, to: new Date(Math.max(Date.parse(w.to), Date.now())).toISOString() }),
  });
}

export const pitrRecoverCommand: CommandHandler = async (ctx, node) => {
  const { services, model } = ctx;
  const c = await containerOf(ctx, node, 'Recover a database of which container?');
  if (!c) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(c, `Recover which database of ${c.name}?`);
  if (!database) return;
  try {
    const s = await statusOf(services, c.name);
    if (!s.window) {
      const choice = await vscode.window.showWarningMessage(`${c.name} cannot be recovered to a point in time: ${s.enabled ? s.windowProblem : s.problems.join('; ')}.`, s.enabled ? 'Take Base Backup' : 'Show How to Enable');
      if (choice) await vscode.commands.executeCommand(s.enabled ? 'pgDockerBackup.pitrBaseBackup' : 'pgDockerBackup.pitrEnable', { kind: 'container', container: c });
      return;
    }
    const time = await askTime(c, database, s);
    if (!time) return;
    // an encrypted base backup opens with the stored key (Set Encryption Passphrase or Identity…)
    const keys = await storedKeys(services.context.secrets);
    const options = { container: c.name, database, time, dir: services.settings.backupDirectory, dropPrevious: !services.settings.keepPreviousDatabase, logger: services.logger, keys };
    const plan = await runWithProgress(`Planning the recovery of ${database}`, (signal, onProgress) => planPitrRestore(services.docker, { ...options, signal, onProgress, discovery: services.discovery(signal) }));
    if (!(await confirmModal(`Recover "${plan.database}" in ${plan.container.name} to ${plan.target.text}?`, plan.steps.map((st, i) => `${i + 1}. ${st}`).join('\n'), 'Recover'))) return;
    if (plan.container.protected && !(await confirmTyped(plan.container.name, plan.database, 'replace it'))) return;
    const r = await runWithProgress(`Recovering ${plan.database} to ${formatLocal(new Date(plan.target.time!))}`, (signal, onProgress) =>
      executePitrRestore(services.docker, plan, { signal, onProgress, logger: services.logger, discovery: services.discovery(signal), keys }),
    );
    await model.refresh();
    for (const w of r.warnings) void vscode.window.showWarningMessage(w);
    const rows = r.tables.map((t) => `${t.name} ${t.rows}`).join(', ');
    const msg = `Recovered "${plan.database}" to ${plan.target.text} in ${formatDuration(r.durationMs)}${rows ? ` (rows: ${rows})` : ''}.${r.move.keptPrevious ? ` The previous database is kept as "${r.move.keptPrevious}".` : ''}`;
    const choice = r.move.keptPrevious ? await vscode.window.showInformationMessage(msg, 'Undo Restore') : await vscode.window.showInformationMessage(msg);
    if (choice === 'Undo Restore') await vscode.commands.executeCommand('pgDockerBackup.undoRestore', { kind: 'undoTarget', container: plan.container.name, database: plan.database });
  } catch (e) {
    await model.refresh();
    await showError(services, e, c.name);
  }
};

/**
 * Prune Base Backups and WAL…: the retention setting's rules over the container's base backups, then the
 * archived WAL no kept base backup needs; the plan in a modal, deleted only on confirmation.
 */
export const pitrPruneCommand: CommandHandler = async (ctx, node) => {
  const c = await containerOf(ctx, node, 'Prune the base backups and WAL of which container?');
  if (!c) return;
  const { services } = ctx;
  try {
    const policy = retentionPolicy(services.settings.retention);
    const plan = await runWithProgress(`Planning the prune of ${c.name}'s base backups and WAL`, (signal) =>
      planPitrPrune(services.docker, { container: c.name, dir: services.settings.backupDirectory, policy, signal, logger: services.logger, discovery: services.discovery(signal) }),
    );
    const walCount = plan.walNote ? 0 : plan.wal.delete.length;
    if (plan.delete.length + walCount === 0) {
      void vscode.window.showInformationMessage(`Nothing to prune for ${c.name}: ${describePolicy(policy)} keeps every base backup${plan.walNote ? `; ${plan.walNote}` : ' and no archived WAL is older than the oldest kept one'}.`);
      return;
    }
    const bytes = plan.delete.reduce((n, d) => n + d.base.sizeBytes, 0);
    const ok = await confirmModal(
      `Delete ${plan.delete.length} base backup(s) (${formatBytes(bytes)}) and ${walCount} WAL file(s) (about ${formatBytes(plan.wal.bytes)}) of ${c.name}?`,
      [`Rules (pgDockerBackup.retention): ${describePolicy(policy)}.`, ...describePitrPrune(plan), 'This cannot be undone.'].join('\n'),
      'Delete',
    );
    if (!ok) return;
    const r = await runWithProgress(`Pruning ${c.name}'s base backups and WAL`, (signal, onProgress) => executePitrPrune(services.docker, plan, { signal, onProgress, logger: services.logger }));
    await ctx.model.refresh();
    const left = [...r.skipped.map((x) => x.path), ...r.wal.skipped.map((x) => x.name)];
    void vscode.window.showInformationMessage(`Deleted ${r.deleted.length} base backup(s) and ${r.wal.deleted.length} WAL file(s) of ${c.name}.${left.length ? ` Left alone: ${left.length} (see the log).` : ''}`);
    for (const s of [...r.skipped.map((x) => `${x.path}: ${x.reason}`), ...r.wal.skipped.map((x) => `${x.name}: ${x.reason}`)]) services.logger.warn(`pitr prune: left ${s}`);
  } catch (e) {
    await showError(services, e, c.name);
  }
};
