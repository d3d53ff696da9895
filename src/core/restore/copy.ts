import { PassThrough, Writable } from 'node:stream';
import { lockDatabase } from '../databases/lock';
import type { DockerClient } from '../docker/client';
import { tableRowCounts } from '../backup/pgDump';
import { PgBackupError, errorMessage, throwIfAborted } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { dbConninfo, execClient, queryJson, type PgTarget } from '../postgres/client';
import { attachServer, attachedServer, openServer, type PgServer } from '../postgres/server';
import { formatBytes, formatDuration } from '../progress';
import type { RowCountSource } from './checkData';
import { decideCopyRoles, decideTablesCopy, describeEnd, refuseCopy, selectedObjects, tablesDumpArgv, type CopyEnd, type CopyPlan, type TablesCopyFacts } from './copyPlan';
import { executeFromContainer, planFromContainer, type FromContainerResult } from './fromContainer';
import type { BackupInput } from './input';
import { failingStatement } from './loaders';
import { replaceRows, type StartProducer } from './replaceTables';
import { rolesInToc } from './roleNeeds';
import { liveTablesSql } from './selective';
import { isSelective, type SelectionRequest } from './selectivePlan';
import { TOC_LIMIT, archiveTables, parseArchiveToc, type ArchiveToc } from './toc';

export type { CopyPlan } from './copyPlan';

export interface CopyOptions extends OperationContext, Pick<SelectionRequest, 'tables' | 'schemas'> {
  /** The source container (on the source engine). */
  from: string;
  /** The target container (on the target engine). */
  to: string;
  /** The source database; default the source container's POSTGRES_DB. */
  database?: string;
  /** The target database; default the source database's name. */
  toDatabase?: string;
  /** Containers to stop during the swap instead of the target's discovered app containers. */
  stop?: string[];
  dropPrevious?: boolean;
  /** A whole copy into a server that lacks the source's roles: the target's user owns everything (pg_restore --no-owner --no-privileges). */
  noOwner?: boolean;
}

/** The two engines; the same client twice when both containers are on one. */
export interface CopyEngines {
  source: DockerClient;
  target: DockerClient;
}

export interface CopyResult extends FromContainerResult {
  plan: CopyPlan;
  /** The source's exact row counts of what was copied, counted right after the copy (for the rows check). */
  sourceRows?: RowCountSource;
}

async function hostOf(docker: DockerClient): Promise<string> {
  return (await docker.endpoint()).url;
}

/**
 * Reads the source database's table of contents: `pg_dump --schema-only -Fc` in the source container, read
 * here only until its TOC (at the start of the archive) parses; the dump is stopped then.
 */
export async function readSourceToc(docker: DockerClient, target: PgTarget, database: string, signal?: AbortSignal): Promise<ArchiveToc> {
  const stop = new AbortController();
  const chunks: Buffer[] = [];
  let size = 0;
  let toc: ArchiveToc | undefined;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk);
      size += chunk.length;
      toc ??= parseArchiveToc(Buffer.concat(chunks));
      if (toc || size > TOC_LIMIT) stop.abort();
      done();
    },
  });
  const argv = ['pg_dump', '-w', '-U', target.user, '-d', dbConninfo(database), '-Fc', '-Z0', '--schema-only'];
  const r = await execClient(docker, target, argv, { stdout: sink, signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, what: 'Reading the tables of the source' }).catch((e: unknown) => {
    if (!toc) throw e;
    return undefined;
  });
  if (r && r.exitCode !== 0 && !toc) throw new PgBackupError('failed', `pg_dump --schema-only of "${database}" in ${target.containerName} failed: ${failingStatement(r.stderr)}`, { detail: r.stderr });
  toc ??= parseArchiveToc(Buffer.concat(chunks));
  if (!toc) throw new PgBackupError('failed', `Could not read the tables of "${database}" in ${target.containerName}: pg_dump's archive ended before its table of contents.`);
  return toc;
}

/** The tables of a database in a container, by schema (for a picker): read from its schema-only dump's TOC. */
export async function sourceTables(docker: DockerClient, container: string, database: string, ctx: OperationContext = {}): Promise<{ schema: string; name: string }[]> {
  const op = beginOperation(ctx);
  const { server } = await openServer(docker, container, op);
  return archiveTables(await readSourceToc(docker, server.target, database, op.signal));
}

