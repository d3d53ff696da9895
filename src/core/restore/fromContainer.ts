import { PassThrough } from 'node:stream';
import { removeLeftovers } from '../databases/leftovers';
import { lockDatabase, type DatabaseLock } from '../databases/lock';
import { parseSideDatabaseName, sideDatabaseName } from '../databases/sideDatabases';
import { swapDatabases } from '../databases/swap';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage, isPgBackupError, throwIfAborted } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { createDatabaseLikeSql, databasePropertiesSql, dropDatabaseSql, parseDatabaseProperties, type DatabaseProperties } from '../postgres/admin';
import { flushContainerFilesystem, runningApps, withAppsStopped } from '../postgres/appContainers';
import { dbConninfo, execClient, type PgTarget, type ServerInfo } from '../postgres/client';
import type { AppContainer } from '../postgres/discovery';
import { attachServer, attachedServer, openServer, type PgServer } from '../postgres/server';
import { formatBytes, formatDuration } from '../progress';
import { checkLoaderRun, failingStatement, restoreArgv } from './loaders';

/**
 * A database taken from another container (a point-in-time recovery container, later `copy`): pg_dump
 * there streams straight into pg_restore in the target's scratch database; then the same swap as every
 * restore (apps stopped only for it, the live database kept for undo).
 */
export interface ContainerDatabaseSource {
  /** How to run pg_dump in the source container. */
  target: PgTarget;
  database: string;
  /** For plans and messages: `the recovery container X (as of 14:03:00 UTC)`. */
  description: string;
}

export interface FromContainerOptions extends OperationContext {
  /** The target (live) container. */
  to: string;
  /** The target database; default the source database. */
  database?: string;
  stop?: string[];
  dropPrevious?: boolean;
}

export interface FromContainerPlan {
  source: { container: string; database: string; description: string };
  container: { id: string; name: string; protected: boolean };
  server: ServerInfo;
  maintenanceDatabase: string;
  database: string;
  liveExists: boolean;
  liveProperties?: DatabaseProperties;
  scratchDatabase: string;
  previousDatabase?: string;
  stopContainers: AppContainer[];
  /** Databases kept for undo by an earlier restore, dropped after this one succeeds. */
  dropAfter: string[];
  dropPrevious: boolean;
  steps: string[];
}

export interface FromContainerResult {
  durationMs: number;
  downtimeMs: number;
  bytes: number;
  keptPrevious?: string;
  dropped: string[];
  warnings: string[];
}

/** The plan's steps in sentences. */
export function fromContainerSteps(p: Omit<FromContainerPlan, 'steps'>): string[] {
  const apps = p.stopContainers.map((a) => a.name).join(', ');
  return [
    `Copy "${p.source.database}" from ${p.source.description} (pg_dump there, streamed into pg_restore) into a new database "${p.scratchDatabase}" in ${p.container.name}; "${p.database}" is not touched while this runs.`,
    p.stopContainers.length ? `Stop ${apps}.` : 'No app container to stop.',
    p.liveExists
      ? `End the remaining sessions of "${p.database}", rename it to "${p.previousDatabase}", and rename "${p.scratchDatabase}" to "${p.database}" (one transaction).`
      : `Rename "${p.scratchDatabase}" to "${p.database}" (there is no "${p.database}" yet).`,
    p.stopContainers.length ? `Start ${apps} again (whatever happens).` : '',
    p.liveExists ? (p.dropPrevious ? `Drop "${p.previousDatabase}" (no undo).` : `Keep "${p.previousDatabase}" for undo until the next successful restore of "${p.database}".`) : '',
    p.dropAfter.length ? `Drop ${p.dropAfter.map((d) => `"${d}"`).join(', ')}, kept for undo by an earlier restore.` : '',
  ].filter(Boolean);
}

