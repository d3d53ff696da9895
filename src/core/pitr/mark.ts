import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import { queryJson } from '../postgres/client';
import { openServer } from '../postgres/server';
import { quoteLiteral } from '../postgres/sql';
import { archivingProblems, readArchivingSettings } from './facts';

export interface RestorePointResult {
  container: string;
  name: string;
  lsn: string;
  time: string;
  /** The WAL segment holding it, switched and archived at once so a recovery can reach it. */
  segment: string;
}

/** Whether a container archives WAL (so a restore point can be recovered to); false when it cannot tell. */
export async function archivingOn(docker: DockerClient, options: OperationContext & { container: string }): Promise<boolean> {
  const op = beginOperation(options);
  try {
    const { server } = await openServer(docker, options.container, op);
    return archivingProblems(await readArchivingSettings(docker, server.target, server.maintenanceDb, op.signal)).length === 0;
  } catch {
    return false;
  }
}

/** Restore point names: printable, at most 63 bytes (MAXFNAMELEN - 1), no leading/trailing blanks. */
export function checkRestorePointName(name: string): void {
  if (!name || Buffer.byteLength(name) > 63 || /[\x00-\x1f\x7f]/.test(name) || name.trim() !== name) {
    throw new PgBackupError('usage', `"${name}" cannot name a restore point: use 1 to 63 bytes of printable text without leading or trailing blanks.`);
  }
}

/** A name for a restore point made before an operation: `before-reset-chinook-20261125T140300Z`. */
export function restorePointNameFor(what: string, database: string, at: Date): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `before-${what}-${database}`.slice(0, 63 - ts.length - 1) + `-${ts}`;
}

/**
 * `pg_create_restore_point(name)`, then a WAL switch so the segment holding it reaches the archive (a
 * recovery to it needs that segment). Refused when archiving is off: nobody could recover to it.
 */
export async function createRestorePoint(docker: DockerClient, options: OperationContext & { container: string; name: string }): Promise<RestorePointResult> {
  const op = beginOperation(options);
  checkRestorePointName(options.name);
  const { server } = await openServer(docker, options.container, op);
  const settings = await readArchivingSettings(docker, server.target, server.maintenanceDb, op.signal);
  const problems = archivingProblems(settings);
  if (problems.length) throw new PgBackupError('refused', `WAL archiving is not set up in ${server.container.name} (${problems.join('; ')}): a restore point could never be recovered to. Nothing was changed.`);
  const r = await queryJson<{ lsn: string; time: string; segment: string }>(
    docker,
    server.target,
    server.maintenanceDb,
    `SELECT json_build_object('lsn', lsn::text, 'time', now(), 'segment', pg_walfile_name(lsn)) FROM (SELECT pg_create_restore_point(${quoteLiteral(options.name)}) AS lsn) p`,
    `creating the restore point "${options.name}"`,
    op.signal,
  );
  // A separate statement, after the restore point: the segment holding it goes to the archive now.
  await queryJson(docker, server.target, server.maintenanceDb, 'SELECT to_json(pg_switch_wal()::text)', 'switching to a new WAL segment', op.signal);
  op.log.info(`restore point "${options.name}" at ${r.lsn} in ${server.container.name}`);
  return { container: server.container.name, name: options.name, lsn: r.lsn, time: new Date(r.time).toISOString(), segment: r.segment };
}