/** Works out the copy and refuses what cannot work; changes nothing. */
export async function planCopy(engines: CopyEngines, options: CopyOptions): Promise<CopyPlan> {
  const op = beginOperation(options);
  const [sourceHost, targetHost] = await Promise.all([hostOf(engines.source), hostOf(engines.target)]);
  const crossEngine = sourceHost !== targetHost;
  const { server: src } = await openServer(engines.source, options.from, op, { nothingChanged: true });
  const sc = src.container;
  const database = options.database ?? sc.defaultDatabase;
  const toDatabase = options.toDatabase ?? database;
  const source: CopyEnd = { container: { id: sc.id, name: sc.name, protected: sc.protected }, host: sourceHost, database, server: src.info };
  const sourceDatabases = src.databases.map((d) => d.name);
  const endOf = (s: PgServer): CopyEnd => ({ container: { id: s.container.id, name: s.container.name, protected: s.container.protected }, host: targetHost, database: toDatabase, server: s.info });
  let plan: CopyPlan;
  let dst: PgServer;
  if (isSelective(options)) {
    dst = (await openServer(engines.target, options.to, op, { nothingChanged: true })).server;
    const target = endOf(dst);
    refuseCopy({ source, target, sourceDatabases });
    const toc = await readSourceToc(engines.source, src.target, database, op.signal);
    const objects = selectedObjects(toc, options, `"${database}" in ${sc.name}`);
    const targetExists = dst.databases.some((d) => d.name === toDatabase);
    const live = targetExists ? await queryJson<TablesCopyFacts['live']>(engines.target, dst.target, toDatabase, liveTablesSql(objects.tables), 'looking at the tables to replace', op.signal) : undefined;
    plan = decideTablesCopy({ source, target, crossEngine, toc, targetExists, live }, options);
  } else {
    // The swap plan opens the target (with its apps) and changes nothing either.
    const whole = await planFromContainer(engines.target, { container: sc.name, database, description: describeEnd(source, crossEngine) }, { ...options, database: toDatabase });
    dst = attachedServer(whole)!;
    const target = endOf(dst);
    refuseCopy({ source, target, sourceDatabases });
    // The roles the source's objects name, from its schema's table of contents, against the target's.
    const [toc, existing] = await Promise.all([
      readSourceToc(engines.source, src.target, database, op.signal),
      queryJson<string[]>(engines.target, dst.target, dst.maintenanceDb, "SELECT coalesce(json_agg(rolname), '[]') FROM pg_roles", 'listing the roles of the target', op.signal),
    ]);
    const roles = decideCopyRoles({ source, target, needed: rolesInToc(toc), existing }, !!options.noOwner);
    const noOwner = roles.missingRoles.length > 0;
    plan = { mode: 'database', source, target, crossEngine, whole, missingRoles: roles.missingRoles, noOwner, steps: [...roles.steps, ...whole.steps] };
  }
  // Both servers go with the plan to its execution, without showing in its JSON.
  Object.defineProperty(plan, 'source$', { value: src, enumerable: false, configurable: true });
  return attachServer(plan, dst);
}

/** pg_dump in the source container as a stream for the loader, in the shape of a backup input (see openInput). */
function dumpInput(docker: DockerClient, target: PgTarget, argv: string[], database: string, op: Operation, onBytes: (n: number) => void): BackupInput {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const stopper = new AbortController();
  let stopped = false;
  const signal = op.signal ? AbortSignal.any([op.signal, stopper.signal]) : stopper.signal;
  const done = execClient(docker, target, argv, { stdout: out, signal, what: 'The copy', onStdout: onBytes }).then(
    (r) => {
      if (r.exitCode !== 0 && !stopped) throw new PgBackupError('failed', `pg_dump of "${database}" in ${target.containerName} failed: ${failingStatement(r.stderr)}`, { detail: r.stderr });
    },
    (e: unknown) => {
      if (!stopped || op.signal?.aborted) throw e;
    },
  );
  done.catch(() => undefined);
  return {
    stream: out,
    done,
    stop: () => {
      stopped = true;
      stopper.abort();
    },
  };
}

const sourceName = (plan: CopyPlan) => `"${plan.source.database}" in ${plan.source.container.name}`;