/** Works out the copy into the target container; changes nothing. */
export async function planFromContainer(docker: DockerClient, source: FromContainerPlan['source'], options: FromContainerOptions): Promise<FromContainerPlan> {
  const op = beginOperation(options);
  const database = options.database ?? source.database;
  const { server, extra } = await openServer(docker, options.to, op, { withApps: true, nothingChanged: true, extra: { live: `(${databasePropertiesSql(database)})` } });
  const c = server.container;
  if (database === server.maintenanceDb) throw new PgBackupError('refused', `"${database}" is the maintenance database of ${c.name}; replacing it is not supported. Nothing was changed.`);
  const liveExists = server.databases.some((d) => d.name === database);
  const now = op.now();
  const sides = server.databases.map((d) => ({ name: d.name, side: parseSideDatabaseName(database, d.name) })).filter((d) => d.side);
  const plan: Omit<FromContainerPlan, 'steps'> = {
    source,
    container: { id: c.id, name: c.name, protected: c.protected },
    server: server.info,
    maintenanceDatabase: server.maintenanceDb,
    database,
    liveExists,
    liveProperties: liveExists ? parseDatabaseProperties(database, extra.live) : undefined,
    scratchDatabase: sideDatabaseName(database, 'restoring', now),
    previousDatabase: liveExists ? sideDatabaseName(database, 'before_restore', now) : undefined,
    stopContainers: await runningApps(docker, options.stop, c.appContainers),
    dropAfter: sides.filter((d) => d.side!.kind === 'before_restore').map((d) => d.name),
    dropPrevious: !!options.dropPrevious,
  };
  return attachServer({ ...plan, steps: fromContainerSteps(plan) }, server);
}

/**
 * pg_dump -Fc in the source container → pg_restore in the target's scratch database, with backpressure
 * through one stream. A loader that stops early stops the dump; a dump that fails fails the copy.
 */
export async function copyDatabaseStream(docker: DockerClient, source: ContainerDatabaseSource, target: PgTarget, database: string, op: Operation): Promise<number> {
  const started = Date.now();
  let bytes = 0;
  const pipe = new PassThrough({ highWaterMark: 1024 * 1024 });
  const stopDump = new AbortController();
  const dumpSignal = op.signal ? AbortSignal.any([op.signal, stopDump.signal]) : stopDump.signal;
  const dumpArgv = ['pg_dump', '-w', '-U', source.target.user, '-d', dbConninfo(source.database), '-Fc', '-Z0'];
  const dumping = execClient(docker, source.target, dumpArgv, { stdout: pipe, signal: dumpSignal, what: 'The copy', onStdout: (n) => op.progress.bytes((bytes = n), undefined, started) });
  dumping.catch(() => undefined);
  const loadArgv = restoreArgv('custom', target.user, database);
  const loading = execClient(docker, target, loadArgv, { stdin: pipe, signal: op.signal, what: 'The copy' });
  const load = await loading.then((r) => ({ r, e: undefined }), (e: unknown) => ({ r: undefined, e }));
  // The loader is gone: nobody reads the pipe any more, so the dump must not wait on it. pg_restore that
  // succeeded may exit before the last bytes of the stream arrive (it stops after the last entry it needs):
  // then the rest is drained and the dump finishes; one that failed stops the dump.
  if (!pipe.readableEnded) {
    if (load.r?.exitCode === 0) pipe.resume();
    else stopDump.abort();
  }
  const dump = await dumping.then((r) => ({ r, e: undefined }), (e: unknown) => ({ r: undefined, e }));
  throwIfAborted(op.signal, 'The copy');
  // The dump's own failure explains a loader that saw its input end early.
  if (dump.r && dump.r.exitCode !== 0) {
    throw new PgBackupError('failed', `pg_dump of "${source.database}" in ${source.target.containerName} failed: ${failingStatement(dump.r.stderr)}`, { detail: dump.r.stderr });
  }
  if (load.e) throw load.e;
  checkLoaderRun({ argv: loadArgv, result: load.r! }, 'pg_restore', target.containerName);
  if (dump.e) throw dump.e;
  op.progress.bytes(bytes, undefined, started, true);
  return bytes;
}

async function dropQuietly(server: PgServer, name: string, major: number, op: Operation): Promise<boolean> {
  return server.admin([dropDatabaseSql(name, major)], `dropping ${name}`).then(
    () => true,
    (e: unknown) => {
      op.log.error(`could not drop ${name}: ${errorMessage(e)}`);
      return false;
    },
  );
}

