import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import { databasePropertiesSql, parseDatabaseProperties, type DatabaseProperties } from '../postgres/admin';
import { runningApps } from '../postgres/appContainers';
import type { DatabaseInfo, ServerInfo } from '../postgres/client';
import { checkContainerName, type AppContainer } from '../postgres/discovery';
import { formatBytes } from '../progress';
import { queryJson } from '../postgres/client';
import { attachServer, openServer } from '../postgres/server';
import type { KeyMaterial, StageRecord } from '../pipeline/stage';
import type { BackupEntry } from '../store/backupStore';
import { readDumpNeeds, type DumpNeeds } from './dumpNeeds';
import { readRoleNeeds } from './roleNeeds';
import { rolesFileFor, selectedRoles, tocFor } from './planFacts';
import type { RolesFileFacts } from './rolesFromFile';
import { decideRoles, type RolesChoice, type RolesPlan } from './roles';
import { liveTablesSql, selectTables, type Referencing } from './selective';
import { decideSelection, isSelective, replaceSteps, type SelectionPlan, type SelectionRequest } from './selectivePlan';
import type { ArchiveToc } from './toc';
import { versionPitfalls } from './pitfalls';
import type { BackupFormat } from '../store/naming';
import { inspectSource, type BackupSource } from './source';
import { decideSwapTarget, dropAfterStep, swapSteps, type SwapTarget } from './swapTarget';

export interface RestoreOptions extends OperationContext, RolesChoice, SelectionRequest {
  backupPath: string;
  /** Target container; default the one in the manifest (or the backup's folder). */
  to?: string;
  /** Target database; default the one in the manifest (or folder, or archive header). */
  database?: string;
  /** Containers to stop during the swap instead of the discovered app containers. */
  stop?: string[];
  /** Drop the previous database at once instead of keeping it for undo. */
  dropPrevious?: boolean;
  /**
   * Parallel pg_restore jobs for a custom-format archive (not gzipped): more than 1 copies the archive into
   * the container first (`pg_restore -j` needs a file it can seek in) and removes it afterwards; 1 streams
   * it from the host. Default: the CPUs the container may use, up to 8, for archives of 32 MiB and more.
   */
  jobs?: number;
  /** Where in the container the archive is copied for a parallel restore (default /tmp). */
  containerTempDir?: string;
  /** The user trusts the file: psql meta-commands in a plain dump may run (they can run shell commands). */
  allowMetaCommands?: boolean;
  /** Keys for an encrypted backup (age identities or passphrase); never in the plan, logs or messages. */
  keys?: KeyMaterial;
  /** The backup folder, where `createRoles: 'file'` also looks for the container's roles file. */
  backupDir?: string;
}

/**
 * How the bytes reach the server: `psql` (decoded on this machine), `psql-decompress` (a compressed plain
 * dump decompressed in the container by gunzip, zstd or lz4, any encryption undone here first), `pg_restore`
 * (streamed), `pg_restore-parallel` (copied into the container, then `pg_restore -j`), `pg_restore-directory`
 * (a directory dump's tar unpacked into a temporary folder in the container, then `pg_restore -j`).
 */
export type LoaderKind = 'psql' | 'psql-decompress' | 'pg_restore' | 'pg_restore-parallel' | 'pg_restore-directory';

export interface RestorePlan extends SwapTarget {
  backup: Pick<BackupEntry, 'path' | 'fileName' | 'sizeBytes' | 'format' | 'gzipped' | 'pgDumpVersion' | 'serverVersion' | 'container' | 'database' | 'created'> & {
    format: BackupFormat;
    /** The dump's encoding when made with pg_dump -E (from its manifest). */
    encoding?: string;
    /** The encode stages to undo, in the order they were applied. */
    stages: StageRecord[];
    /** The sha256 its manifest records, checked while it is read. */
    sha256?: string;
  };
  /** For a partial (--table) backup: the schemas its tables live in, created before the restore. */
  partialSchemas: string[];
  /** pg_restore jobs; above 1 the archive is copied into the container first. Always 1 for plain dumps. */
  jobs: number;
  loader: LoaderKind;
  /** psql meta-commands in a plain dump may run (the user said so); otherwise any but pg_dump's own is refused. */
  allowMetaCommands: boolean;
  /** Things to know that do not stop the restore (one sentence each). */
  warnings: string[];
  /** `--table/--schema`: the tables restored (into a new database, or replacing their rows in the live one). */
  selection?: SelectionPlan;
  /** The roles the dump refers to, which the target lacks, and what is done about them. */
  roles: RolesPlan;
  /** The plan in sentences, in order. */
  steps: string[];
}