/** Tables: lock the target database against other restores, then replace the rows in one transaction. */
async function copyTables(engines: CopyEngines, plan: CopyPlan, server: PgServer, src: PgServer, op: Operation): Promise<CopyResult> {
  const started = Date.now();
  const sel = plan.selection!;
  let bytes = 0;
  const lock = await lockDatabase(server, plan.target.database, 'copy', op.log, op.now());
  try {
    const argv = tablesDumpArgv(src.target.user, plan.source.database, plan.dumpObjects ?? []);
    const start: StartProducer = async (script, signal) => {
      const input = dumpInput(engines.source, src.target, argv, plan.source.database, op, (n) => op.progress.bytes((bytes = n), undefined, started));
      const producing = execClient(server.docker, server.target, ['pg_restore', '-f', '-', '--data-only'], { stdin: input.stream, stdout: script, signal, what: 'Reading the tables from the source' });
      return { producing, finish: async () => (input.stop(), input.done.then(() => undefined, (e: unknown) => e)) };
    };
    await replaceRows(server, plan.target.database, sel, sourceName(plan), start, op);
  } finally {
    await lock.release();
  }
  const durationMs = Date.now() - started;
  op.log.info(`copied ${sel.tables.join(', ')} (${formatBytes(bytes)}) into ${plan.target.container.name}/${plan.target.database} in ${formatDuration(durationMs)}`);
  op.progress.step('done', `Replaced ${sel.tables.join(', ')} in "${plan.target.database}" with the rows of ${sourceName(plan)}`);
  return { plan, durationMs, downtimeMs: 0, bytes, dropped: [], warnings: [] };
}

/**
 * The source's exact row counts of what was copied, counted once the copy is done: equal to the target's
 * unless the source was written meanwhile (then the rows check says so instead of failing). Best effort.
 */
async function sourceRowCounts(docker: DockerClient, src: PgServer, plan: CopyPlan, op: Operation): Promise<RowCountSource | undefined> {
  try {
    const all = await tableRowCounts(docker, src.target, plan.source.database, true, op.signal);
    const picked = plan.selection ? all.filter((t) => plan.selection!.tables.includes(`${t.schema}.${t.name}`)) : all;
    return { file: `${sourceName(plan)} (counted there after the copy)`, rowCounts: 'exact', tables: picked.map(({ schema, name, rows }) => ({ schema, name, rows })) };
  } catch (e) {
    op.log.warn(`could not count the rows of ${sourceName(plan)}: ${errorMessage(e)}`);
    return undefined;
  }
}

/** Runs a copy plan. */
export async function executeCopy(engines: CopyEngines, plan: CopyPlan, options: OperationContext = {}): Promise<CopyResult> {
  const op = beginOperation(options);
  const server = attachedServer(plan) ?? (await openServer(engines.target, plan.target.container.id, op)).server;
  const src = (plan as { source$?: PgServer }).source$ ?? (await openServer(engines.source, plan.source.container.id, op)).server;
  throwIfAborted(op.signal, 'The copy');
  if (plan.mode === 'tables') {
    const r = await copyTables(engines, plan, server, src, op);
    return { ...r, sourceRows: await sourceRowCounts(engines.source, src, plan, op) };
  }
  const whole = attachServer(plan.whole!, server);
  const restoreArgs = plan.noOwner ? ['--no-owner', '--no-privileges'] : undefined;
  const r = await executeFromContainer(engines.target, whole, { target: src.target, database: plan.source.database, description: whole.source.description, docker: engines.source, restoreArgs }, options);
  op.progress.step('done', `Copied ${sourceName(plan)} into "${plan.target.database}" in ${plan.target.container.name}${r.keptPrevious ? `; the previous database is kept as "${r.keptPrevious}"` : ''}`);
  return { plan, ...r, sourceRows: await sourceRowCounts(engines.source, src, plan, op) };
}

/** Plans and runs a copy; `confirm` sees the plan first and may decline (nothing changes then). */
export async function copyDatabase(engines: CopyEngines, options: CopyOptions & { confirm?: (plan: CopyPlan) => Promise<boolean> }): Promise<CopyResult | undefined> {
  const plan = await planCopy(engines, options);
  if (options.confirm && !(await options.confirm(plan))) return undefined;
  return executeCopy(engines, plan, options);
}
