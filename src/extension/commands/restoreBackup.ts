import * as vscode from 'vscode';
import { isPgBackupError } from '../../core/errors';
import { formatDuration } from '../../core/progress';
import { executeRestore } from '../../core/restore/execute';
import { planRestore, type RestoreOptions, type RestorePlan } from '../../core/restore/plan';
import { MissingRolesError, type RolesChoice } from '../../core/restore/roles';
import type { SelectionRequest } from '../../core/restore/selectivePlan';
import { inspectSource } from '../../core/restore/source';
import { archiveTables, readArchiveToc } from '../../core/restore/toc';
import { exactPattern } from '../../core/postgres/sql';
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

/** What the user picked beyond the backup: tables (and how), and what to do with missing roles. */
type Scope = SelectionRequest & RolesChoice & { database?: string };

/**
 * Tables picked from a custom or directory backup's table of contents (schemas and tables with their row counts
 * from the manifest), into a new database or replacing them in the live one (Restore Tables…).
 */
async function chooseTables(backup: BackupEntry, database: string): Promise<Scope | undefined> {
  if (backup.format === 'sql') {
    void vscode.window.showWarningMessage(`${backup.fileName} is a plain SQL backup: tables can only be picked from a custom or directory one (Back Up Database… → Custom). Restore Backup… restores it whole.`);
    return undefined;
  }
  const source = await inspectSource(backup.path);
  const toc = await readArchiveToc({ path: backup.path, fileName: backup.fileName, stages: source.stages });
  type Item = vscode.QuickPickItem & { schema?: string; table?: string };
  const items: Item[] = [];
  for (const t of archiveTables(toc, backup.manifest?.tables)) {
    if (items.every((i) => i.schema !== t.schema || i.table !== undefined)) {
      items.push({ label: t.schema, kind: vscode.QuickPickItemKind.Separator }, { label: `$(symbol-namespace) ${t.schema}.*`, description: 'every table of this schema', schema: t.schema });
    }
    items.push({ label: `$(table) ${t.name}`, description: t.rows !== undefined ? `${t.rows} rows` : undefined, schema: t.schema, table: t.name });
  }
  const picked = await vscode.window.showQuickPick(items, { title: `Tables of ${backup.fileName}`, canPickMany: true, ignoreFocusOut: true });
  if (!picked?.length) return undefined;
  const tables = picked.filter((i) => i.table !== undefined).map((i) => exactPattern(i.schema!, i.table!));
  const schemas = picked.filter((i) => i.table === undefined && i.schema).map((i) => exactPattern(i.schema!));
  const replace = { label: `$(replace) Replace Them in "${database}"`, detail: 'Delete and reload their rows in ONE transaction; other tables untouched; rolled back if a foreign key would break' };
  const fresh = { label: '$(new-file) Into a New Database…', detail: 'Restore them into a database of their own' };
  const where = await vscode.window.showQuickPick([fresh, replace], { title: 'Restore Tables', placeHolder: 'Where to?', ignoreFocusOut: true });
  if (!where) return undefined;
  if (where === replace) return { tables, schemas, replaceTables: true };
  const name = await vscode.window.showInputBox({ title: 'Restore Tables', prompt: 'Name of the new database', value: `${database}_tables`, ignoreFocusOut: true });
  return name ? { tables, schemas, database: name } : undefined;
}

/** Missing roles: the modal offers creating them, the target's user owning everything, or mapping them. */
async function chooseRoles(e: MissingRolesError, container: string): Promise<RolesChoice | undefined> {
  const create = 'Create Missing Roles';
  const noOwner = `Let ${e.targetUser} Own Everything`;
  const map = 'Map Roles…';
  const detail = `${e.message}\n\n${create}: from the roles file that backup --all or a schedule saved for the backup's container (with their LOGIN, password and other attributes; the plan shows them), else as NOLOGIN roles; only the missing ones, kept.\n${noOwner}: no owners or grants from the backup.\n${map}: an existing role of ${container} owns what each missing role owned.`;
  const pick = await vscode.window.showWarningMessage(`The backup needs roles that ${container} lacks: ${e.missing.join(', ')}.`, { modal: true, detail }, create, noOwner, map);
  if (pick === create) return { createRoles: 'file' };
  if (pick === noOwner) return { noOwner: true };
  if (pick !== map) return undefined;
  const roleMap: Record<string, string> = {};
  for (const r of e.missing) {
    const to = await vscode.window.showInputBox({ title: 'Map Roles', prompt: `Which existing role of ${container} owns what "${r}" owned?`, value: e.targetUser, ignoreFocusOut: true });
    if (!to) return undefined;
    roleMap[r] = to;
  }
  return { roleMap };
}

/**
 * Roles from the roles file with SUPERUSER, REPLICATION, BYPASSRLS or CREATEROLE: a separate modal, whose
 * default (and Escape) creates them without those attributes. Undefined: cancelled.
 */
async function choosePrivileged(plan: RestorePlan): Promise<boolean | undefined> {
  const withheld = (plan.roles.definitions ?? []).filter((d) => d.withheld.length);
  if (!withheld.length) return false;
  const keep = 'Keep These Attributes';
  const without = 'Create Without Them';
  const list = withheld.map((d) => `${d.name}: ${d.withheld.map((x) => x.toUpperCase()).join(', ')}`).join('\n');
  const detail = `The roles file ${plan.roles.rolesFile ?? ''} gives these missing roles power over the whole server of ${plan.container.name}:\n${list}\n\nOnly keep them if you trust where the roles file came from.`;
  const pick = await vscode.window.showWarningMessage('The roles file asks for privileged roles.', { modal: true, detail }, without, keep);
  return pick === keep ? true : pick === without ? false : undefined;
}

