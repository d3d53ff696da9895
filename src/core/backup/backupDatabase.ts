import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BackupManifest } from './manifest';
import { inspectBackupFile } from './format';
import { findContainer, type DiscoveryOptions, type PgContainer } from '../postgres/discovery';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { backupFileName, encodePathSegment, MANIFEST_SUFFIX, PARTIAL_SUFFIX, type BackupFormat } from '../store/naming';
import { argvSecrets, clientError, clientEnv, clientVersion, dbConninfo, queryJson, serverOverview, type PgTarget } from '../postgres/client';
import { HashingCounter, ProgressReporter, formatBytes, type ProgressListener } from '../progress';
import { tableMatchesPatterns } from '../postgres/sql';

export const TOOL_NAME = 'pg-docker-backup';
/**
 * gzip level 1 by default: on a busy two-core machine pg_dump's compression competes with the server for
 * CPU, and level 1 costs a third of level 6 for files about 15% larger (numbers in bench/ and README).
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;
/** Databases up to this size get exact row counts in the manifest; larger ones the planner's estimate. */
export const EXACT_ROW_COUNT_LIMIT_BYTES = 256 * 1024 * 1024;

export interface BackupOptions {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  format?: BackupFormat;
  compressionLevel?: number;
  /** pg_dump -t patterns (use `exactPattern` for literal names). */
  tables?: string[];
  /** pg_dump -n patterns. */
  schemas?: string[];
  noOwner?: boolean;
  dir: string;
  /** Stages the dump passes through on its way to disk (e.g. encryption), in order. */
  transforms?: (() => Transform)[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  logger?: Logger;
  discovery?: DiscoveryOptions;
  now?: () => Date;
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

export function pgDumpArgv(
  target: Pick<PgTarget, 'user'>,
  database: string,
  o: { format: BackupFormat; compressionLevel: number; tables?: string[]; schemas?: string[]; noOwner?: boolean },
): string[] {
  const argv = ['pg_dump', '-w', '-U', target.user, '-d', dbConninfo(database)];
  argv.push(o.format === 'custom' ? '-Fc' : '-Fp', `-Z${o.compressionLevel}`);
  for (const t of o.tables ?? []) argv.push('-t', t);
  for (const s of o.schemas ?? []) argv.push('-n', s);
  if ((o.tables?.length ?? 0) + (o.schemas?.length ?? 0) > 0) argv.push('--strict-names');
  if (o.noOwner) argv.push('-O');
  return argv;
}

export function validateCompressionLevel(format: BackupFormat, level: number): void {
  const min = format === 'sql' ? 1 : 0;
  if (!Number.isInteger(level) || level < min || level > 9) {
    throw new PgBackupError('usage', `The compression level must be a whole number from ${min} to 9 for the ${format} format (got ${level}).`);
  }
}

interface TableCount {
  schema: string;
  name: string;
  rows: number;
}

async function tableRowCounts(docker: DockerClient, target: PgTarget, database: string, exact: boolean, signal?: AbortSignal): Promise<TableCount[]> {
  const rows = exact
    ? `(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint`
    : `greatest(c.reltuples, 0)::bigint`;
  const sql = `SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname, 'rows', ${rows}) ORDER BY n.nspname, c.relname), '[]')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
  return queryJson<TableCount[]>(docker, target, database, sql, 'counting rows', signal);
}

async function removeQuietly(file: string): Promise<void> {
  await fs.rm(file, { force: true }).catch(() => undefined);
}

/** Picks `<db>_<ts>.<ext>`, or `_2`, `_3`… when a backup of the same second exists. */
async function freshName(dir: string, database: string, format: BackupFormat, at: Date): Promise<string> {
  for (let attempt = 1; attempt < 1000; attempt++) {
    const p = path.join(dir, backupFileName(database, format, at, attempt));
    const taken = await Promise.all([p, p + PARTIAL_SUFFIX].map((f) => fs.stat(f).then(() => true, () => false)));
    if (!taken.includes(true)) return p;
  }
  throw new PgBackupError('failed', `cannot find a free file name in ${dir}`);
}

function diskError(e: unknown, dir: string): PgBackupError | undefined {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new PgBackupError('failed', `The disk holding ${dir} is full: the backup was not written and its partial file was removed. Free some space (or prune old backups) and try again.`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new PgBackupError('failed', `Cannot write to ${dir} (${code}): choose a backup directory you can write to.`, { cause: e });
  return undefined;
}

/**
 * Dumps one database with pg_dump inside its container, streaming the bytes straight to
 * `DIR/<container>/<database>/<database>_<ts>.<ext>`: written as `.partial`, fsynced, renamed, mode 0600,
 * with a manifest beside it. A failure or cancellation removes the partial file.
 */
export async function backupDatabase(docker: DockerClient, options: BackupOptions): Promise<BackupResult> {
  const log = options.logger ?? silentLogger;
  const progress = new ProgressReporter(options.onProgress);
  const format = options.format ?? 'sql';
  const level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
  validateCompressionLevel(format, level);
  const signal = options.signal;

  progress.step('prepare', `Inspecting ${options.container}`);
  const container: PgContainer = await findContainer(docker, options.container, { ...options.discovery, withDatabases: false, withApps: false, logger: log });
  if (!container.running) {
    throw new PgBackupError('refused', `Container ${container.name} is not running (it is ${container.state}): start it with \`docker start ${container.name}\` and try again.`);
  }
  const target = container.target;
  const database = options.database ?? container.defaultDatabase;
  // pg_dump starts at once; what the manifest needs besides the bytes (versions, row counts) is asked
  // for while it runs. Row counts see the same data unless something writes meanwhile.
  // (pg_dump's version is read from the dump's own header afterwards: one exec less competing for CPU.)
  const facts = serverOverview(docker, target, signal).then(async (overview) => {
    const dbInfo = overview.databases.find((d) => d.name === database);
    if (!dbInfo) {
      throw new PgBackupError('usage', `There is no database "${database}" in ${container.name}; it has: ${overview.databases.map((d) => d.name).join(', ') || 'none'}.`);
    }
    const exact = dbInfo.sizeBytes >= 0 && dbInfo.sizeBytes <= (options.exactRowCountLimitBytes ?? EXACT_ROW_COUNT_LIMIT_BYTES);
    const all = await tableRowCounts(docker, target, database, exact, signal);
    const tables = all.filter((t) => tableMatchesPatterns(t.schema, t.name, options.tables ?? [], options.schemas ?? []));
    return { server: overview.server, exact, tables };
  });
  facts.catch(() => undefined);

