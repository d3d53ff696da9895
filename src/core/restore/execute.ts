import type { DockerClient } from '../docker/client';
import { ARCHIVE_DIR, archivePrefix } from '../databases/leftovers';
import { lockDatabase } from '../databases/lock';
import { PgBackupError, errorMessage, throwIfAborted } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { execClient } from '../postgres/client';
import { createDatabaseLikeSql, runStatements } from '../postgres/admin';
import { flushContainerFilesystem } from '../postgres/appContainers';
import { attachedServer, openServer, type PgServer } from '../postgres/server';
import { quoteIdent } from '../postgres/sql';
import { formatDuration } from '../progress';
import type { InputSource } from './input';
import { removeTempFolder } from '../postgres/containerTemp';
import { checkLoaderRun, copyIntoContainer, extractIntoContainer, parallelLoad, runStreamingLoader, type ContainerCopy, type LoaderExtras, type LoaderRun } from './loaders';
import { replaceTables } from './replaceTables';
import { createPlannedRoles, dropRoles, loaderExtras, reassignOwned } from './rolesStep';
import { planRestore, type RestoreOptions, type RestorePlan } from './plan';
import { beforeSwapError, clearLeftovers, dropQuietly, swapIntoPlace } from './swapInto';

export interface RestoreResult {
  plan: RestorePlan;
  durationMs: number;
  /** App containers stopped → started again. */
  downtimeMs: number;
  /** The database kept for undo, if any. */
  keptPrevious?: string;
  dropped: string[];
  warnings: string[];
}

export type ExecuteOptions = OperationContext & Pick<RestoreOptions, 'containerTempDir' | 'dropPrevious' | 'jobs' | 'keys'>;

/** The archive copied into the container for a parallel restore: started at once, removed exactly once. */
class ArchiveCopy {
  private removal?: Promise<boolean>;
  readonly stop = new AbortController();
  constructor(
    private readonly server: PgServer,
    readonly copying: Promise<ContainerCopy>,
    private readonly warnings: string[],
    /** A directory dump's unpacked folder (what still reads it is ended first), not an archive file. */
    private readonly folder = false,
  ) {}
  /** Removes the archive; false (with a warning saying what is left) when that failed. */
  remove(): Promise<boolean> {
    return (this.removal ??= (async () => {
      const copy = await this.copying;
      const failed = (why: string) => {
        this.warnings.push(`Could not remove the copied archive ${copy.file} in ${this.server.container.name} (${why}): the next restore of this database or \`pg-docker-backup cleanup ${this.server.container.name}\` removes it.`);
        return false;
      };
      if (this.folder) {
        const why = await removeTempFolder(this.server.docker, this.server.target, copy.file);
        return why === undefined ? true : failed(why);
      }
      return execClient(this.server.docker, this.server.target, ['rm', '-f', '--', copy.file], { what: 'Removing the copied archive' }).then(
        (r) => (r.exitCode !== 0 ? failed(r.stderr.trim()) : true),
        (e: unknown) => failed(errorMessage(e)),
      );
    })());
  }
  async abandon(): Promise<boolean> {
    this.stop.abort();
    return this.remove();
  }
  /** The archive's path in the container. */
  async file(): Promise<string> {
    return (await this.copying).file;
  }
}

