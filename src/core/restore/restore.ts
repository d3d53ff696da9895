import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { flushContainerFilesystem, runningApps, withAppsStopped } from '../postgres/appContainers';
import { PLAIN_DUMP_COMPLETE, inspectBackupFile, type BackupContent } from '../backup/format';
import { describeBackup, type BackupEntry } from '../store/backupStore';
import {
  allowConnectionsSql,
  createDatabaseLikeSql,
  databasePropertiesSql,
  dropDatabaseSql,
  parseDatabaseProperties,
  type DatabaseProperties,
  runStatements,
  terminateAndWaitSql,
} from '../postgres/admin';
import { findContainer, type AppContainer, type DiscoveryOptions, type PgContainer } from '../postgres/discovery';
import type { DockerClient, ExecResult } from '../docker/client';
import { PgBackupError, errorMessage, isPgBackupError, throwIfAborted } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { parseSideDatabaseName, sideDatabaseName } from '../databases/sideDatabases';
import { argvSecrets, clientEnv, dbConninfo, firstErrorLines, serverInfoAndDatabases, serverOverview, type ServerInfo } from '../postgres/client';
import { ProgressReporter, formatBytes, formatDuration, type ProgressListener } from '../progress';
import { quoteIdent } from '../postgres/sql';

export interface RestoreOptions {
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
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  logger?: Logger;
  discovery?: DiscoveryOptions;
  now?: () => Date;
}

export interface RestorePlan {
  backup: Pick<BackupEntry, 'path' | 'fileName' | 'sizeBytes' | 'format' | 'gzipped' | 'pgDumpVersion' | 'serverVersion' | 'container' | 'database' | 'created'>;
  /** `protected`: a production-like container (label or setting): confirmations ask to type the database name. */
  container: { id: string; name: string; protected: boolean };
  server: ServerInfo;
  /** The database the plan connects to for cluster-level work (`postgres`, or `template1`). */
  maintenanceDatabase: string;
  database: string;
  liveExists: boolean;
  /** How the live database was made (owner, encoding, collation, settings…), copied to the scratch one. */
  liveProperties?: DatabaseProperties;
  scratchDatabase: string;
  /** Where the live database goes; undefined when there is no live database. */
  previousDatabase?: string;
  /** App containers that are running and will be stopped for the swap. */
  stopContainers: AppContainer[];
  /** Databases kept for undo by an earlier restore, dropped after this one succeeds. */
  dropAfter: string[];
  dropPrevious: boolean;
  /** Scratch databases of interrupted restores, left alone (a restore may be running). */
  leftoverScratch: string[];
  /** For a partial (--table) backup: the schemas its tables live in, created before the restore. */
  partialSchemas: string[];
  /** pg_restore jobs; above 1 the archive is copied into the container first. Always 1 for plain dumps. */
  jobs: number;
  /** The plan in sentences, in order. */
  steps: string[];
}

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

/** The bits of a backup the plan depends on, with the file's real content checked. */
async function inspectForRestore(path: string): Promise<{ entry: BackupEntry; content: BackupContent }> {
  let entry: BackupEntry;
  try {
    entry = await describeBackup(path);
  } catch (e) {
    throw new PgBackupError('usage', `Cannot read the backup ${path}: ${errorMessage(e)}`);
  }
  const content = await inspectBackupFile(path);
  if (content.format === 'unknown') {
    throw new PgBackupError(
      'refused',
      `${entry.fileName} is not a PostgreSQL backup: it is neither a plain SQL dump nor a pg_dump custom archive (gzipped or not). Nothing was changed.`,
    );
  }
  if (content.cluster) {
    throw new PgBackupError('refused', `${entry.fileName} is a pg_dumpall cluster dump (roles and every database), not a backup of one database; restore it with psql by hand. Nothing was changed.`);
  }
  if (entry.manifest && entry.manifest.format !== content.format) {
    throw new PgBackupError('refused', `${entry.fileName} does not match its manifest (the manifest says ${entry.manifest.format}, the file is ${content.format}). Nothing was changed.`);
  }
  return { entry: { ...entry, format: content.format, gzipped: content.gzipped, pgDumpVersion: entry.pgDumpVersion ?? content.pgDumpVersion }, content };
}

