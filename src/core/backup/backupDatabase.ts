import * as path from 'node:path';
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { diskError, openLocalFileSink, type BackupSink } from '../pipeline/sink';
import { sniffLayers, stagesExtension } from '../pipeline/layers';
import type { StageRecord } from '../pipeline/stage';
import { HeadTap } from '../pipeline/tap';
import { clientError, clientVersion, execClient, serverOverview, type PgTarget } from '../postgres/client';
import { notRunningError } from '../postgres/server';
import { findContainer, type PgContainer } from '../postgres/discovery';
import { tableMatchesPatterns } from '../postgres/sql';
import { HashingCounter, formatBytes } from '../progress';
import { formatExtension, type BackupFormat } from '../store/naming';
import { dumpDependencies } from './dependencies';
import { dumpDirectory } from './directoryDump';
import { detectBackupContent } from './format';
import { manifestOrigin, type BackupManifest } from './manifest';
import { openSnapshotSession } from './snapshot';
import { codecSinceMajor, DEFAULT_COMPRESSION_LEVEL, EXACT_ROW_COUNT_LIMIT_BYTES, pgDumpArgv, tableRowCounts, validateCompressionLevel, type Compression } from './pgDump';


/** A stage that runs on this machine after the container's (e.g. encryption): what to record, and the transform. */
export interface HostStage {
  record: StageRecord;
  transform: () => Transform;
}

export interface BackupOptions extends OperationContext {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  format?: BackupFormat;
  /** The directory format: pg_dump's parallel jobs (default 1). */
  jobs?: number;
  /** The directory format: the folder in the container its temporary folder goes in (default /tmp). */
  containerTempDir?: string;
  /** gzip level (the default codec); `compression` chooses another codec. */
  compressionLevel?: number;
  compression?: Compression;
  /** pg_dump -E: the dump's encoding (default the database's own). */
  encoding?: string;
  /** Refuse unless a host stage encrypts (a container the user marked as holding sensitive data). */
  requireEncryption?: boolean;
  /** pg_dump -t patterns (use `exactPattern` for literal names). */
  tables?: string[];
  /** pg_dump -n patterns. */
  schemas?: string[];
  noOwner?: boolean;
  dir: string;
  /** Stages on this machine after the container's, in order (the last one before the sink). */
  hostStages?: HostStage[];
  /** Where the bytes go; default a local file under `dir`. */
  sink?: (o: { container: string; database: string; extension: `.${string}`; created: Date }) => Promise<BackupSink>;
  exactRowCountLimitBytes?: number;
}

export interface BackupResult {
  path: string;
  bytes: number;
  sha256: string;
  container: string;
  database: string;
  format: BackupFormat;
  serverVersion: string;
  pgDumpVersion: string;
  durationMs: number;
  manifest: BackupManifest;
}

/**
 * What the manifest needs besides the bytes: the server's version, the dump's roles and extensions (asked
 * for beside the rest) and every table's rows, counted in pg_dump's own snapshot by a session that stays
 * open while pg_dump runs (see snapshot.ts). Where a snapshot cannot be exported (e.g. a standby of an old
 * server), pg_dump takes its own and the manifest records the planner's estimates, as such. A mistyped
 * database is a usage error.
 */
async function openFacts(docker: DockerClient, container: PgContainer, database: string, options: BackupOptions, op: Operation) {
  const overview = serverOverview(docker, container.target, op.signal);
  overview.catch(() => undefined);
  const limit = options.exactRowCountLimitBytes ?? EXACT_ROW_COUNT_LIMIT_BYTES;
  const session = await openSnapshotSession(docker, container.target, database, Number.isFinite(limit) ? limit : undefined, op.signal).catch(async (e: unknown) => {
    const o = await overview.catch(() => undefined);
    if (o && !o.databases.some((d) => d.name === database)) {
      throw new PgBackupError('usage', `There is no database "${database}" in ${container.name}; it has: ${o.databases.map((d) => d.name).join(', ') || 'none'}.`);
    }
    if (op.signal?.aborted || !o) throw e;
    op.log.warn(`could not export a snapshot of ${database} in ${container.name} (${errorMessage(e)}): the manifest gets estimated row counts`);
    return undefined;
  });
  // Extensions and roles for a whole database only: pg_dump -t/-n leaves CREATE EXTENSION out.
  const partial = (options.tables?.length ?? 0) + (options.schemas?.length ?? 0) > 0;
  const facts = async () => {
    const [o, counted, deps] = await Promise.all([
      overview,
      session ? session.counts() : tableRowCounts(docker, container.target, database, false, op.signal),
      partial ? {} : dumpDependencies(docker, container.target, database, !!options.noOwner, op.signal),
    ]);
    const tables = counted.filter((t) => tableMatchesPatterns(t.schema, t.name, options.tables ?? [], options.schemas ?? []));
    return { server: o.server, exact: tables.every((t) => !t.estimated), tables, deps };
  };
  return {
    snapshot: session?.snapshot,
    facts,
    major: () => overview.then((o) => o.server.major),
    sizeBytes: () => overview.then((o) => o.databases.find((d) => d.name === database)?.sizeBytes ?? -1),
    end: async (abandon?: boolean) => session?.end(abandon),
  };
}