/**
 * Below this size a parallel restore does not pay for copying the archive into the container (measured
 * on two cores: break-even around 48 MB). An explicit `jobs` applies at any size.
 */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** Where a backup goes: the container and database asked for, else the ones it came from. */
export function restoreTarget(source: BackupSource, request: Pick<RestoreOptions, 'to' | 'database'>): { container: string; database: string } {
  const { entry, content } = source;
  const container = request.to ?? entry.container;
  if (!container) {
    throw new PgBackupError('usage', `${entry.fileName} has no manifest saying where it came from: name the target container (CLI: --to CONTAINER).`);
  }
  if (!request.to) checkContainerName(container, ` (the container named by ${entry.manifest ? 'the manifest of' : 'the folder of'} ${entry.fileName})`);
  const database = request.database ?? entry.database ?? content.database;
  if (!database) {
    throw new PgBackupError('usage', `${entry.fileName} does not say which database it belongs to: name the target database (CLI: --database DB).`);
  }
  return { container, database };
}

/** Everything the decision needs, gathered with one container lookup and one overview query. */
export interface RestoreFacts {
  source: BackupSource;
  container: { id: string; name: string; protected: boolean };
  server: ServerInfo;
  maintenanceDb: string;
  databases: DatabaseInfo[];
  /** The live database's properties; undefined when it does not exist. */
  liveProperties?: DatabaseProperties;
  /** The running app containers (or the ones named with --stop). */
  runningApps: AppContainer[];
  /** The CPUs the container may use (for parallel jobs). */
  cpus: number;
  /** The target's image (named in messages). */
  image?: string;
  /** The user the restore runs as. */
  targetUser?: string;
  /** The target's `pg_available_extensions`. */
  availableExtensions?: string[];
  /** What the dump needs (extensions, `\restrict`), as far as it could be read. */
  needs?: DumpNeeds;
  /** A custom archive's table of contents (read for a selective restore, or for the roles it names). */
  toc?: ArchiveToc;
  tocError?: string;
  /** The roles the dump refers to, where known, and where that came from. */
  roleNeeds?: { needed?: string[]; source: RolesPlan['source'] };
  /** `pg_roles` of the target. */
  existingRoles?: string[];
  /** With `createRoles: 'file'`: the roles file and what it holds. */
  rolesFile?: RolesFileFacts;
  /** For --replace-tables: the live database's answer about the selected tables. */
  liveTables?: { missing: string[]; referencing: Referencing[] };
}

/** The compression a plain dump's container can undo: the first stage applied, when it is gzip, zstd or lz4. */
export function containerCodec(source: Pick<BackupSource, 'format' | 'stages'>): 'gzip' | 'zstd' | 'lz4' | undefined {
  const first = source.stages[0];
  return source.format === 'sql' && first?.kind === 'compress' && first.algorithm !== 'age' ? first.algorithm : undefined;
}

/**
 * The loader for a backup: a custom archive may go parallel; a compressed plain dump is decompressed in the
 * container (only compressed bytes cross the Docker API), with any layer above it (age) undone here.
 */
export function chooseLoader(source: Pick<BackupSource, 'format' | 'stages'>, jobs: number): LoaderKind {
  if (source.format === 'directory') return 'pg_restore-directory';
  if (source.format === 'custom') return jobs > 1 ? 'pg_restore-parallel' : 'pg_restore';
  return containerCodec(source) ? 'psql-decompress' : 'psql';
}

/** Version pitfalls (newer pg_dump, \\restrict lines, missing extensions): refusals thrown, warnings returned. */
function refuseVersionPitfalls(facts: RestoreFacts): { warnings: string[] } {
  const { source, server } = facts;
  const pitfalls = versionPitfalls({
    fileName: source.entry.fileName,
    format: source.format,
    pgDumpVersion: source.entry.pgDumpVersion ?? source.content.pgDumpVersion,
    targetVersion: server.version,
    targetContainer: facts.container.name,
    targetImage: facts.image,
    restrictSeen: facts.needs?.restrictSeen,
    neededExtensions: facts.needs?.extensions,
    extensionsUnknown: facts.needs?.extensionsUnknown,
    availableExtensions: facts.availableExtensions,
  });
  if (pitfalls.refusals.length) throw new PgBackupError('refused', `${pitfalls.refusals.join(' ')} Nothing was changed.`);
  return pitfalls;
}

/**
 * pg_restore jobs: an unencrypted, ungzipped custom archive (copied into the container) of 32 MiB and more,
 * or a directory dump (unpacked there anyway, so parallel at any size, selective too), one per CPU up to 8 or
 * as asked; everything else (and a selective restore of a custom archive) streams with one.
 */
