import { PassThrough } from 'node:stream';
import { lockDatabase, type DatabaseLock } from '../databases/lock';
import type { DockerClient } from '../docker/client';
import { PgBackupError, throwIfAborted } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { createDatabaseLikeSql, databasePropertiesSql, parseDatabaseProperties } from '../postgres/admin';
import { flushContainerFilesystem, runningApps } from '../postgres/appContainers';
import { dbConninfo, execClient, type PgTarget } from '../postgres/client';
import { attachServer, attachedServer, openServer, type PgServer } from '../postgres/server';
import { formatBytes, formatDuration } from '../progress';
import { checkLoaderRun, failingStatement, restoreArgv } from './loaders';
import { beforeSwapError, clearLeftovers, dropQuietly, swapIntoPlace } from './swapInto';
import { decideSwapTarget, dropAfterStep, swapSteps, type SwapTarget } from './swapTarget';

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
  /** The engine the source container runs on, when it is not the target's. */
  docker?: DockerClient;
  /** pg_restore arguments (`--no-owner --no-privileges`). */
  restoreArgs?: string[];
}

export interface FromContainerOptions extends OperationContext {
  /** The target (live) container. */
  to: string;
  /** The target database; default the source database. */
  database?: string;
  stop?: string[];
  dropPrevious?: boolean;
}

export interface FromContainerPlan extends SwapTarget {
  source: { container: string; database: string; description: string };
  steps: string[];
}

export interface FromContainerResult {
  durationMs: number;
  /** App containers stopped → started again (0 when none were stopped, e.g. a copy of tables). */
  downtimeMs: number;
  bytes: number;
  keptPrevious?: string;
  dropped: string[];
  warnings: string[];
}

/** The plan's steps in sentences. */
export function fromContainerSteps(p: Omit<FromContainerPlan, 'steps'>): string[] {
  return [
    `Copy "${p.source.database}" from ${p.source.description} (pg_dump there, streamed into pg_restore) into a new database "${p.scratchDatabase}" in ${p.container.name}; "${p.database}" is not touched while this runs.`,
    ...swapSteps(p),
    dropAfterStep(p),
  ].filter(Boolean);
}

/** Works out the copy into the target container; changes nothing. */
export async function planFromContainer(docker: DockerClient, source: FromContainerPlan['source'], options: FromContainerOptions): Promise<FromContainerPlan> {
  const op = beginOperation(options);
  const database = options.database ?? source.database;
  const { server, extra } = await openServer(docker, options.to, op, { withApps: true, nothingChanged: true, extra: { live: `(${databasePropertiesSql(database)})` } });
  const c = server.container;
  if (database === server.maintenanceDb) throw new PgBackupError('refused', `"${database}" is the maintenance database of ${c.name}; replacing it is not supported. Nothing was changed.`);
  const swap = decideSwapTarget(
    {
      container: { id: c.id, name: c.name, protected: c.protected },
      server: server.info,
      maintenanceDb: server.maintenanceDb,
      databases: server.databases,
      liveProperties: parseDatabaseProperties(database, extra.live),
      runningApps: await runningApps(docker, options.stop, c.appContainers),
    },
    database,
    !!options.dropPrevious,
    op.now(),
  );
  const plan: Omit<FromContainerPlan, 'steps'> = { source, ...swap };
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
  const dumping = execClient(source.docker ?? docker, source.target, dumpArgv, { stdout: pipe, signal: dumpSignal, what: 'The copy', onStdout: (n) => op.progress.bytes((bytes = n), undefined, started) });
  dumping.catch(() => undefined);
  const loadArgv = restoreArgv('custom', target.user, database, undefined, { args: source.restoreArgs });
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

/** Scratch database made like the live one, filled from the source; dropped again when anything fails. */
async function copyIntoScratch(server: PgServer, plan: FromContainerPlan, source: ContainerDatabaseSource, op: Operation): Promise<number> {
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
    throw beforeSwapError(e, plan, op.signal, { subject: 'The copy', failing: `Copying "${source.database}" from ${source.description}` }, dropped ? [] : [`the scratch database "${plan.scratchDatabase}"`]);
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
    await clearLeftovers(server, plan, op, warnings);
    const bytes = await copyIntoScratch(server, plan, source, op);
    const { downtimeMs, dropped, keptPrevious } = await swapIntoPlace(server, plan, op, warnings, { subject: 'The copy', failing: `Copying "${source.database}" from ${source.description}` });
    const durationMs = Date.now() - started;
    op.log.info(`copied ${formatBytes(bytes)} into ${plan.container.name}/${plan.database} in ${formatDuration(durationMs)} (apps down ${formatDuration(downtimeMs)})`);
    return { durationMs, downtimeMs, bytes, keptPrevious, dropped, warnings };
  } finally {
    await lock?.release();
  }
}