/** The plan, asking about missing roles when the backup needs some the target lacks (and about privileged ones). */
async function planWithRoles(services: Services, options: RestoreOptions): Promise<RestorePlan | undefined> {
  try {
    return await planRestore(services.docker, options);
  } catch (e) {
    if (!(e instanceof MissingRolesError)) throw e;
    const choice = await chooseRoles(e, options.to ?? '');
    if (!choice) return undefined;
    const plan = await planRestore(services.docker, { ...options, ...choice });
    const privileged = await choosePrivileged(plan);
    if (privileged === undefined) return undefined;
    return privileged ? planRestore(services.docker, { ...options, ...choice, allowPrivilegedRoles: true }) : plan;
  }
}

/** Plans, confirms and runs one restore; true when it ran. */
async function restoreOnce(services: Services, model: BackupModel, backup: BackupEntry, to: string, database: string, allowMetaCommands: boolean, keys: KeyMaterial, scope: Scope = {}): Promise<boolean> {
  const plan = await planWithRoles(services, {
    keys,
    backupPath: backup.path,
    to,
    dropPrevious: !services.settings.keepPreviousDatabase,
    jobs: services.settings.restoreJobs,
    allowMetaCommands,
    logger: services.logger,
    discovery: services.discovery(),
    backupDir: services.settings.backupDirectory,
    ...scope,
    database: scope.database ?? database,
  });
  if (!plan) return false;
  const question = plan.selection?.mode === 'replace'
    ? `Replace the rows of ${plan.selection.tables.join(', ')} in "${plan.database}" in ${plan.container.name}?`
    : `Restore ${plan.selection ? `${plan.selection.tables.length} table${plan.selection.tables.length > 1 ? 's' : ''} of ` : ''}${backup.fileName} into "${plan.database}" in ${plan.container.name}?`;
  const ok = await confirmModal(question, plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n'), plan.selection?.mode === 'replace' ? 'Replace' : 'Restore');
  if (!ok) return false;
  if (plan.container.protected && !(await confirmTyped(plan.container.name, plan.database, 'restore over it'))) return false;
  const r = await runWithProgress(`Restoring ${backup.fileName} into ${plan.database}`, (signal, onProgress) =>
    executeRestore(services.docker, plan, { keys, signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }),
  );
  await model.refresh();
  const msg = plan.selection?.mode === 'replace' ? `Replaced the rows of ${plan.selection.tables.join(', ')} in "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)}; every other table is untouched.` : `Restored "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)}${plan.stopContainers.length ? ` (apps down ${formatDuration(r.downtimeMs)})` : ''}.${r.keptPrevious ? ` The previous database is kept as "${r.keptPrevious}".` : ''}`;
  for (const w of r.warnings) void vscode.window.showWarningMessage(w);
  const undo = r.keptPrevious
    ? { label: 'Undo Restore', run: () => vscode.commands.executeCommand('pgDockerBackup.undoRestore', { kind: 'undoTarget', container: plan.container.name, database: plan.database }) }
    : undefined;
  await notifyWithChecks(services, msg, { container: plan.container.name, database: plan.database, backupPath: plan.backup.path }, undo);
  return true;
}

/** Restore Backup…: the whole database. */
export const restoreBackupCommand: CommandHandler = (ctx, node) => restoreWith(ctx, node, async () => ({}));

/** Restore Tables…: tables picked from a custom backup, into a new database or replacing them in the live one. */
export const restoreTablesCommand: CommandHandler = (ctx, node) => restoreWith(ctx, node, chooseTables);

type ChooseScope = (backup: BackupEntry, database: string) => Promise<Scope | undefined>;

const restoreWith = async ({ services, model }: Parameters<CommandHandler>[0], node: Parameters<CommandHandler>[1], chooseScope: ChooseScope): Promise<void> => {
  const backup = node?.kind === 'backup' ? node.backup : await pickBackup(model, 'Restore which backup?');
  if (backup) await restoreEntry(services, model, backup, chooseScope);
};

/**
 * The whole restore flow for one local backup: where it goes, the plan in one modal, the restore with
 * progress, checks and Undo; errors shown, never thrown. Also used after Restore from Remote downloads.
 */
export async function restoreEntry(services: Services, model: BackupModel, backup: BackupEntry, chooseScope: ChooseScope = async () => ({})): Promise<void> {
  const target = await targetOf(model, backup);
  if (!target) return;
  let keys: KeyMaterial = {};
  let scope: Scope | undefined;
  try {
    keys = await storedKeys(services.context.secrets); // for an encrypted backup (Set Encryption Passphrase or Identity…)
    scope = await chooseScope(backup, target.database);
    if (!scope) return;
    await restoreOnce(services, model, backup, target.to, target.database, false, keys, scope);
  } catch (e) {
    await model.refresh();
    // A plain backup with psql meta-commands: nothing ran. Only an explicit choice lets them run.
    if (isPgBackupError(e, 'refused') && META_REFUSAL.test(e.message)) {
      const run = 'Restore and Run Them';
      const detail = `${e.message}\n\npsql meta-commands run outside the database: \\! runs a shell command in the container, \\o and \\copy … program write files or run programs, \\connect leaves the scratch database. Only go on if you trust where this file came from.`;
      if ((await vscode.window.showWarningMessage('This backup holds psql commands that would run outside the database.', { modal: true, detail }, run)) !== run) return;
      try {
        await restoreOnce(services, model, backup, target.to, target.database, true, keys, scope);
      } catch (e2) {
        await model.refresh();
        await showError(services, e2, target.to);
      }
      return;
    }
    await showError(services, e, target.to);
  }
}