/**
 * Below this size a parallel restore does not pay for copying the archive into the container (measured
 * on two cores: break-even around 48 MB). An explicit `jobs` applies at any size.
 */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** Works out what a restore will do, refusing early (before anything changes) where it cannot work. */
export async function planRestore(docker: DockerClient, options: RestoreOptions): Promise<RestorePlan> {
  const log = options.logger ?? silentLogger;
  const { entry, content } = await inspectForRestore(options.backupPath);
  const containerName = options.to ?? entry.container;
  if (!containerName) {
    throw new PgBackupError('usage', `${entry.fileName} has no manifest saying where it came from: name the target container (CLI: --to CONTAINER).`);
  }
  const container: PgContainer = await findContainer(docker, containerName, { ...options.discovery, withDatabases: false, logger: log });
  if (!container.running) {
    throw new PgBackupError('refused', `Container ${container.name} is not running (it is ${container.state}): start it with \`docker start ${container.name}\` and try again. Nothing was changed.`);
  }
  const database = options.database ?? entry.database ?? content.database;
  if (!database) {
    throw new PgBackupError('usage', `${entry.fileName} does not say which database it belongs to: name the target database (CLI: --database DB).`);
  }
  // The live database's properties come in the same round trip as the overview (null when there is none).
  const { maintenanceDb, server, databases, extra } = await serverOverview(docker, container.target, options.signal, { live: `(${databasePropertiesSql(database)})` });
  const dumpMajor = content.pgDumpMajor ?? (entry.pgDumpVersion ? Number.parseInt(entry.pgDumpVersion, 10) : undefined);
  if (dumpMajor !== undefined && dumpMajor > server.major) {
    throw new PgBackupError(
      'refused',
      `${entry.fileName} was made by pg_dump ${entry.pgDumpVersion ?? dumpMajor}, newer than PostgreSQL ${server.major} in ${container.name}: ` +
        `a dump from a newer pg_dump cannot be restored into an older server. Restore it into a PostgreSQL ${dumpMajor} (or newer) container. Nothing was changed.`,
    );
  }
  const now = (options.now ?? (() => new Date()))();
  const liveExists = databases.some((d) => d.name === database);
  const filters = entry.manifest ? [...entry.manifest.options.tables, ...entry.manifest.options.schemas] : [];
  if (filters.length > 0 && liveExists) {
    throw new PgBackupError(
      'refused',
      `${entry.fileName} holds only part of "${entry.manifest!.database}" (${entry.manifest!.options.tables.length ? `tables ${entry.manifest!.options.tables.join(', ')}` : `schemas ${entry.manifest!.options.schemas.join(', ')}`}): ` +
        `restoring it over "${database}" would replace the whole database with just that part. Restore it into a new database instead (CLI: --database NEW_NAME). Nothing was changed.`,
    );
  }
  const scratchDatabase = sideDatabaseName(database, 'restoring', now);
  const previousDatabase = liveExists ? sideDatabaseName(database, 'before_restore', now) : undefined;
  const sides = databases.map((d) => ({ name: d.name, side: parseSideDatabaseName(database, d.name) })).filter((d) => d.side);
  const dropAfter = sides.filter((d) => d.side!.kind === 'before_restore').map((d) => d.name);
  const leftoverScratch = sides.filter((d) => d.side!.kind === 'restoring').map((d) => d.name);

  const liveProperties = liveExists ? parseDatabaseProperties(database, extra.live) : undefined;
  const parallelPossible = content.format === 'custom' && !content.gzipped;
  const [stopContainers, jobs] = await Promise.all([
    runningApps(docker, options.stop, container.appContainers),
    !parallelPossible
      ? 1
      : options.jobs !== undefined
        ? Math.max(1, Math.trunc(options.jobs))
        : entry.sizeBytes < PARALLEL_MIN_BYTES
          ? 1
          : docker.cpuCount(container.id).then((n) => Math.min(8, n), () => 1),
  ]);

  const where = `${container.name}`;
  const steps = [
    `Restore ${entry.fileName} (${content.format}${content.gzipped ? ', gzipped' : ''}, ${formatBytes(entry.sizeBytes)}${entry.pgDumpVersion ? `, pg_dump ${entry.pgDumpVersion}` : ''}) into a new database "${scratchDatabase}" in ${where} (PostgreSQL ${server.version})${jobs > 1 ? ` with ${jobs} parallel jobs (the archive is copied into the container and removed afterwards)` : ''}; "${database}" is not touched while this runs.`,
    stopContainers.length
      ? `Stop ${stopContainers.map((a) => a.name).join(', ')}.`
      : 'No app container to stop.',
    liveExists
      ? `End the remaining sessions of "${database}", rename it to "${previousDatabase}", and rename "${scratchDatabase}" to "${database}" (one transaction).`
      : `Rename "${scratchDatabase}" to "${database}" (there is no "${database}" yet).`,
    stopContainers.length ? `Start ${stopContainers.map((a) => a.name).join(', ')} again (whatever happens).` : '',
    liveExists
      ? options.dropPrevious
        ? `Drop "${previousDatabase}" (--drop-previous: no undo).`
        : `Keep "${previousDatabase}" for undo until the next successful restore of "${database}".`
      : '',
    dropAfter.length ? `Drop ${dropAfter.map((d) => `"${d}"`).join(', ')}, kept for undo by an earlier restore.` : '',
  ].filter(Boolean);
  return {
    backup: {
      path: entry.path,
      fileName: entry.fileName,
      sizeBytes: entry.sizeBytes,
      format: content.format,
      gzipped: content.gzipped,
      pgDumpVersion: entry.pgDumpVersion,
      serverVersion: entry.serverVersion,
      container: entry.container,
      database: entry.database,
      created: entry.created,
    },
    container: { id: container.id, name: container.name, protected: container.protected },
    server,
    maintenanceDatabase: maintenanceDb,
    database,
    liveExists,
    liveProperties,
    scratchDatabase,
    previousDatabase,
    stopContainers,
    dropAfter,
    dropPrevious: !!options.dropPrevious,
    leftoverScratch,
    partialSchemas: entry.manifest?.options.tables.length ? entry.manifest.tables.map((t) => t.schema) : [],
    jobs,
    steps,
  };
}

