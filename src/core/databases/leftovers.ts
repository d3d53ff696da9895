import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { execClient, queryJson } from '../postgres/client';
import type { PgServer } from '../postgres/server';
import { quoteIdent, quoteLiteral } from '../postgres/sql';
import { databaseLockKey, lockDatabase } from './lock';
import { parseSideDatabaseName, sideDatabaseKind } from './sideDatabases';

/** The name prefix of the archives a parallel restore of `database` copies into the container (and of the folders a directory dump is unpacked in). */
export function archivePrefix(database: string): string {
  return `${ARCHIVE_PREFIX}${databaseLockKey(database)}-`;
}

/** Where a parallel restore copies archives in the container, and their names. */
export const ARCHIVE_DIR = '/tmp';
export const ARCHIVE_PREFIX = 'pg-docker-backup-restore-';

/**
 * `sh -c`: for each copied archive in $1 whose name starts with $2, remove it ($3 = `remove`; else only list) unless a process still names it in its command line
 * (a `pg_restore -j` started by a restore whose CLI was killed keeps running); prints `removed F` / `in-use F`.
 */
const ARCHIVES_SCRIPT = [
  'for f in "$1"/"$2"*.dump "$1"/"$2"*.dir; do',
  '  [ -e "$f" ] || continue',
  '  used=',
  '  for c in /proc/[0-9]*/cmdline; do',
  '    if tr "\\000" " " < "$c" 2>/dev/null | grep -qF -- "$f"; then used=1; break; fi',
  '  done',
  '  if [ -n "$used" ]; then echo "in-use $f"; elif [ "$3" != remove ]; then echo "removed $f"; elif rm -rf -- "$f"; then echo "removed $f"; else echo "kept $f"; fi',
  'done',
].join('\n');

/** Whether no deep verify holds the lock of this scratch database (see verify.ts). */
async function verifyIdle(server: PgServer, name: string, log: Logger): Promise<boolean> {
  try {
    await (await lockDatabase(server, name, 'cleanup', log)).release();
    return true;
  } catch {
    return false;
  }
}

export interface LeftoverReport {
  /** Scratch databases dropped, and those left because a session still uses them. */
  dropped: string[];
  inUse: string[];
  /** Copied archives removed, and those left (in use, or not removable). */
  archivesRemoved: string[];
  archivesLeft: string[];
}

/**
 * Removes what interrupted restores and deep verifies left in a server: scratch databases (`<db>__restoring_<ts>`,
 * `<db>__verify_<ts>`) and copied
 * archives of one database (or of every one) that no session or process uses. Run only while holding the
 * lock of each database concerned, so that no restore of it is under way.
 */
export async function removeLeftovers(server: PgServer, log: Logger, database?: string, dryRun = false): Promise<LeftoverReport> {
  const names = await server.databaseNames();
  const isScratch = (k: string | undefined) => k === 'restoring' || k === 'verify';
  const scratch = names.filter((n) => isScratch(database ? parseSideDatabaseName(database, n)?.kind : sideDatabaseKind(n)));
  const report: LeftoverReport = { dropped: [], inUse: [], archivesRemoved: [], archivesLeft: [] };
  if (scratch.length) {
    const sessions = await queryJson<Record<string, number> | null>(
      server.docker,
      server.target,
      server.maintenanceDb,
      `SELECT json_object_agg(datname, n) FROM (SELECT datname, count(*) AS n FROM pg_stat_activity WHERE datname IN (${scratch.map(quoteLiteral).join(', ')}) GROUP BY datname) s`,
      'looking for sessions in leftover scratch databases',
    );
    for (const name of scratch) {
      if ((sessions?.[name] ?? 0) > 0) {
        report.inUse.push(name);
        continue;
      }
      // A deep verify holds the lock of its own scratch database while it runs.
      if (sideDatabaseKind(name) === 'verify' && !(await verifyIdle(server, name, log))) {
        report.inUse.push(name);
        continue;
      }
      if (dryRun) {
        report.dropped.push(name);
        continue;
      }
      // No FORCE: a session that appeared meanwhile makes the drop fail instead of being ended.
      await server.admin([`DROP DATABASE IF EXISTS ${quoteIdent(name)}`], `dropping ${name}`).then(
        () => report.dropped.push(name),
        (e: unknown) => {
          log.debug(`left ${name}: ${errorMessage(e)}`);
          report.inUse.push(name);
        },
      );
    }
  }
  const prefix = database ? archivePrefix(database) : ARCHIVE_PREFIX;
  const r = await execClient(server.docker, server.target, ['sh', '-c', ARCHIVES_SCRIPT, 'sh', ARCHIVE_DIR, prefix, dryRun ? 'list' : 'remove'], { what: 'Removing copied archives' }).catch((e: unknown) => {
    log.debug(`could not look for copied archives: ${errorMessage(e)}`);
    return undefined;
  });
  for (const line of (r?.stdout ?? '').split('\n').filter(Boolean)) {
    const [what, file] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
    (what === 'removed' ? report.archivesRemoved : report.archivesLeft).push(file);
  }
  if (!dryRun && (report.dropped.length || report.archivesRemoved.length)) log.info(`removed leftovers in ${server.container.name}: ${[...report.dropped, ...report.archivesRemoved].join(', ')}`);
  return report;
}
