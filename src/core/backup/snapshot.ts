import { PassThrough, Writable } from 'node:stream';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { clientError, dbConninfo, execClient, type PgTarget } from '../postgres/client';
import type { TableCount } from './pgDump';

/**
 * Row counts in pg_dump's own snapshot: a psql session (stdin kept open, like databases/lock.ts) runs
 * `BEGIN ISOLATION LEVEL REPEATABLE READ` and `pg_export_snapshot()`; pg_dump starts with `--snapshot=<id>`
 * and so sees exactly what this transaction sees; the session counts every table with count(*) while
 * pg_dump runs, and ends (releasing the snapshot) only once pg_dump has finished.
 */
export interface SnapshotSession {
  /** The exported snapshot's id, for `pg_dump --snapshot`. */
  snapshot: string;
  /** Every ordinary table's rows in the snapshot (exact, or the planner's estimate where not counted). */
  counts(): Promise<TableCount[]>;
  /**
   * Ends the transaction and the session once the counting is done; never throws. `abandon` (pg_dump
   * failed, or the user cancelled) closes it at once instead: the server finishes a count under way by itself.
   */
  end(abandon?: boolean): Promise<void>;
}

const SNAPSHOT = 'pgdb-snapshot:';
const PID = 'pgdb-pid:';
const COUNTS = 'pgdb-counts:';

/**
 * The tables whose data pg_dump writes: ordinary tables (partitions included), not the catalogs, not the
 * members of an extension (pg_dump leaves their rows to the extension's script). A table this user may not
 * read (pg_dump would fail on it anyway) is left uncounted: its estimate is recorded as such; so is every
 * table of a database larger than `exactUpToBytes` (undefined: no limit).
 */
export function rowCountSql(exactUpToBytes: number | undefined): string {
  const count = `(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint`;
  const small = exactUpToBytes === undefined ? 'true' : `(SELECT pg_database_size(current_database()) <= ${Math.max(0, Math.trunc(exactUpToBytes))})`;
  const counted = `(has_table_privilege(c.oid, 'SELECT') AND ${small})`;
  return `SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
      'rows', CASE WHEN ${counted} THEN ${count} ELSE greatest(c.reltuples, 0)::bigint END,
      'exact', ${counted}) ORDER BY n.nspname, c.relname), '[]')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;
}

/** One line per answer: `<tag><json or id>`; psql prints each result as soon as it has it. */
function lineReader(onLine: (line: string) => void): Writable {
  let buf = '';
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      cb();
    },
  });
}

/**
 * Opens the session and exports its snapshot; the counting starts at once, in the same transaction (see
 * rowCountSql). A database that does not exist (or any failure to connect) rejects with the client's error.
 */
export async function openSnapshotSession(docker: DockerClient, target: PgTarget, database: string, exactUpToBytes: number | undefined, signal?: AbortSignal): Promise<SnapshotSession> {
  const input = new PassThrough();
  const answers = new Map<string, (v: string) => void>();
  const waiting = (tag: string) => new Promise<string>((resolve) => answers.set(tag, resolve));
  const snapshotP = waiting(SNAPSHOT);
  const pidP = waiting(PID);
  const countsP = waiting(COUNTS);
  const stdout = lineReader((line) => {
    for (const [tag, resolve] of answers) if (line.startsWith(tag)) resolve(line.slice(tag.length));
  });
  // The count uses one core: no parallel workers beside pg_dump (two cores measured in bench/).
  const argv = ['psql', '-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(database)];
  const stop = new AbortController();
  const session = execClient(docker, target, argv, { stdin: input, stdout, signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, what: 'Counting rows' });
  const ended = session.then(
    (r) => (r.exitCode === 0 ? undefined : clientError(target, 'psql', r, 'Counting rows')),
    (e: unknown) => (e instanceof Error ? e : new PgBackupError('failed', errorMessage(e))),
  );
  const failedP = ended.then((e) => {
    throw e ?? new PgBackupError('failed', `The row-counting session in ${target.containerName} ended before it answered.`);
  });
  failedP.catch(() => undefined);
  input.write(
    `SELECT set_config('max_parallel_workers_per_gather', '0', false) WHERE current_setting('server_version_num')::int >= 90600;\nBEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n` +
      `SELECT '${SNAPSHOT}' || pg_export_snapshot();\nSELECT '${PID}' || pg_backend_pid();\n` +
      `SELECT '${COUNTS}' || (${rowCountSql(exactUpToBytes)});\n`,
  );
  const end = async (abandon = false) => {
    if (abandon) stop.abort();
    if (!input.writableEnded) input.end('COMMIT;\n');
    await session.catch(() => undefined);
  };
  let snapshot: string;
  try {
    snapshot = await Promise.race([snapshotP, failedP]);
  } catch (e) {
    await end(true);
    throw e;
  }
  // The count yields the CPU to pg_dump and the backend feeding it (two cores are often all there is).
  void pidP.then((pid) => lowerPriority(docker, target, pid));
  return {
    snapshot,
    counts: async () => {
      const text = await Promise.race([countsP, failedP]);
      return (JSON.parse(text) as (TableCount & { exact: boolean })[]).map((t) => (t.exact ? { schema: t.schema, name: t.name, rows: Number(t.rows) } : { schema: t.schema, name: t.name, rows: Number(t.rows), estimated: true }));
    },
    end,
  };
}

/** `renice` of the counting backend (same OS user, so allowed); where there is no renice, nothing happens. */
async function lowerPriority(docker: DockerClient, target: PgTarget, pid: string): Promise<void> {
  if (!/^\d+$/.test(pid.trim())) return;
  await execClient(docker, target, ['sh', '-c', 'renice -n 10 -p "$1" >/dev/null 2>&1 || true', 'sh', pid.trim()], { what: 'Lowering the priority of the row count' }).catch(() => undefined);
}