/** Restores the backup into the (already created) scratch database with the plan's loader. */
async function load(server: PgServer, plan: RestorePlan, src: InputSource & { sizeBytes: number; extras?: LoaderExtras }, copy: ArchiveCopy | undefined, op: Operation, warnings: string[]): Promise<void> {
  const { docker, target } = server;
  const name = plan.container.name;
  const copied = copy ? await copy.copying : undefined;
  if (copied?.fatal) throw copied.fatal;
  if (copied?.failure && plan.loader === 'pg_restore-directory') {
    throw new PgBackupError('failed', `Could not unpack ${plan.backup.fileName} into a temporary folder in ${name} (${copied.failure}): free space there or choose another folder in the container (--temp-dir DIR).`);
  }
  let run: LoaderRun;
  if (copied && !copied.failure) {
    op.progress.step('restore', `Restoring ${plan.backup.fileName} into "${plan.scratchDatabase}" with ${plan.jobs} parallel jobs`);
    run = await parallelLoad(docker, target, copied.file, plan.jobs, plan.scratchDatabase, op, src.extras);
  } else {
    if (copied?.failure) {
      const w = `Could not copy ${plan.backup.fileName} into ${name} for a parallel restore (${copied.failure}): restored it from a stream with one job instead.`;
      warnings.push(w);
      op.log.warn(w);
      await copy!.remove(); // what part of it was written
    }
    op.progress.step('restore', `Restoring ${plan.backup.fileName} into "${plan.scratchDatabase}"`);
    run = await runStreamingLoader(docker, target, src, plan.scratchDatabase, op, copied ? 'pg_restore' : plan.loader, name);
  }
  checkLoaderRun(run, plan.loader, name);
}

