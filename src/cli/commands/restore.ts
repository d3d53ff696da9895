import { integer, parse } from '../args';
import type { DockerClient } from '../../core/docker/client';
import { PgBackupError } from '../../core/errors';
import type { OperationContext } from '../../core/operation';
import type { CheckReport } from '../../core/restore/checks';
import { formatDuration } from '../../core/progress';
import { executeRestore, type RestoreResult } from '../../core/restore/execute';
import { planRestore, type RestorePlan } from '../../core/restore/plan';
import { parseRoleMap } from '../../core/restore/roles';
import type { KeyMaterial } from '../../core/pipeline/stage';
import { planUndo, undoRestore } from '../../core/undo';
import { keyOptions, readKeys } from '../encryption';
import { localCopyOf } from '../remoteBackup';
import { remoteOptions } from '../remotes';
import { checkTimeoutMs, checksAfter, checksJson } from './check';
import { EXIT_CHECKS_FAILED, EXIT_OK, confirm, progressPrinter, say, writeJson, type CliContext } from '../io';
import { backupDirFor, discoveryFor, dockerFor } from '../services';

export const usage =
  'pg-docker-backup restore <backup-file | remote-object> [--dir DIR] [--to CONTAINER] [--database DB] [--stop CONTAINER]... [--jobs N] [--temp-dir DIR] [--identity FILE] [--passphrase] [--allow-meta-commands] [--dry-run] [--drop-previous] [--no-checks] [--check-timeout S] [--yes] [--json]\n' +
  '                        [--table T]... [--schema S]... [--replace-tables] [--create-roles[=nologin]] [--roles-file F] [--allow-privileged-roles] [--no-owner] [--role-map OLD=NEW]...\n' +
  '       pg-docker-backup restore --undo [<container> | --to CONTAINER] [--database DB] [--stop CONTAINER]... [--dry-run] [--no-checks] [--check-timeout S] [--yes] [--json]';

/** Prints the plan (stdout for --dry-run, stderr before running); true when that is all to do. */
function showPlan(ctx: CliContext, plan: { steps: string[] }, values: { json?: boolean; 'dry-run'?: boolean }): boolean {
  if (values['dry-run']) {
    if (values.json) writeJson(ctx, { dryRun: true, plan });
    else ctx.stdout.write(`Plan (nothing done, --dry-run):\n  ${plan.steps.join('\n  ')}\n`);
    return true;
  }
  if (!values.json) say(ctx, `Plan:\n  ${plan.steps.join('\n  ')}`);
  return false;
}

type AfterChecks = (container: string, database: string, backupPath: string | undefined, undoHint: string | undefined) => Promise<CheckReport | undefined>;

/** `restore --undo`: plan, confirm, swap back, then the checks. */
async function undoCommand(
  ctx: CliContext,
  docker: DockerClient,
  container: string | undefined,
  values: { database?: string; stop?: string[]; json?: boolean; yes?: boolean; 'dry-run'?: boolean },
  common: OperationContext,
  after: AfterChecks,
): Promise<number> {
  if (!container) throw new PgBackupError('usage', `restore --undo needs the container.\nusage: ${usage}`);
  const plan = await planUndo(docker, { container, database: values.database, stop: values.stop, ...common });
  if (showPlan(ctx, plan, values)) return EXIT_OK;
  await confirm(ctx, `Undo the last restore of "${plan.database}" in ${plan.container.name}?`, { yes: !!values.yes, typeToConfirm: plan.container.protected ? plan.database : undefined });
  const r = await undoRestore(docker, plan, common);
  if (!values.json) say(ctx, `Undone: "${plan.database}" is back; the restored one is kept as "${plan.currentKeptAs}".${r.warnings.map((w) => `\nwarning: ${w}`).join('')}`);
  const checks = await after(plan.container.name, plan.database, undefined, `The undo can itself be undone: \`pg-docker-backup restore --undo ${plan.container.name} --database ${JSON.stringify(plan.database)}\`.`);
  if (values.json) writeJson(ctx, { undone: true, database: plan.database, container: plan.container.name, restoredFrom: plan.previousDatabase, keptAs: plan.currentKeptAs, downtimeMs: r.downtimeMs, warnings: r.warnings, checks: checks ? checksJson(checks) : null });
  return checks?.failed ? EXIT_CHECKS_FAILED : EXIT_OK;
}

/** --replace-tables: confirm, replace the rows in one transaction, say what changed (no checks: the apps kept running). */
async function replaceCommand(ctx: CliContext, docker: DockerClient, plan: RestorePlan, values: { json?: boolean; yes?: boolean }, common: OperationContext, keys: KeyMaterial | undefined): Promise<number> {
  const sel = plan.selection!;
  await confirm(ctx, `Replace the rows of ${sel.tables.join(', ')} in "${plan.database}" in ${plan.container.name} with those in ${plan.backup.fileName}?`, {
    yes: !!values.yes,
    typeToConfirm: plan.container.protected ? plan.database : undefined,
  });
  const r = await executeRestore(docker, plan, { ...common, keys });
  if (values.json) writeJson(ctx, { replaced: sel.tables, sequences: sel.sequences, referencing: sel.referencing, backup: plan.backup.path, container: plan.container.name, database: plan.database, durationMs: r.durationMs });
  else say(ctx, `Replaced the rows of ${sel.tables.join(', ')} in "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)}; every other table is untouched.`);
  return EXIT_OK;
}