/** Fails the stream at its end when a plain pg_dump script lacks pg_dump's closing line (a cut-off dump). */
class PlainDumpCompleteness extends Transform {
  private tail = Buffer.alloc(0);
  constructor(private readonly fileName: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - 2048))]).subarray(-2048);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (!this.tail.toString('utf8').includes(PLAIN_DUMP_COMPLETE)) {
      done(new PgBackupError('failed', `${this.fileName} is incomplete: it does not end with pg_dump's "${PLAIN_DUMP_COMPLETE}" line (was the dump cut off?).`));
    } else done();
  }
}

/** The user-facing error for a failed read/decompression of the backup file. */
function inputError(fileName: string, e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || /unexpected end of file|incorrect header check|invalid/i.test(errorMessage(e))) {
    return new PgBackupError('failed', `${fileName} is damaged: its gzip data ${code === 'Z_BUF_ERROR' ? 'ends early (was it cut off while copying?)' : `is corrupt (${errorMessage(e)})`}.`);
  }
  return e;
}

interface BackupInput {
  /** What the restoring process reads. */
  stream: Readable;
  /** Settles when the file went through (and was checked), or with the file's own error. */
  done: Promise<void>;
  /** Ends the feed once the reading process has exited (see backupInput). */
  stop: () => void;
}

/**
 * Reads the backup for a restoring process, counting file bytes for progress.
 *
 * `host` mode decompresses (gzip) and checks (a plain dump must end with pg_dump's last line) on this
 * machine and feeds the result. `raw` mode feeds the file's bytes as they are, for a process that
 * decompresses in the container (only compressed bytes cross the Docker API), and checks the same file
 * here in a second, independent read: the gzip's CRC and length, and pg_dump's last line.
 *
 * `done` settles when everything went through, or with the file's own error (a damaged gzip, a cut-off
 * dump). Once the reading process has exited, call `stop()`: a process that quit early (psql at its first
 * error) leaves the rest unread, and nothing would ever settle `done` (Node would then exit as if all was
 * well). The check of `raw` mode is not stopped: it reads the local file at its own pace, and its verdict
 * is the better error message.
 */