/** Step 1 and 2: the scratch database, made like the live one, with the backup restored into it. */
async function restoreIntoScratch(server: PgServer, plan: RestorePlan, options: ExecuteOptions, op: Operation, warnings: string[]): Promise<void> {
  const { docker, target } = server;
  const src = { path: plan.backup.path, fileName: plan.backup.fileName, format: plan.backup.format, stages: plan.backup.stages, sizeBytes: plan.backup.sizeBytes, allowMetaCommands: plan.allowMetaCommands, sha256: plan.backup.sha256, keys: options.keys, extras: loaderExtras(plan) };
  const started = Date.now();
  // For a parallel restore the archive is copied into the container while the scratch database is made
  // (pg_restore -j needs a file it can seek in).
  let copy: ArchiveCopy | undefined;
  if (plan.jobs > 1 || plan.loader === 'pg_restore-directory') {
    const stop = new AbortController();
    const signal = op.signal ? AbortSignal.any([op.signal, stop.signal]) : stop.signal;
    const into = plan.loader === 'pg_restore-directory' ? extractIntoContainer : copyIntoContainer;
    copy = new ArchiveCopy(server, into(docker, target, src, options.containerTempDir ?? ARCHIVE_DIR, archivePrefix(plan.database), (n) => op.progress.bytes(n, src.sizeBytes, started), signal), warnings, plan.loader === 'pg_restore-directory');
    copy.stop.signal.addEventListener('abort', () => stop.abort(), { once: true });
  }
  op.progress.step('prepare', copy ? `Creating "${plan.scratchDatabase}" and copying ${plan.backup.fileName} into ${plan.container.name}` : `Creating "${plan.scratchDatabase}"`);
  try {
    await server.admin(createDatabaseLikeSql(plan.liveProperties, plan.scratchDatabase), `creating ${plan.scratchDatabase}`);
    // pg_dump -t leaves out the tables' schemas; a partial backup brings them along in its manifest.
    const schemas = [...new Set(plan.partialSchemas)].filter((s) => s !== 'public');
    if (schemas.length) {
      await runStatements(docker, target, plan.scratchDatabase, schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`), 'creating the schemas of a partial backup');
    }
    await load(server, plan, src, copy, op, warnings);
    await reassignOwned(server, plan, op);
    op.progress.bytes(src.sizeBytes, src.sizeBytes, started, true);
    if (plan.stopContainers.length) {
      // The restore left hundreds of MB unwritten in the page cache. Write them now, while the apps still
      // run: `docker stop` (its overlay unmount syncs the filesystem) would otherwise wait for them inside
      // the apps' downtime. (A CHECKPOINT here measured 0.35 s slower than `sync` and needs a superuser.)
      op.progress.step('restore', 'Writing the restored database to disk');
      await Promise.all([copy?.remove(), flushContainerFilesystem(docker, target.container, { signal: op.signal, logger: op.log })]);
    } else await copy?.remove();
    throwIfAborted(op.signal, 'The restore');
  } catch (e) {
    const [dropped, removed] = await Promise.all([dropQuietly(server, plan.scratchDatabase, plan.server.major, op), copy ? copy.abandon() : true]);
    const left = [dropped ? '' : `the scratch database "${plan.scratchDatabase}"`, removed ? '' : `the copied archive ${await copy!.file()}`].filter(Boolean);
    throw beforeSwapError(e, plan, op.signal, { subject: 'The restore', failing: `Restore of ${plan.backup.fileName}` }, left);
  }
}

/** Runs a plan: restore into scratch, then stop apps, swap, start apps, tidy up. */
export async function executeRestore(docker: DockerClient, plan: RestorePlan, options: ExecuteOptions = {}): Promise<RestoreResult> {
  const op = beginOperation(options);
  const started = Date.now();
  const server = attachedServer(plan) ?? (await openServer(docker, plan.container.id, op)).server;
  op.log.info(`restore plan:\n  ${plan.steps.join('\n  ')}`);
  throwIfAborted(op.signal, 'The restore');
  // One restore (or undo, or reset) of a database at a time; what an interrupted one left goes first.
  const lock = await lockDatabase(server, plan.database, 'restore', op.log, op.now());
  try {
    if (plan.selection?.mode === 'replace') return await lockedReplace(server, plan, options, op, started);
    return await lockedRestore(server, plan, options, op, started);
  } finally {
    await lock.release();
  }
}

async function lockedRestore(server: PgServer, plan: RestorePlan, options: ExecuteOptions, op: Operation, started: number): Promise<RestoreResult> {
  const warnings: string[] = [];
  await clearLeftovers(server, plan, op, warnings);
  const created = await createPlannedRoles(server, plan, op);
  try {
    await restoreIntoScratch(server, plan, options, op, warnings);
  } catch (e) {
    // Nothing was restored: the roles made for it go again (they own nothing now).
    await dropRoles(server, created, op, warnings);
    throw e;
  }
  // The stand-ins own nothing in the restored database any more (reassigned): they go.
  await dropRoles(server, plan.roles.standIns, op, warnings);

  // 3. The swap, with the app containers stopped; 4. tidy up.
  const { downtimeMs, dropped, keptPrevious } = await swapIntoPlace(server, plan, op, warnings, { subject: 'The restore', failing: `Restore of ${plan.backup.fileName}` });
  const durationMs = Date.now() - started;
  op.log.info(`restore of ${plan.backup.fileName} into ${plan.container.name}/${plan.database} done in ${formatDuration(durationMs)} (apps down ${formatDuration(downtimeMs)})`);
  op.progress.step('done', `Restored ${plan.backup.fileName} into "${plan.database}"${keptPrevious ? `; the previous database is kept as "${keptPrevious}"` : ''}`);
  return { plan, durationMs, downtimeMs, keptPrevious, dropped, warnings };
}

/** --replace-tables: the rows of the chosen tables replaced in the live database, in one transaction. */
async function lockedReplace(server: PgServer, plan: RestorePlan, options: ExecuteOptions, op: Operation, started: number): Promise<RestoreResult> {
  await replaceTables(server, plan, op, options.keys, options.containerTempDir);
  const durationMs = Date.now() - started;
  op.log.info(`replaced ${plan.selection!.tables.join(', ')} in ${plan.container.name}/${plan.database} from ${plan.backup.fileName} in ${formatDuration(durationMs)}`);
  op.progress.step('done', `Replaced ${plan.selection!.tables.join(', ')} in "${plan.database}"`);
  return { plan, durationMs, downtimeMs: 0, dropped: [], warnings: [] };
}

/** Plans and runs a restore; `confirm` sees the plan first and may decline (nothing changes then). */
export async function restoreBackup(docker: DockerClient, options: RestoreOptions & { confirm?: (plan: RestorePlan) => Promise<boolean> }): Promise<RestoreResult | undefined> {
  const plan = await planRestore(docker, options);
  if (options.confirm && !(await options.confirm(plan))) return undefined;
  return executeRestore(docker, plan, options);
}