/** The error for a backup whose database container stopped under it (pg_dump's own words do not say so). */
async function stoppedMeanwhile(docker: DockerClient, container: PgContainer, e: unknown): Promise<PgBackupError | undefined> {
  if (isPgBackupError(e, 'cancelled') || isPgBackupError(e, 'usage')) return undefined;
  const stateNow = () => docker.inspectContainer(container.id).then((d) => d.state, () => undefined);
  let state = await stateNow();
  // A server shutting down ends pg_dump before Docker calls the container stopped: wait a little for that.
  const shutdown = /terminating connection|server closed the connection|not accepting connections|shutting down|could not connect/i.test(`${errorMessage(e)} ${isPgBackupError(e) ? e.detail ?? '' : ''}`);
  for (let i = 0; shutdown && state === 'running' && i < 10; i++) {
    await new Promise((r) => setTimeout(r, 300));
    state = await stateNow();
  }
  if (state === undefined || state === 'running') return undefined;
  return new PgBackupError('failed', `Container ${container.name} stopped during the backup (it is ${state} now): no backup was written. Start it (\`docker start ${container.name}\`) and try again.`, { cause: e });
}

/** pg_dump's version: from the dump's own header under the container's stages, else by asking pg_dump. */
async function dumpVersionOf(docker: DockerClient, target: PgTarget, head: Buffer): Promise<string> {
  const under = sniffLayers(head);
  const fromHeader = under.opaque ? undefined : /^\d+(?:\.\d+)?/.exec(detectBackupContent(under.content).pgDumpVersion ?? '')?.[0];
  return fromHeader ?? (await clientVersion(docker, target, 'pg_dump')).version;
}

/** The compression and host stages asked for, refused before anything runs where they cannot work. */
function checkEncoding(options: BackupOptions, format: BackupFormat): { compression: Compression; hostStages: HostStage[] } {
  const compression: Compression = options.compression ?? { codec: 'gzip', level: options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL };
  if (compression.codec === 'gzip') validateCompressionLevel(format, compression.level ?? DEFAULT_COMPRESSION_LEVEL);
  const hostStages = options.hostStages ?? [];
  if (options.requireEncryption && !hostStages.some((h) => h.record.kind === 'encrypt')) {
    throw new PgBackupError('refused', `Backups of ${options.container} must be encrypted (a setting says so): give recipients (--recipient age1…, --recipients-file) or a passphrase (--passphrase). Nothing was written.`);
  }
  return { compression, hostStages };
}

/** zstd and lz4 need pg_dump 16 (the server's version is pg_dump's in the image). */
function checkCodecVersion(compression: Compression, container: string, major: number): void {
  if (major < codecSinceMajor(compression.codec)) {
    throw new PgBackupError('refused', `${compression.codec} compression needs pg_dump ${codecSinceMajor(compression.codec)} or later; ${container} has PostgreSQL ${major}. Use gzip (the default) there. Nothing was written.`);
  }
}

/**
 * Dumps one database with pg_dump inside its container: pg_dump (compressing in the container) → the
 * host stages (e.g. encryption) → a sink (a local file `DIR/<container>/<database>/<database>_<ts>.<ext>`,
 * written as `.partial`, fsynced, renamed, mode 0600), with a manifest recording every stage. A failure or
 * cancellation leaves nothing behind.
 */
export async function backupDatabase(docker: DockerClient, options: BackupOptions): Promise<BackupResult> {
  const op = beginOperation(options);
  const format = options.format ?? 'sql';
  const { compression, hostStages } = checkEncoding(options, format);
  if (options.jobs !== undefined && (format !== 'directory' || !Number.isInteger(options.jobs) || options.jobs < 1 || options.jobs > 64)) {
    throw new PgBackupError('usage', format !== 'directory' ? 'Parallel jobs (--jobs) need the directory format (--format directory): pg_dump writes one stream otherwise.' : `--jobs must be a whole number from 1 to 64 (got ${options.jobs}).`);
  }
  op.progress.step('prepare', `Inspecting ${options.container}`);
  const container = await findContainer(docker, options.container, { ...op.discovery, withDatabases: false, withApps: false });
  if (!container.running) throw notRunningError(container);
  const database = options.database ?? container.defaultDatabase;
  // pg_dump starts once the snapshot is exported; the rows are counted in it while pg_dump runs.
  const snap = await openFacts(docker, container, database, options, op);
  try {
    const result = await dumpInSnapshot(docker, container, database, options, op, snap, compression, hostStages);
    await snap.end();
    return result;
  } catch (e) {
    await snap.end(true);
    throw e;
  }
}