function jobsFor(source: BackupSource, asked: number | undefined, cpus: number, selective: boolean): number {
  const parallelPossible = source.format === 'directory' || (!selective && source.format === 'custom' && source.stages.length === 0);
  if (!parallelPossible) return 1;
  if (asked !== undefined) return Math.max(1, Math.trunc(asked));
  if (source.entry.sizeBytes < PARALLEL_MIN_BYTES && source.format === 'custom') return 1;
  return Math.min(8, Math.max(1, cpus));
}

/** The pure decision: facts and the request become a plan, or a refusal that says why (nothing changed). */
export function decideRestore(facts: RestoreFacts, request: Pick<RestoreOptions, 'to' | 'database' | 'jobs' | 'dropPrevious' | 'allowMetaCommands' | keyof RolesChoice | keyof SelectionRequest>, now: Date): RestorePlan {
  const { source, server } = facts;
  const { entry, content } = source;
  const { database } = restoreTarget(source, request);
  const pitfalls = refuseVersionPitfalls(facts);
  const swap = decideSwapTarget({ ...facts, server }, database, !!request.dropPrevious, now);
  const liveExists = swap.liveExists;
  const m = entry.manifest;
  const selection = decideSelection(
    { fileName: entry.fileName, format: source.format, toc: facts.toc, tocError: facts.tocError, database, liveExists, live: facts.liveTables, manifestTables: m?.tables },
    request,
  );
  // Replacing rows keeps the live tables (and their owners): the roles of the dump do not matter then.
  const roles = decideRoles(
    {
      fileName: entry.fileName,
      format: source.format,
      container: facts.container.name,
      targetUser: facts.targetUser ?? 'postgres',
      needed: !facts.existingRoles || selection?.mode === 'replace' ? [] : selection ? selectedRoles(facts.toc, facts.roleNeeds?.needed, selection) : facts.roleNeeds?.needed,
      source: facts.roleNeeds?.source ?? 'unknown',
      existing: facts.existingRoles ?? [],
      rolesFile: facts.rolesFile,
    },
    request,
  );
  if (m && m.options.tables.length + m.options.schemas.length > 0 && liveExists) {
    throw new PgBackupError(
      'refused',
      `${entry.fileName} holds only part of "${m.database}" (${m.options.tables.length ? `tables ${m.options.tables.join(', ')}` : `schemas ${m.options.schemas.join(', ')}`}): ` +
        `restoring it over "${database}" would replace the whole database with just that part. Restore it into a new database instead (CLI: --database NEW_NAME). Nothing was changed.`,
    );
  }
  const jobs = jobsFor(source, request.jobs, facts.cpus, !!selection);
  const plan: Omit<RestorePlan, 'steps'> = {
    backup: {
      path: entry.path,
      fileName: entry.fileName,
      sizeBytes: entry.sizeBytes,
      format: source.format,
      gzipped: content.gzipped,
      stages: source.stages,
      sha256: m?.sha256,
      encoding: m?.options.encoding,
      pgDumpVersion: entry.pgDumpVersion,
      serverVersion: entry.serverVersion,
      container: entry.container,
      database: entry.database,
      created: entry.created,
    },
    ...swap,
    partialSchemas: m?.options.tables.length && !selection ? m.tables.map((t) => t.schema) : [],
    jobs,
    loader: chooseLoader(source, jobs),
    allowMetaCommands: source.format === 'sql' && !!request.allowMetaCommands,
    warnings: [...pitfalls.warnings, ...(selection?.leftOut.length ? [`Left out (they need tables that are not restored): ${selection.leftOut.join('; ')}.`] : [])],
    selection,
    roles,
  };
  return { ...plan, steps: selection?.mode === 'replace' ? replaceSteps({ ...plan, selection }) : planSteps(plan) };
}

