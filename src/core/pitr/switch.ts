import type { DockerClient } from '../docker/client';
import { PgBackupError, throwIfAborted } from '../errors';
import type { Operation } from '../operation';
import { queryJson } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import { readArchivingSettings } from './facts';

/**
 * Makes the WAL up to now recoverable: a transaction that takes an xid (so a COMMIT record with the current
 * time is written: a target up to now then has a commit after it), `pg_switch_wal()`, and a wait until
 * pg_stat_archiver shows that segment archived. Fails at once when the archiver reports a newer failure.
 */
export async function forceArchivedSwitch(docker: DockerClient, server: PgServer, op: Operation, timeoutMs: number): Promise<{ segment: string; commitTime: string }> {
  const { target, maintenanceDb } = server;
  // The marker commit first, then the switch, as two statements (two transactions).
  // txid_current() in the select list itself: an xid is assigned, so the commit writes a record.
  const marker = await queryJson<{ xid: number; t: string }>(docker, target, maintenanceDb, "SELECT json_build_object('xid', txid_current(), 't', clock_timestamp())", 'writing a marker commit', op.signal);
  const commitTime = new Date(marker.t).toISOString();
  const segment = await queryJson<string>(docker, target, maintenanceDb, 'SELECT to_json(pg_walfile_name(pg_switch_wal()))', 'switching to a new WAL segment', op.signal);
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    throwIfAborted(op.signal, 'Waiting for the archiver');
    const s = await readArchivingSettings(docker, target, maintenanceDb, op.signal);
    const a = s.archiver;
    if (a.lastArchivedWal && a.lastArchivedWal.slice(0, 24) >= segment) return { segment, commitTime };
    if (a.failingNow && a.lastFailedWal && a.lastFailedWal <= segment && Date.now() - started > 3000) {
      throw new PgBackupError('failed', `WAL archiving fails in ${server.container.name} (the archiver last failed on ${a.lastFailedWal} at ${a.lastFailedTime}): fix the archive (see \`docker logs ${server.container.name}\`) and try again. Nothing was changed.`);
    }
    if (Date.now() > deadline) throw new PgBackupError('failed', `${segment} was not archived within ${Math.round(timeoutMs / 1000)} s in ${server.container.name}; is archiving stuck (see \`pg-docker-backup pitr status ${server.container.name}\`)? Nothing was changed.`);
    await new Promise((res) => setTimeout(res, delay));
  }
}
