import type { DockerClient } from '../docker/client';
import { errorMessage, isPgBackupError, throwIfAborted } from '../errors';
import { beginOperation, type Operation, type OperationContext } from '../operation';
import { sideDatabaseKind } from '../databases/sideDatabases';
import { discoverContainers, findContainer, type PgContainer } from '../postgres/discovery';
import { notRunningError, serverFor } from '../postgres/server';
import type { BackupFormat } from '../store/naming';
import type { Compression } from './pgDump';
import { backupDatabase, type BackupResult, type HostStage } from './backupDatabase';
import { backupRoles } from './backupRoles';

export interface BackupAllOptions extends OperationContext {
  dir: string;
  /** Only these containers (by name or id); a stopped one named here is a failure. Default: every discovered one. */
  containers?: readonly string[];
  /** Only databases of these names (a schedule for one database); default every database. */
  databases?: readonly string[];
  format?: BackupFormat;
  compressionLevel?: number;
  compression?: Compression;
  /** pg_dump -E for every database (default each database's own encoding). */
  encoding?: string;
  /** Host stages for every database backup (encryption to the schedule's recipients); the roles file stays plain. */
  hostStages?: HostStage[];
  /** Containers whose backups must be encrypted: a database of one of them without hostStages fails. */
  requireEncryption?: (container: string) => boolean;
  /** Called after each database backup is written (an upload); a rejection marks that item failed. */
  afterEach?: (backup: BackupResult) => Promise<string | undefined>;
  /** Put the role password verifiers in the roles file (default: left out). */
  withRolePasswords?: boolean;
  /** Write the roles file (default true). */
  roles?: boolean;
}

/** One line of the result: a database backup, a roles file, or a container that was skipped. */
export interface BackupAllItem {
  container: string;
  /** null for the roles file and for container-level failures or skips. */
  database: string | null;
  kind: 'database' | 'roles' | 'container';
  path?: string;
  bytes?: number;
  /** Set when this item failed. */
  error?: string;
  /** What afterEach said (e.g. the URL it uploaded to). */
  after?: string;
  /** Set when it was left out on purpose (a stopped container nobody named). */
  skipped?: string;
}

export interface BackupAllResult {
  ok: boolean;
  items: BackupAllItem[];
  failed: number;
  durationMs: number;
}

/** The databases `backup --all` takes: not templates (never listed), not ones kept for undo or being restored, only connectable ones. */
export function databasesToBackUp(databases: readonly { name: string; allowConnections: boolean }[], only?: readonly string[]): string[] {
  return databases.filter((d) => d.allowConnections && !sideDatabaseKind(d.name) && (!only?.length || only.includes(d.name))).map((d) => d.name);
}

async function containersToBackUp(docker: DockerClient, options: BackupAllOptions, op: Operation, items: BackupAllItem[]): Promise<PgContainer[]> {
  const lookup = { ...op.discovery, withDatabases: false, withApps: false };
  if (!options.containers?.length) {
    const all = await discoverContainers(docker, lookup);
    for (const c of all.filter((x) => !x.running)) items.push({ container: c.name, database: null, kind: 'container', skipped: `not running (${c.state})` });
    return all.filter((c) => c.running);
  }
  const out: PgContainer[] = [];
  for (const name of options.containers) {
    try {
      const c = await findContainer(docker, name, lookup);
      if (!c.running) throw notRunningError(c);
      out.push(c);
    } catch (e) {
      if (isPgBackupError(e, 'cancelled') || isPgBackupError(e, 'dockerUnreachable')) throw e;
      items.push({ container: name, database: null, kind: 'container', error: errorMessage(e) });
    }
  }
  return out;
}

async function backUpContainer(docker: DockerClient, container: PgContainer, options: BackupAllOptions, op: Operation, items: BackupAllItem[]): Promise<void> {
  const { server } = await serverFor(docker, container, op);
  for (const database of databasesToBackUp(server.databases, options.databases)) {
    throwIfAborted(op.signal, 'The backup of every database');
    try {
      const r = await backupDatabase(docker, {
        container: container.name,
        database,
        format: options.format,
        compressionLevel: options.compressionLevel,
        compression: options.compression,
        encoding: options.encoding,
        hostStages: options.hostStages,
        requireEncryption: options.requireEncryption?.(container.name),
        dir: options.dir,
        signal: op.signal,
        onProgress: options.onProgress,
        logger: op.log,
        now: options.now,
        discovery: options.discovery,
      });
      const item: BackupAllItem = { container: container.name, database, kind: 'database', path: r.path, bytes: r.bytes };
      items.push(item);
      if (options.afterEach) item.after = await afterEach(options.afterEach, r, item, op);
    } catch (e) {
      if (isPgBackupError(e, 'cancelled')) throw e;
      op.log.warn(`backup --all: ${container.name}/${database} failed: ${errorMessage(e)}`);
      items.push({ container: container.name, database, kind: 'database', error: errorMessage(e) });
    }
  }
  if (options.roles === false) return;
  try {
    const r = await backupRoles(server, { dir: options.dir, withPasswords: !!options.withRolePasswords, op });
    items.push({ container: container.name, database: null, kind: 'roles', path: r.path, bytes: r.bytes });
  } catch (e) {
    if (isPgBackupError(e, 'cancelled')) throw e;
    items.push({ container: container.name, database: null, kind: 'roles', error: errorMessage(e) });
  }
}

/** The after-step of one backup: its failure marks the item failed (the backup itself stays). */
async function afterEach(fn: NonNullable<BackupAllOptions['afterEach']>, r: BackupResult, item: BackupAllItem, op: Operation): Promise<string | undefined> {
  try {
    return await fn(r);
  } catch (e) {
    if (isPgBackupError(e, 'cancelled')) throw e;
    op.log.warn(`backup --all: after ${item.container}/${item.database}: ${errorMessage(e)}`);
    item.error = `backed up to ${r.path}, but then: ${errorMessage(e)}`;
    return undefined;
  }
}

/**
 * Every database of every running Postgres container (or of the named ones), one file each through
 * backupDatabase, plus each cluster's roles file. One container or database failing does not stop the
 * rest; the result lists every item, and `ok` is false when any failed. Cancelling stops at once.
 */
export async function backupAll(docker: DockerClient, options: BackupAllOptions): Promise<BackupAllResult> {
  const op = beginOperation(options);
  const started = Date.now();
  const items: BackupAllItem[] = [];
  const containers = await containersToBackUp(docker, options, op, items);
  for (const c of containers) {
    throwIfAborted(op.signal, 'The backup of every database');
    try {
      await backUpContainer(docker, c, options, op, items);
    } catch (e) {
      if (isPgBackupError(e, 'cancelled')) throw e;
      op.log.warn(`backup --all: ${c.name} failed: ${errorMessage(e)}`);
      items.push({ container: c.name, database: null, kind: 'container', error: errorMessage(e) });
    }
  }
  if (!items.some((i) => i.kind === 'database' && i.path) && !items.some((i) => i.error)) {
    // a schedule that silently backs up nothing must not look like success
    items.push({ container: options.containers?.join(', ') || '*', database: null, kind: 'container', error: 'Nothing was backed up: no running Postgres container with a database to back up was found.' });
  }
  const failed = items.filter((i) => i.error).length;
  return { ok: failed === 0, items, failed, durationMs: Date.now() - started };
}