/** Works out what a restore will do, refusing early (before anything changes) where it cannot work. */
export async function planRestore(docker: DockerClient, options: RestoreOptions): Promise<RestorePlan> {
  const op = beginOperation(options);
  const source = await inspectSource(options.backupPath, options.keys);
  const target = restoreTarget(source, options);
  // The live database's properties come in the same round trip as the overview (null when there is none).
  const { server, extra } = await openServer(docker, target.container, op, {
    withApps: true,
    nothingChanged: true,
    extra: {
      live: `(${databasePropertiesSql(target.database)})`,
      available: `(SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_available_extensions)`,
      roles: `(SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]') FROM pg_roles)`,
    },
  });
  const c = server.container;
  const dumpMajor = source.content.pgDumpMajor ?? (source.entry.pgDumpVersion ? Number.parseInt(source.entry.pgDumpVersion, 10) : undefined);
  const { toc, tocError } = await tocFor(source, { keys: options.keys, selective: isSelective(options) }, op.signal);
  const rolesFile = await rolesFileFor(source, options);
  const [apps, cpus, needs, roleNeeds] = await Promise.all([
    runningApps(docker, options.stop, c.appContainers),
    options.jobs === undefined && (source.format === 'directory' || (source.format === 'custom' && source.entry.sizeBytes >= PARALLEL_MIN_BYTES)) ? docker.cpuCount(c.id).catch(() => 1) : Promise.resolve(1),
    readDumpNeeds(docker, server.target, source, { canReadArchive: dumpMajor === undefined || dumpMajor <= server.info.major, keys: options.keys, signal: op.signal, log: op.log }),
    readRoleNeeds(source, toc, { keys: options.keys, signal: op.signal, log: op.log }),
  ]);
  const liveExists = server.databases.some((d) => d.name === target.database);
  // --replace-tables: which of the tables the live database has, and which of its other tables point at them.
  const liveTables =
    options.replaceTables && toc && liveExists && isSelective(options)
      ? await queryJson<{ missing: string[]; referencing: Referencing[] }>(
          docker,
          server.target,
          target.database,
          liveTablesSql(selectTables(toc, options.tables ?? [], options.schemas ?? [], source.entry.fileName).map((e) => ({ schema: e.namespace, name: e.tag }))),
          'looking at the tables to replace',
          op.signal,
        )
      : undefined;
  const facts: RestoreFacts = {
    source,
    container: { id: c.id, name: c.name, protected: c.protected },
    server: server.info,
    maintenanceDb: server.maintenanceDb,
    databases: server.databases,
    liveProperties: parseDatabaseProperties(target.database, extra.live),
    runningApps: apps,
    cpus,
    image: c.image,
    targetUser: server.target.user,
    availableExtensions: Array.isArray(extra.available) ? (extra.available as string[]) : undefined,
    needs,
    toc,
    tocError,
    roleNeeds,
    existingRoles: Array.isArray(extra.roles) ? (extra.roles as string[]) : undefined,
    rolesFile,
    liveTables,
  };
  return attachServer(decideRestore(facts, options, op.now()), server);
}

/** `UTF-8`, `utf8` → `UTF8`: encoding names as PostgreSQL compares them. */
function encodingKey(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** A sentence when the dump's encoding (pg_dump -E) is not the live database's; '' otherwise. */
export function encodingStep(plan: Pick<RestorePlan, 'backup' | 'liveProperties' | 'database'>): string {
  const dump = plan.backup.encoding;
  const live = plan.liveProperties?.encoding;
  if (!dump || !live || encodingKey(dump) === encodingKey(live)) return '';
  return `The backup was dumped in ${dump} (pg_dump -E), "${plan.database}" is in ${live}: the server converts the text to ${live} as it loads (the new database keeps ${live}); a character ${live} cannot hold stops the restore before the swap.`;
}

/** How the restore loads the file, for the plan's first step. */
function loadHow(plan: Omit<RestorePlan, 'steps'>): string {
  if (plan.loader === 'pg_restore-directory') return ` with ${plan.jobs} parallel job${plan.jobs > 1 ? 's' : ''} (the tar is unpacked into a temporary folder in the container, removed afterwards)`;
  return plan.jobs > 1 ? ` with ${plan.jobs} parallel jobs (the archive is copied into the container and removed afterwards)` : '';
}

/** The plan in sentences, in the order things happen. */
export function planSteps(plan: Omit<RestorePlan, 'steps'>): string[] {
  const { backup, database, scratchDatabase } = plan;
  return [
    plan.leftoverScratch.length ? `Drop ${plan.leftoverScratch.map((d) => `"${d}"`).join(', ')}, left by an interrupted restore, unless a session still uses it.` : '',
    ...(plan.roles?.steps ?? []),
    `Restore ${plan.selection ? `only ${plan.selection.tables.join(', ')} (with their indexes, constraints, sequences, defaults, comments and grants) from ` : ''}${backup.fileName} (${backup.format}${backup.gzipped ? ', gzipped' : ''}, ${formatBytes(backup.sizeBytes)}${backup.pgDumpVersion ? `, pg_dump ${backup.pgDumpVersion}` : ''}) into a new database "${scratchDatabase}" in ${plan.container.name} (PostgreSQL ${plan.server.version})${loadHow(plan)}; "${database}" is not touched while this runs.`,
    encodingStep(plan),
    ...swapSteps(plan, '--drop-previous: no undo'),
    plan.allowMetaCommands ? 'psql meta-commands in the file are NOT checked (--allow-meta-commands): they can run shell commands in the container.' : '',
    dropAfterStep(plan),
    ...(plan.warnings ?? []).map((w) => `Note: ${w}`),
  ].filter(Boolean);
}
