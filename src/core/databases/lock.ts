import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { PgBackupError, errorMessage } from '../errors';
import type { Logger } from '../logger';
import { dbConninfo, execClient } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import { quoteLiteral } from '../postgres/sql';

/** The first key of every advisory lock this tool takes ('pgdb'); the second is the database's. */
const LOCK_CLASS = 0x70676462;

/** The advisory lock key of a database: a positive 31-bit number from its name. */
export function databaseLockKey(database: string): number {
  return createHash('sha256').update(database).digest().readUInt32BE(0) & 0x7fffffff;
}

export interface DatabaseLock {
  /** Ends the session holding the lock (which releases it). */
  release(): Promise<void>;
}

const LOCKED = 'pg-docker-backup:locked';

/**
 * Holds a Postgres advisory lock for one database while a restore, undo or reset of it runs: a psql session
 * in the maintenance database that takes the lock and stays open until `release()` (or until this process
 * dies: its exec then loses its input, psql ends and the lock goes with it). The session's application_name
 * says who holds it, so a second operation is refused with a message naming the first.
 */
export async function lockDatabase(server: PgServer, database: string, purpose: string, log: Logger, now = new Date()): Promise<DatabaseLock> {
  const key = databaseLockKey(database);
  const label = `pg-docker-backup: ${purpose} of "${database}" (pid ${process.pid} on ${os.hostname()}, since ${now.toISOString().slice(0, 19)}Z)`.slice(0, 63);
  const input = new PassThrough();
  let out = '';
  let verdictOf: (v: string) => void = () => undefined;
  const verdictP = new Promise<string>((resolve) => (verdictOf = resolve));
  const stdout = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l === LOCKED || l.startsWith('busy:'));
      if (line) verdictOf(line);
      cb();
    },
  });
  const argv = ['psql', '-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-U', server.target.user, '-d', dbConninfo(server.maintenanceDb)];
  const session = execClient(server.docker, server.target, argv, { stdin: input, stdout, what: 'Locking the database' });
  session.then((r) => verdictOf(`the locking session exited with code ${r.exitCode} (${r.stderr.trim()})`), (e: unknown) => verdictOf(errorMessage(e)));
  input.write(
    `SELECT set_config('application_name', ${quoteLiteral(label)}, false);\n` +
      `SELECT CASE WHEN pg_try_advisory_lock(${LOCK_CLASS}, ${key}) THEN ${quoteLiteral(LOCKED)} ELSE 'busy:' || coalesce((SELECT string_agg(a.application_name, ', ') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = ${LOCK_CLASS} AND l.objid = ${key} AND l.objsubid = 2 AND l.granted), 'another session') END;\n`,
  );
  const verdict = await verdictP;
  const release = async () => {
    input.end();
    await session.catch(() => undefined);
  };
  if (verdict === LOCKED) {
    log.debug(`locked "${database}" in ${server.container.name} (${label})`);
    return { release };
  }
  await release();
  if (verdict.startsWith('busy:')) {
    throw new PgBackupError('refused', `Another operation on "${database}" in ${server.container.name} is running (${verdict.slice(5)}): wait for it to finish and try again. Nothing was changed.`);
  }
  throw new PgBackupError('failed', `Could not lock "${database}" in ${server.container.name} for the ${purpose}: ${verdict}. Nothing was changed.`);
}