  const dir = path.join(options.dir, encodePathSegment(container.name), encodePathSegment(database));
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw diskError(e, dir) ?? e;
  }
  const created = (options.now ?? (() => new Date()))();
  const finalPath = await freshName(dir, database, format, created);
  const partial = finalPath + PARTIAL_SUFFIX;
  const argv = pgDumpArgv(target, database, { format, compressionLevel: level, tables: options.tables, schemas: options.schemas, noOwner: options.noOwner });
  log.info(`backup ${container.name}/${database} → ${finalPath}`);
  progress.step('dump', `Dumping ${database} from ${container.name} (${format})`);

  const started = Date.now();
  try {
    const counter = new HashingCounter((b) => progress.bytes(b, undefined, started));
    const entry = new PassThrough({ highWaterMark: 1024 * 1024 });
    // flush: fsync before close, so the rename below never publishes bytes that are not on disk
    const sink = createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
    const toDisk = pipeline([entry, ...(options.transforms ?? []).map((t) => t()), counter, sink]);
    toDisk.catch(() => undefined); // awaited below; the exec sees the failure through `entry`
    const result = await docker.exec(target.container, argv, {
      env: clientEnv(target),
      secrets: argvSecrets(target),
      stdout: entry,
      signal,
      what: 'The backup',
    });
    await toDisk;
    const settled = await facts.then(
      (f) => ({ f, e: undefined }),
      (e: unknown) => ({ f: undefined, e }),
    );
    if (isPgBackupError(settled.e, 'usage')) throw settled.e; // no such database: say which there are
    if (result.exitCode !== 0) throw clientError(target, 'pg_dump', result, `Backing up ${database}`);
    if (counter.bytes === 0) throw new PgBackupError('failed', `pg_dump wrote nothing for ${database} in ${container.name}.`, { detail: result.stderr });
    if (!settled.f) throw settled.e;
    const { server, exact, tables } = settled.f;
    // "17.12" from the plain header's "pg_dump version 17.12", or the custom header's "17.12 (Debian …)".
    const fromHeader = /^\d+(?:\.\d+)?/.exec((await inspectBackupFile(partial).catch(() => undefined))?.pgDumpVersion ?? '')?.[0];
    const dumpVersion = fromHeader ? { version: fromHeader } : await clientVersion(docker, target, 'pg_dump');
    await fs.rename(partial, finalPath);
    const durationMs = Date.now() - started;
    progress.bytes(counter.bytes, undefined, started, true);
    const manifest: BackupManifest = {
      manifestVersion: 2,
      tool: TOOL_NAME,
      file: path.basename(finalPath),
      container: container.name,
      containerId: container.id,
      image: container.image,
      composeProject: container.composeProject,
      composeService: container.composeService,
      database,
      serverVersion: server.version,
      pgDumpVersion: dumpVersion.version,
      format,
      stages: format === 'sql' ? [{ kind: 'compress', algorithm: 'gzip', level, where: 'container' }] : [],
      archiveCompression: format === 'custom' ? { algorithm: 'gzip', level } : undefined,
      options: { tables: options.tables ?? [], schemas: options.schemas ?? [], noOwner: !!options.noOwner },
      bytes: counter.bytes,
      sha256: counter.hash.digest('hex'),
      created: created.toISOString(),
      durationMs,
      rowCounts: exact ? 'exact' : 'estimated',
      tables,
    };
    await writeFileAtomic(finalPath + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n');
    await syncDir(dir);
    log.info(`backup written: ${finalPath} (${formatBytes(counter.bytes)} in ${durationMs} ms, sha256 ${manifest.sha256})`);
    progress.step('done', `Backed up ${database} to ${path.basename(finalPath)} (${formatBytes(counter.bytes)})`);
    return {
      path: finalPath,
      bytes: counter.bytes,
      sha256: manifest.sha256,
      container: container.name,
      database,
      format,
      serverVersion: server.version,
      pgDumpVersion: dumpVersion.version,
      durationMs,
      manifest,
    };
  } catch (e) {
    await removeQuietly(partial);
    // folders made for this backup go again when they stay empty (e.g. a database name mistyped)
    await fs.rmdir(dir).then(() => fs.rmdir(path.dirname(dir))).catch(() => undefined);
    log.info(`backup of ${container.name}/${database} failed; removed ${partial}: ${errorMessage(e)}`);
    throw diskError(e, dir) ?? e;
  }
}

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = file + PARTIAL_SUFFIX;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await fs.open(dir, 'r').catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}
