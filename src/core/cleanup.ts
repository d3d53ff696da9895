import { removeLeftovers, type LeftoverReport } from './databases/leftovers';
import { lockDatabase } from './databases/lock';
import { parseSideDatabaseName, sideDatabaseKind } from './databases/sideDatabases';
import type { DockerClient } from './docker/client';
import { errorMessage, isPgBackupError } from './errors';
import { beginOperation, type OperationContext } from './operation';
import { openServer } from './postgres/server';
import { cleanupRecoveries, type RecoveryCleanup } from './pitr/orphans';

export interface CleanupOptions extends OperationContext {
  container: string;
  /** Only this database's leftovers; default every database's. */
  database?: string;
  /** Only say what would be removed. */
  dryRun?: boolean;
}

export interface CleanupResult {
  container: string;
  /** Per database: what was (or would be) removed, and what was left because it is in use. */
  databases: ({ database: string } & LeftoverReport)[];
  /** Databases skipped because a restore, undo or reset of them is running. */
  busy: { database: string; reason: string }[];
  /** Recovery containers and volumes of point-in-time recoveries whose process is gone. */
  recoveries: RecoveryCleanup;
}

/**
 * Removes what interrupted restores left in a container: scratch databases and copied archives that no
 * session or process uses, one database at a time under that database's lock (a running restore of it is
 * never disturbed: its database is reported busy); and the recovery containers and volumes of point-in-time recoveries whose process is gone.
 */
export async function cleanupLeftovers(docker: DockerClient, options: CleanupOptions): Promise<CleanupResult> {
  const op = beginOperation(options);
  const { server } = await openServer(docker, options.container, op);
  const names = server.databases.map((d) => d.name);
  const bases = options.database ? [options.database] : names.filter((n) => !sideDatabaseKind(n));
  // A scratch database whose live database is gone still belongs to a name: find it among the scratch names.
  const orphanScratch = options.database ? [] : names.filter((n) => (sideDatabaseKind(n) === 'restoring' || sideDatabaseKind(n) === 'verify') && !bases.some((b) => parseSideDatabaseName(b, n)));
  const result: CleanupResult = { container: server.container.name, databases: [], busy: [], recoveries: { removed: [], left: [], failed: [] } };
  for (const database of [...bases, ...orphanScratch.map((n) => n.replace(/__(restoring|verify)_\d{8}_\d{6}$/, ''))]) {
    let lock;
    try {
      lock = await lockDatabase(server, database, 'cleanup', op.log, op.now());
    } catch (e) {
      if (isPgBackupError(e, 'refused')) {
        result.busy.push({ database, reason: errorMessage(e) });
        continue;
      }
      throw e;
    }
    try {
      const r = await removeLeftovers(server, op.log, database, options.dryRun);
      if (r.dropped.length + r.inUse.length + r.archivesRemoved.length + r.archivesLeft.length > 0) result.databases.push({ database, ...r });
    } finally {
      await lock.release();
    }
  }
  result.recoveries = await cleanupRecoveries(docker, server.container.name, { database: options.database, dryRun: options.dryRun, log: op.log });
  return result;
}