function backupInput(plan: RestorePlan, onBytes: (n: number) => void, signal?: AbortSignal, mode: 'host' | 'raw' = 'host'): BackupInput {
  const file = createReadStream(plan.backup.path, { highWaterMark: 1024 * 1024, signal });
  let read = 0;
  file.on('data', (c: Buffer | string) => {
    read += c.length;
    onBytes(read);
  });
  const checks = (): NodeJS.ReadWriteStream[] => [
    ...(plan.backup.gzipped ? [zlib.createGunzip({ chunkSize: 256 * 1024 })] : []),
    ...(plan.backup.format === 'sql' ? [new PlainDumpCompleteness(plan.backup.fileName)] : []),
  ];
  const stages = mode === 'host' ? checks() : [];
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let feedSettled = false;
  let stopped = false;
  const feed = pipeline([file, ...stages, out]).then(
    () => {
      feedSettled = true;
    },
    (e: unknown) => {
      feedSettled = true;
      if (stopped) return; // the reader is gone; what it left unread does not matter
      throw inputError(plan.backup.fileName, e);
    },
  );
  const check =
    mode === 'raw'
      ? pipeline([createReadStream(plan.backup.path, { highWaterMark: 1024 * 1024, signal }), ...checks(), new Writable({ write: (_c, _e, cb) => cb() })]).catch((e: unknown) => {
          throw inputError(plan.backup.fileName, e);
        })
      : Promise.resolve();
  // The check's verdict first: a damaged file explains a broken feed, not the other way round.
  const done = Promise.allSettled([check, feed]).then(([c, f]) => {
    if (c.status === 'rejected') throw c.reason;
    if (f.status === 'rejected') throw f.reason;
  });
  done.catch(() => undefined);
  const stop = () => {
    // A feed that already failed keeps its own error: that is the one to report.
    if (feedSettled || stopped || file.errored || out.errored || stages.some((st) => (st as unknown as Readable).errored)) return;
    stopped = true;
    file.destroy();
    for (const st of stages) (st as unknown as Readable).destroy();
    out.destroy();
  };
  return { stream: out, done, stop };
}

/**
 * `sh -c` script restoring a gzipped plain dump with gunzip in the container, so that only compressed
 * bytes cross the Docker API (measured: 5.0 s against 7.3 s for gunzip on the host at 1x). The positional
 * arguments are psql's. psql commits at the end of its input even when gunzip failed half-way, so the
 * script reports gunzip's status (exit 90) and the restore fails before any swap. Exit 96: no gunzip here.
 */
export const PLAIN_GZ_IN_CONTAINER_SCRIPT = [
  'command -v gunzip >/dev/null 2>&1 || { echo "pg-docker-backup: no gunzip in this container" >&2; exit 96; }',
  'exec 3>&1',
  'gz=$( { { gunzip -c; echo $? >&4; } | psql "$@" >&3; } 4>&1 )',
  'ps=$?',
  '[ "$ps" -eq 0 ] || exit "$ps"',
  '[ "$gz" = 0 ] || { echo "pg-docker-backup: gunzip in the container failed (exit $gz)" >&2; exit 90; }',
].join('\n');
const NO_GUNZIP_EXIT = 96;
const GUNZIP_FAILED_EXIT = 90;

/** psql/pg_restore argv; with `file`, pg_restore reads that archive (in the container) with `jobs` jobs instead of stdin. */
export function restoreArgv(format: 'sql' | 'custom', user: string, database: string, parallel?: { file: string; jobs: number }): string[] {
  if (format === 'sql') return ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-U', user, '-d', dbConninfo(database)];
  const argv = ['pg_restore', '-w', '--exit-on-error'];
  if (parallel) argv.push('-j', String(parallel.jobs));
  argv.push('-U', user, '-d', dbConninfo(database));
  if (parallel) argv.push('--', parallel.file);
  return argv;
}