/** Scratch database made like the live one, filled from the source; dropped again when anything fails. */
async function copyIntoScratch(server: PgServer, plan: FromContainerPlan, source: ContainerDatabaseSource, op: Operation): Promise<number> {
  const untouched = plan.liveExists ? `"${plan.database}" in ${plan.container.name} is untouched` : `nothing was created in ${plan.container.name}`;
  op.progress.step('prepare', `Creating "${plan.scratchDatabase}"`);
  try {
    await server.admin(createDatabaseLikeSql(plan.liveProperties, plan.scratchDatabase), `creating ${plan.scratchDatabase}`);
    op.progress.step('restore', `Copying "${source.database}" from ${source.description} into "${plan.scratchDatabase}"`);
    const bytes = await copyDatabaseStream(server.docker, source, server.target, plan.scratchDatabase, op);
    if (plan.stopContainers.length) {
      op.progress.step('restore', 'Writing the copied database to disk');
      await flushContainerFilesystem(server.docker, server.target.container, { signal: op.signal, logger: op.log });
    }
    throwIfAborted(op.signal, 'The copy');
    return bytes;
  } catch (e) {
    const dropped = await dropQuietly(server, plan.scratchDatabase, plan.server.major, op);
    const tidy = dropped ? ' and the scratch database was dropped' : `; the scratch database "${plan.scratchDatabase}" was left behind (\`pg-docker-backup cleanup ${plan.container.name}\` removes it)`;
    if (isPgBackupError(e, 'cancelled') || op.signal?.aborted) throw new PgBackupError('cancelled', `The copy was cancelled before the swap: ${untouched}${tidy}.`);
    throw new PgBackupError('failed', `Copying "${source.database}" from ${source.description} failed; nothing was changed: ${untouched}${tidy}. ${errorMessage(e).replace(/\.$/, '')}.`, {
      cause: e,
      detail: isPgBackupError(e) ? e.detail : undefined,
    });
  }
}

/**
 * Runs the plan: lock (unless the caller holds it), leftovers of interrupted restores, copy into scratch,
 * then stop apps, swap, start apps, tidy up.
 */
export async function executeFromContainer(docker: DockerClient, plan: FromContainerPlan, source: ContainerDatabaseSource, options: OperationContext & { lockHeld?: boolean } = {}): Promise<FromContainerResult> {
  const op = beginOperation(options);
  const started = Date.now();
  const server = attachedServer(plan) ?? (await openServer(docker, plan.container.id, op)).server;
  op.log.info(`copy plan:\n  ${plan.steps.join('\n  ')}`);
  throwIfAborted(op.signal, 'The copy');
  const lock: DatabaseLock | undefined = options.lockHeld ? undefined : await lockDatabase(server, plan.database, 'copy', op.log, op.now());
  try {
    const warnings: string[] = [];
    await removeLeftovers(server, op.log, plan.database).catch((e: unknown) => op.log.warn(`could not look for leftovers: ${errorMessage(e)}`));
    const bytes = await copyIntoScratch(server, plan, source, op);
    const toDrop = [...plan.dropAfter, ...(plan.dropPrevious && plan.previousDatabase ? [plan.previousDatabase] : [])];
    const dropped: string[] = [];
    const outcome = await withAppsStopped(
      docker,
      plan.stopContainers,
      async () => {
        op.progress.step('swap', `Swapping "${plan.scratchDatabase}" into place`);
        try {
          const swap = await swapDatabases(server, { live: plan.database, incoming: plan.scratchDatabase, outgoingAs: plan.previousDatabase }, op.log);
          if (swap.warning) warnings.push(swap.warning);
        } catch (e) {
          await dropQuietly(server, plan.scratchDatabase, plan.server.major, op);
          throw new PgBackupError('failed', `The copy failed at the swap; nothing was changed: "${plan.database}" is untouched and the scratch database was dropped. ${errorMessage(e)}`, { cause: e });
        }
      },
      { logger: op.log, onStep: (m) => op.progress.step('swap', m) },
    );
    for (const name of toDrop) if (await dropQuietly(server, name, plan.server.major, op)) dropped.push(name);
    warnings.push(...outcome.startFailures.map((f) => `Could not start ${f}`));
    const keptPrevious = plan.previousDatabase && !plan.dropPrevious ? plan.previousDatabase : undefined;
    const durationMs = Date.now() - started;
    op.log.info(`copied ${formatBytes(bytes)} into ${plan.container.name}/${plan.database} in ${formatDuration(durationMs)} (apps down ${formatDuration(outcome.downtimeMs)})`);
    return { durationMs, downtimeMs: outcome.downtimeMs, bytes, keptPrevious, dropped, warnings };
  } finally {
    await lock?.release();
  }
}