const RESTORE_OPTIONS = {
    to: { type: 'string' },
    database: { type: 'string', short: 'd' },
    stop: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
    undo: { type: 'boolean' },
    'drop-previous': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    'temp-dir': { type: 'string' },
    'allow-meta-commands': { type: 'boolean' },
    table: { type: 'string', short: 't', multiple: true },
    schema: { type: 'string', short: 'n', multiple: true },
    'replace-tables': { type: 'boolean' },
    'create-roles': { type: 'boolean' },
    'roles-file': { type: 'string' },
    'allow-privileged-roles': { type: 'boolean' },
    'no-owner': { type: 'boolean' },
    'role-map': { type: 'string', multiple: true },
    ...keyOptions,
    ...remoteOptions,
    dir: { type: 'string' },
    'no-checks': { type: 'boolean' },
    'check-timeout': { type: 'string' },
    yes: { type: 'boolean', short: 'y' },
  } as const;

export async function restoreCommand(ctx: CliContext, args: string[]): Promise<number> {
  // `--create-roles=nologin` (a boolean flag with an optional value, which parseArgs does not know)
  const nologin = args.includes('--create-roles=nologin');
  const { values, positionals } = parse(
    args.map((a) => (a === '--create-roles=nologin' ? '--create-roles' : a)),
    RESTORE_OPTIONS,
    { min: 0, max: 1, usage },
  );
  const docker = dockerFor(ctx);
  const discovery = discoveryFor(ctx);
  const common = { signal: ctx.signal, logger: ctx.logger, discovery, onProgress: progressPrinter(ctx) };
  const timeoutMs = checkTimeoutMs(values['check-timeout'], '--check-timeout');
  const after: AfterChecks = (container, database, backupPath, undoHint) =>
    values['no-checks'] ? Promise.resolve(undefined) : checksAfter(ctx, docker, { container, database, backupPath, timeoutMs }, !!values.json, undoHint);
  if (values.undo) return undoCommand(ctx, docker, values.to ?? positionals[0], values, common, after);
  if (positionals.length !== 1) throw new PgBackupError('usage', `usage: ${usage}`);
  const jobs = integer(values.jobs, '--jobs');
  if (jobs !== undefined && (jobs < 1 || jobs > 64)) throw new PgBackupError('usage', `--jobs must be between 1 and 64 (got ${jobs})`);
  const keys = await readKeys(ctx, values);
  // A remote object (s3://…, gs://…, NAME/<container>/<database>/<file>) is downloaded and checked first.
  const backupPath = await localCopyOf(ctx, positionals[0], backupDirFor(ctx, values.dir), values);
  const plan = await planRestore(docker, {
    keys,
    jobs,
    backupPath,
    to: values.to,
    database: values.database,
    stop: values.stop,
    dropPrevious: values['drop-previous'],
    allowMetaCommands: values['allow-meta-commands'],
    tables: values.table,
    schemas: values.schema,
    replaceTables: values['replace-tables'],
    // --roles-file F says where the roles come from: it implies --create-roles
    createRoles: values['create-roles'] || values['roles-file'] ? (nologin ? 'nologin' : 'file') : undefined,
    rolesFile: values['roles-file'],
    allowPrivilegedRoles: values['allow-privileged-roles'],
    backupDir: backupDirFor(ctx, values.dir),
    noOwner: values['no-owner'],
    roleMap: values['role-map'] ? parseRoleMap(values['role-map']) : undefined,
    ...common,
  });
  if (showPlan(ctx, plan, values)) return EXIT_OK;
  if (plan.selection?.mode === 'replace') return replaceCommand(ctx, docker, plan, values, common, keys);
  await confirm(ctx, `Restore ${plan.backup.fileName} over "${plan.database}" in ${plan.container.name}?`, { yes: !!values.yes, typeToConfirm: plan.container.protected ? plan.database : undefined });
  const r = await executeRestore(docker, plan, { ...common, keys, containerTempDir: values['temp-dir'] });
  if (!values.json) {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    say(ctx, `Restored "${plan.database}" in ${plan.container.name} in ${formatDuration(r.durationMs)} (apps down ${formatDuration(r.downtimeMs)}).`);
    if (r.keptPrevious) say(ctx, `The previous database is kept as "${r.keptPrevious}": undo with \`pg-docker-backup restore --undo ${plan.container.name} --database ${JSON.stringify(plan.database)}\`.`);
    for (const w of r.warnings) say(ctx, `warning: ${w}`);
  }
  const checks = await after(
    plan.container.name,
    plan.database,
    plan.backup.path,
    r.keptPrevious ? `Undo the restore with \`pg-docker-backup restore --undo ${plan.container.name} --database ${JSON.stringify(plan.database)}\`.` : 'There is no previous database to go back to (--drop-previous, or there was none).',
  );
  if (values.json) writeJson(ctx, restoreJson(plan, r, checks));
  return checks?.failed ? EXIT_CHECKS_FAILED : EXIT_OK;
}

/** `restore --json`'s answer. */
function restoreJson(plan: RestorePlan, r: RestoreResult, checks: CheckReport | undefined): Record<string, unknown> {
  return {
    restored: true,
    backup: plan.backup.path,
    container: plan.container.name,
    database: plan.database,
    keptPrevious: r.keptPrevious ?? null,
    dropped: r.dropped,
    stopped: plan.stopContainers.map((a) => a.name),
    jobs: plan.jobs,
    tables: plan.selection?.tables ?? null,
    roles: { missing: plan.roles.missing, created: plan.roles.create, definitions: plan.roles.definitions ?? null, rolesFile: plan.roles.rolesFile ?? null, reassigned: plan.roles.reassign },
    durationMs: r.durationMs,
    downtimeMs: r.downtimeMs,
    warnings: r.warnings,
    checks: checks ? checksJson(checks) : null,
  };
}