/** Free space the container's temp folder must keep beyond the archive (a full disk stops the live server too). */
const SPARE_KIB = 1024 * 1024;

/**
 * `sh -c` script for copying the archive into the container: $1 the file, $2 the KiB that must be free
 * there first. Values only as positional arguments. Exits 3 without reading anything when space is short.
 */
export const COPY_INTO_CONTAINER_SCRIPT = [
  'dir=${1%/*}',
  'avail=$(df -Pk "$dir" 2>/dev/null | awk \'NR==2 {print $4}\')',
  'case "$avail" in',
  "  ''|*[!0-9]*) ;;",
  '  *) if [ "$avail" -lt "$2" ]; then echo "only $avail KiB free in $dir, $2 KiB wanted" >&2; exit 3; fi ;;',
  'esac',
  'umask 077',
  'exec cat > "$1"',
].join('\n');

interface ContainerCopy {
  /** Where the archive is (or partly is) in the container. */
  file: string;
  /** Why the copy did not work (the restore then streams instead). */
  failure?: string;
  /** The backup file itself failed to read, or the user cancelled: the restore stops. */
  fatal?: unknown;
}

/** Copies a custom archive into the container for `pg_restore -j`; never rejects (see ContainerCopy). */
async function copyIntoContainer(docker: DockerClient, container: string, plan: RestorePlan, dir: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<ContainerCopy> {
  const file = `${dir.replace(/\/+$/, '')}/pg-docker-backup-restore-${randomBytes(8).toString('hex')}.dump`;
  const input = backupInput(plan, onBytes, signal);
  const needKiB = Math.ceil(plan.backup.sizeBytes / 1024) + SPARE_KIB;
  try {
    const r = await docker.exec(container, ['sh', '-c', COPY_INTO_CONTAINER_SCRIPT, 'sh', file, String(needKiB)], { stdin: input.stream, signal, what: 'The restore' });
    if (r.exitCode !== 0) input.stop();
    const inputError = await input.done.then(() => undefined, (e: unknown) => e);
    if (inputError) return { file, fatal: inputError };
    if (r.exitCode !== 0) return { file, failure: firstErrorLines(r.stderr, 1) || `the copy exited with code ${r.exitCode}` };
    return { file };
  } catch (e) {
    input.stop();
    const inputError = await input.done.then(() => undefined, (x: unknown) => x);
    if (inputError || signal?.aborted || isPgBackupError(e, 'cancelled')) return { file, fatal: inputError ?? e };
    return { file, failure: errorMessage(e) };
  }
}

/** The error lines of psql/pg_restore stderr that say which statement failed. */
export function failingStatement(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  const i = lines.findIndex((l) => /\b(ERROR|FATAL):|error:/.test(l));
  if (i < 0) return lines.filter(Boolean).slice(-3).join(' ');
  const picked = [lines[i].trim()];
  for (const l of lines.slice(i + 1, i + 6)) {
    if (/^(LINE \d+:|Command was:|DETAIL:|HINT:|CONTEXT:|pg_restore: detail:|\s+)/.test(l) && l.trim()) picked.push(l.trim());
    else break;
  }
  return picked.join(' ').replace(/\s+/g, ' ').slice(0, 600);
}

/** Runs a plan: restore into scratch, then stop apps, swap, start apps, tidy up. */
export async function executeRestore(docker: DockerClient, plan: RestorePlan, options: Omit<RestoreOptions, 'backupPath' | 'to' | 'database' | 'stop'> = {}): Promise<RestoreResult> {
  const log = options.logger ?? silentLogger;
  const progress = new ProgressReporter(options.onProgress);
  const signal = options.signal;
  const started = Date.now();
  const container = await findContainer(docker, plan.container.id, { ...options.discovery, withDatabases: false, withApps: false, logger: log });
  const target = container.target;
  const maint = plan.maintenanceDatabase;
  const major = plan.server.major;
  const untouched = plan.liveExists ? `"${plan.database}" in ${plan.container.name} is untouched` : `nothing was created in ${plan.container.name}`;
  const dropScratch = async () => {
    try {
      await runStatements(docker, target, maint, [dropDatabaseSql(plan.scratchDatabase, major)], `dropping ${plan.scratchDatabase}`);
    } catch (e) {
      log.error(`could not drop the scratch database ${plan.scratchDatabase}: ${errorMessage(e)}`);
    }
  };
  log.info(`restore plan:\n  ${plan.steps.join('\n  ')}`);
  // Dropped once the swap is done: databases kept by earlier restores, and this one's previous database
  // with --drop-previous.
  const toDrop = [...plan.dropAfter, ...(plan.dropPrevious && plan.previousDatabase ? [plan.previousDatabase] : [])];

  // 1. Scratch database, made like the live one. For a parallel restore the archive is copied into the
  // container meanwhile (pg_restore -j needs a file it can seek in).
  throwIfAborted(signal, 'The restore');
  const warnings: string[] = [];
  const restoreStart = Date.now();
  const stopCopy = new AbortController();
  const copying =
    plan.jobs > 1
      ? copyIntoContainer(docker, target.container, plan, options.containerTempDir ?? '/tmp', (n) => progress.bytes(n, plan.backup.sizeBytes, restoreStart), signal ? AbortSignal.any([signal, stopCopy.signal]) : stopCopy.signal)
      : undefined;
  let removal: Promise<void> | undefined;
  const removeCopy = (): Promise<void> =>
    (removal ??= (async () => {
      const copy = copying && (await copying);
      if (!copy) return;
      const failed = (why: string) => warnings.push(`Could not remove the copied archive ${copy.file} in ${plan.container.name} (${why}): remove it by hand.`);
      await docker.exec(target.container, ['rm', '-f', '--', copy.file], { what: 'Removing the copied archive' }).then(
        (r) => (r.exitCode !== 0 ? void failed(r.stderr.trim()) : undefined),
        (e: unknown) => void failed(errorMessage(e)),
      );
    })());
  progress.step('prepare', copying ? `Creating "${plan.scratchDatabase}" and copying ${plan.backup.fileName} into ${plan.container.name}` : `Creating "${plan.scratchDatabase}"`);
  try {
    await runStatements(docker, target, maint, createDatabaseLikeSql(plan.liveProperties, plan.scratchDatabase), `creating ${plan.scratchDatabase}`);
  } catch (e) {
    stopCopy.abort();
    await removeCopy();
    throw e;
  }
  // pg_dump -t leaves out the tables' schemas; a partial backup brings them along in its manifest.
  const schemas = [...new Set(plan.partialSchemas)].filter((s) => s !== 'public');
  if (schemas.length) {
    await runStatements(docker, target, plan.scratchDatabase, schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`), 'creating the schemas of a partial backup').catch(async (e) => {
      stopCopy.abort();
      await Promise.all([dropScratch(), removeCopy()]);
      throw e;
    });
  }

  // 2. Restore into it. Any failure here drops it and leaves the live database alone.
  try {
    const copy = copying ? await copying : undefined;
    if (copy?.fatal) throw copy.fatal;
    let argv: string[];
    let result: ExecResult;
    if (copy && !copy.failure) {
      progress.step('restore', `Restoring ${plan.backup.fileName} into "${plan.scratchDatabase}" with ${plan.jobs} parallel jobs`);
      argv = restoreArgv('custom', target.user, plan.scratchDatabase, { file: copy.file, jobs: plan.jobs });
      result = await docker.exec(target.container, argv, {
        env: clientEnv(target),
        secrets: argvSecrets(target),
        stdout: new Writable({ write: (_c, _e, cb) => cb() }),
        signal,
        what: 'The restore',
      });
    } else {
      if (copy?.failure) {
        const w = `Could not copy ${plan.backup.fileName} into ${plan.container.name} for a parallel restore (${copy.failure}): restored it from a stream with one job instead.`;
        warnings.push(w);
        log.warn(w);
        await removeCopy(); // what part of it was written
      }
      progress.step('restore', `Restoring ${plan.backup.fileName} into "${plan.scratchDatabase}"`);
      const streamRestore = async (mode: 'host' | 'raw'): Promise<{ argv: string[]; result: ExecResult }> => {
        const streamStart = Date.now();
        const input = backupInput(plan, (n) => progress.bytes(n, plan.backup.sizeBytes, streamStart), signal, mode);
        const client = restoreArgv(plan.backup.format as 'sql' | 'custom', target.user, plan.scratchDatabase);
        const execArgv = mode === 'raw' ? ['sh', '-c', PLAIN_GZ_IN_CONTAINER_SCRIPT, 'sh', ...client.slice(1)] : client;
        const r = await docker
          .exec(target.container, execArgv, {
            env: clientEnv(target),
            secrets: argvSecrets(target),
            stdin: input.stream,
            stdout: new Writable({ write: (_c, _e, cb) => cb() }),
            signal,
            what: 'The restore',
          })
          .catch(async (e: unknown) => {
            input.stop();
            await input.done; // an input error (damaged file) says more than the broken stream it caused
            throw e;
          });
        // A restore that stopped early (exit code ≠ 0) left the rest of the file unread.
        if (r.exitCode !== 0) input.stop();
        await input.done;
        return { argv: client, result: r };
      };
      // A gzipped plain dump is decompressed in the container when it has gunzip (and sh).
      const inContainer = plan.backup.format === 'sql' && plan.backup.gzipped;
      ({ argv, result } = await streamRestore(inContainer ? 'raw' : 'host'));
      if (inContainer && (result.exitCode === NO_GUNZIP_EXIT || result.exitCode === 126 || result.exitCode === 127)) {
        log.debug(`no gunzip/sh in ${plan.container.name} (${result.stderr.trim()}): decompressing on this machine instead`);
        ({ argv, result } = await streamRestore('host'));
      }
    }
    if (result.exitCode === GUNZIP_FAILED_EXIT && plan.backup.format === 'sql' && plan.backup.gzipped) {
      throw new PgBackupError('failed', `gunzip in ${plan.container.name} stopped before the end of the file: ${firstErrorLines(result.stderr, 2)}`, { detail: result.stderr });
    }
    if (result.exitCode !== 0) {
      throw new PgBackupError('failed', `${argv[0]} stopped at an error: ${failingStatement(result.stderr)}`, { detail: result.stderr });
    }
    if (/\b(ERROR|FATAL):/.test(result.stderr) && plan.backup.format === 'custom') {
      throw new PgBackupError('failed', `pg_restore reported an error: ${failingStatement(result.stderr)}`, { detail: result.stderr });
    }
    progress.bytes(plan.backup.sizeBytes, plan.backup.sizeBytes, restoreStart, true);
    if (plan.stopContainers.length) {
      // The restore left hundreds of MB unwritten in the page cache. Write them now, while the apps still
      // run: `docker stop` (its overlay unmount syncs the filesystem) would otherwise wait for them inside
      // the apps' downtime. (A CHECKPOINT here measured 0.35 s slower than `sync` and needs a superuser.)
      progress.step('restore', 'Writing the restored database to disk');
      await Promise.all([removeCopy(), flushContainerFilesystem(docker, target.container, { signal, logger: log })]);
    } else await removeCopy();
    throwIfAborted(signal, 'The restore');
  } catch (e) {
    await Promise.all([dropScratch(), removeCopy()]);
    if (isPgBackupError(e, 'cancelled') || signal?.aborted) {
      throw new PgBackupError('cancelled', `The restore was cancelled before the swap: ${untouched} and the scratch database was dropped.`);
    }
    const why = errorMessage(e).replace(/\.$/, '');
    throw new PgBackupError('failed', `Restore of ${plan.backup.fileName} failed; nothing was changed: ${untouched} and the scratch database was dropped. ${why}.`, {
      cause: e,
      detail: isPgBackupError(e) ? e.detail : undefined,
    });
  }

  // 3. The swap, with the app containers stopped (and started again whatever happens).
  if (plan.leftoverScratch.length) warnings.push(`Left alone: ${plan.leftoverScratch.join(', ')} (from an interrupted restore; drop it when no restore is running).`);
  const swap = async () => {
    progress.step('swap', `Swapping "${plan.scratchDatabase}" into place`);
    if (!plan.liveExists) {
      await runStatements(docker, target, maint, [terminateAndWaitSql([plan.scratchDatabase]), `ALTER DATABASE ${quoteIdent(plan.scratchDatabase)} RENAME TO ${quoteIdent(plan.database)}`], 'renaming the restored database into place');
      return;
    }
    try {
      await runStatements(
        docker,
        target,
        maint,
        [
          allowConnectionsSql(plan.database, false),
          terminateAndWaitSql([plan.database, plan.scratchDatabase]),
          `BEGIN; ALTER DATABASE ${quoteIdent(plan.database)} RENAME TO ${quoteIdent(plan.previousDatabase!)}; ALTER DATABASE ${quoteIdent(plan.scratchDatabase)} RENAME TO ${quoteIdent(plan.database)}; COMMIT`,
          allowConnectionsSql(plan.previousDatabase!, true),
        ],
        'swapping the restored database into place',
      );
    } catch (e) {
      // The rename is one transaction: either both happened or neither. Find out which.
      const names = await serverInfoAndDatabases(docker, target, maint).then((r) => r.databases.map((d) => d.name)).catch(() => [] as string[]);
      if (names.includes(plan.previousDatabase!) && !names.includes(plan.scratchDatabase)) {
        await runStatements(docker, target, maint, [allowConnectionsSql(plan.previousDatabase!, true)], 'allowing connections').catch(() => undefined);
        warnings.push(`The swap succeeded but a final step failed: ${errorMessage(e)}`);
        return;
      }
      await runStatements(docker, target, maint, [allowConnectionsSql(plan.database, true)], `allowing connections to ${plan.database} again`).catch((e2) => log.error(errorMessage(e2)));
      await dropScratch();
      throw new PgBackupError('failed', `Restore of ${plan.backup.fileName} failed at the swap; nothing was changed: ${untouched} and the scratch database was dropped. ${errorMessage(e)}`, { cause: e });
    }
  };
  // 4. Tidy up once the swap is done, while the app containers start (see toDrop).
  const dropped: string[] = [];
  let tidying: Promise<void> = Promise.resolve();
  const tidyUp = async () => {
    for (const name of toDrop) {
      try {
        await runStatements(docker, target, maint, [dropDatabaseSql(name, major)], `dropping ${name}`);
        dropped.push(name);
      } catch (e) {
        warnings.push(`Could not drop ${name}: ${errorMessage(e)}`);
      }
    }
  };
  const outcome = await withAppsStopped(
    docker,
    plan.stopContainers,
    async () => {
      await swap();
      tidying = tidyUp();
    },
    { logger: log, onStep: (m) => progress.step('swap', m) },
  );
  await tidying;
  warnings.push(...outcome.startFailures.map((f) => `Could not start ${f}`));
  const durationMs = Date.now() - started;
  const keptPrevious = plan.previousDatabase && !plan.dropPrevious ? plan.previousDatabase : undefined;
  log.info(`restore of ${plan.backup.fileName} into ${plan.container.name}/${plan.database} done in ${formatDuration(durationMs)} (apps down ${formatDuration(outcome.downtimeMs)})`);
  progress.step('done', `Restored ${plan.backup.fileName} into "${plan.database}"${keptPrevious ? `; the previous database is kept as "${keptPrevious}"` : ''}`);
  return { plan, durationMs, downtimeMs: outcome.downtimeMs, keptPrevious, dropped, warnings };
}

/** Plans and runs a restore; `confirm` sees the plan first and may decline (nothing changes then). */
export async function restoreBackup(
  docker: DockerClient,
  options: RestoreOptions & { confirm?: (plan: RestorePlan) => Promise<boolean> },
): Promise<RestoreResult | undefined> {
  const plan = await planRestore(docker, options);
  if (options.confirm && !(await options.confirm(plan))) return undefined;
  return executeRestore(docker, plan, options);
}