/** pg_dump in the snapshot → stages → sink, then the manifest (counts in the same snapshot). */
async function dumpInSnapshot(
  docker: DockerClient,
  container: PgContainer,
  database: string,
  options: BackupOptions,
  op: Operation,
  snap: Awaited<ReturnType<typeof openFacts>>,
  compression: Compression,
  hostStages: HostStage[],
): Promise<BackupResult> {
  const format = options.format ?? 'sql';
  const target = container.target;
  const facts = snap.facts();
  facts.catch(() => undefined);
  if (codecSinceMajor(compression.codec) > 0) checkCodecVersion(compression, container.name, await snap.major());
  const containerStages: StageRecord[] = format === 'sql' && compression.codec !== 'none' ? [{ kind: 'compress', algorithm: compression.codec, level: compression.level, where: 'container' }] : [];
  const stages = [...containerStages, ...hostStages.map((s) => s.record)];
  const created = op.now();
  const extension = `${formatExtension(format)}${stagesExtension(stages)}` as `.${string}`;
  const sink = await (options.sink ?? ((o) => openLocalFileSink({ dir: options.dir, ...o })))({ container: container.name, database, extension, created });
  const argv = pgDumpArgv(target, database, { format, compressionLevel: compression.level ?? 0, compression: options.compression, tables: options.tables, schemas: options.schemas, noOwner: options.noOwner, encoding: options.encoding, jobs: options.jobs, snapshot: snap.snapshot });
  op.log.info(`backup ${container.name}/${database} → ${sink.location}`);
  op.progress.step('dump', `Dumping ${database} from ${container.name} (${format})`);

  const started = Date.now();
  try {
    const counter = new HashingCounter((b) => op.progress.bytes(b, undefined, started));
    const entry = new PassThrough({ highWaterMark: 1024 * 1024 });
    const head = new HeadTap();
    const toSink = pipeline([entry, head, ...hostStages.map((s) => s.transform()), counter, sink.stream]);
    toSink.catch(() => undefined); // awaited below; the exec sees the failure through `entry`
    const { program, result } = format === 'directory'
      ? await dumpDirectory(docker, target, { argv, databaseBytes: await snap.sizeBytes(), tempDir: options.containerTempDir, containerName: container.name, database, out: entry, signal: op.signal, log: op.log })
      : { program: 'pg_dump', result: await execClient(docker, target, argv, { stdout: entry, signal: op.signal, what: 'The backup' }) };
    await toSink;
    op.log.debug(`pg_dump ended after ${Date.now() - started} ms`);
    const settled = await facts.then((f) => ({ f, e: undefined }), (e: unknown) => ({ f: undefined, e }));
    if (isPgBackupError(settled.e, 'usage')) throw settled.e; // no such database: say which there are
    if (result.exitCode !== 0) throw clientError(target, program, result, `Backing up ${database}`);
    if (counter.bytes === 0) throw new PgBackupError('failed', `pg_dump wrote nothing for ${database} in ${container.name}.`, { detail: result.stderr });
    if (!settled.f) throw settled.e;
    const { server, exact, tables, deps } = settled.f;
    op.log.debug(`row counts (${exact ? 'exact' : 'estimated'}) ready after ${Date.now() - started} ms`);
    const pgDumpVersion = await dumpVersionOf(docker, target, head.head());
    const durationMs = Date.now() - started;
    op.progress.bytes(counter.bytes, undefined, started, true);
    const manifest: BackupManifest = {
      ...manifestOrigin(container),
      file: sink.fileName,
      database,
      serverVersion: server.version,
      pgDumpVersion,
      format,
      stages,
      archiveCompression: format !== 'sql' ? { algorithm: compression.codec, level: compression.level } : undefined,
      options: { tables: options.tables ?? [], schemas: options.schemas ?? [], noOwner: !!options.noOwner, ...(options.encoding ? { encoding: options.encoding } : {}) },
      bytes: counter.bytes,
      sha256: counter.hash.digest('hex'),
      created: created.toISOString(),
      durationMs,
      rowCounts: exact ? 'exact' : 'estimated',
      ...(snap.snapshot ? { rowCountsSnapshot: 'dump' as const } : {}),
      tables, ...deps,
    };
    await sink.commit(manifest);
    op.log.info(`backup written: ${sink.location} (${formatBytes(counter.bytes)} in ${durationMs} ms, sha256 ${manifest.sha256})`);
    op.progress.step('done', `Backed up ${database} to ${path.basename(sink.location)} (${formatBytes(counter.bytes)})`);
    return { path: sink.location, bytes: counter.bytes, sha256: manifest.sha256, container: container.name, database, format, serverVersion: server.version, pgDumpVersion, durationMs, manifest };
  } catch (e) {
    await sink.abort();
    op.log.info(`backup of ${container.name}/${database} failed; removed its partial file: ${errorMessage(e)}`);
    throw diskError(e, path.dirname(sink.location)) ?? (await stoppedMeanwhile(docker, container, e)) ?? e;
  }
}
