import type { BackupManifest } from '../backup/manifest';
import { tableRowCounts, type TableCount } from '../backup/pgDump';
import type { DockerClient } from '../docker/client';
import { clientError, dbConninfo, execClient, type PgTarget } from '../postgres/client';
import type { CheckResult } from './checkTypes';

/** What the row counts are compared with: a backup's manifest, or a copy's source counted after the copy. */
export type RowCountSource = Pick<BackupManifest, 'file' | 'rowCounts' | 'tables' | 'rowCountsSnapshot'>;

/** Compares the database's exact row counts with the backup's manifest (pure). */
export function compareRowCounts(manifest: RowCountSource | undefined, actual: readonly TableCount[] | undefined, database: string): CheckResult {
  const subject = database;
  if (!manifest) return { check: 'rows', subject, status: 'notChecked', detail: 'no backup given to compare with (CLI: --backup FILE)' };
  if (manifest.rowCounts !== 'exact') return { check: 'rows', subject, status: 'notChecked', detail: `${manifest.file} holds estimated row counts only (the database was above the exact-count limit)` };
  if (!actual) return { check: 'rows', subject, status: 'notChecked', detail: 'the rows could not be counted' };
  const have = new Map(actual.map((t) => [`${t.schema}.${t.name}`, t.rows]));
  const diffs = manifest.tables
    .map((t) => ({ key: `${t.schema}.${t.name}`, want: t.rows, got: have.get(`${t.schema}.${t.name}`) }))
    .filter((d) => d.got !== d.want);
  const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  if (diffs.length === 0) return { check: 'rows', subject, status: 'passed', detail: `${manifest.tables.length} tables, ${rows} rows, as in ${manifest.file}` };
  const shown = diffs.slice(0, 5).map((d) => `${d.key} ${d.want} → ${d.got === undefined ? 'missing' : d.got}`);
  if (manifest.rowCountsSnapshot !== 'dump') {
    // Counted beside pg_dump, not in its snapshot: rows written during the backup make a difference.
    return { check: 'rows', subject, status: 'notChecked', detail: `${diffs.length} of ${manifest.tables.length} tables differ from ${manifest.file} (${shown.join(', ')}), but its counts were taken beside the dump, not in its snapshot, so writes during the backup can explain that` };
  }
  return { check: 'rows', subject, status: 'failed', detail: `${diffs.length} of ${manifest.tables.length} tables differ from ${manifest.file}: ${shown.join(', ')}${diffs.length > 5 ? ', …' : ''}` };
}

export async function checkRowCounts(docker: DockerClient, target: PgTarget, database: string, manifest: RowCountSource | undefined, signal?: AbortSignal): Promise<CheckResult> {
  if (!manifest || manifest.rowCounts !== 'exact') return compareRowCounts(manifest, undefined, database);
  return compareRowCounts(manifest, await tableRowCounts(docker, target, database, true, signal), database);
}

/**
 * A DO block that inserts one row into the first user table that takes one (a copy of an existing row; else
 * that copy with a single-column integer primary key set to max+1), each try in its own subtransaction, and
 * records which worked. Run inside BEGIN … ROLLBACK: nothing stays. Every column is given, so no DEFAULT
 * runs: a rolled-back insert would still leave a sequence advanced, which a check must never do.
 */
export const WRITE_CHECK_DO = `DO $pgdb_check$
DECLARE r record; pk text; cols text; vals text; n bigint; done text; why text := '';
BEGIN
  FOR r IN SELECT c.oid, n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' AND has_table_privilege(c.oid, 'INSERT')
           ORDER BY n.nspname, c.relname LIMIT 50 LOOP
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute
      WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
    BEGIN
      EXECUTE format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I LIMIT 1', r.s, r.t, cols, cols, r.s, r.t);
      GET DIAGNOSTICS n = ROW_COUNT;
      IF n = 1 THEN done := format('%I.%I', r.s, r.t) || ' (a copy of one of its rows)'; EXIT; END IF;
    EXCEPTION WHEN others THEN why := SQLERRM;
    END;
    SELECT a.attname INTO pk FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = r.oid AND i.indisprimary AND i.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype);
    IF pk IS NOT NULL THEN
      SELECT string_agg(CASE WHEN attname = pk THEN format('(SELECT max(%I) + 1 FROM %I.%I)', pk, r.s, r.t) ELSE quote_ident(attname) END, ', ' ORDER BY attnum) INTO vals
        FROM pg_attribute WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
      BEGIN
        EXECUTE format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I LIMIT 1', r.s, r.t, cols, vals, r.s, r.t);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 1 THEN done := format('%I.%I', r.s, r.t) || ' (a copy of one of its rows with a new ' || quote_ident(pk) || ')'; EXIT; END IF;
      EXCEPTION WHEN others THEN why := SQLERRM;
      END;
    END IF;
  END LOOP;
  PERFORM set_config('pg_docker_backup.written', coalesce('ok:' || done, 'none:' || why), true);
END $pgdb_check$`;

/** Parses the write check's answer (pure). */
export function writeCheckResult(answer: string, database: string): CheckResult {
  const a = answer.trim();
  if (a.startsWith('ok:')) return { check: 'write', subject: database, status: 'passed', detail: `inserted a row into ${a.slice(3)} and rolled it back` };
  const why = a.startsWith('none:') ? a.slice(5) : a;
  return why
    ? { check: 'write', subject: database, status: 'notChecked', detail: `no table took a test row (the last refusal: ${why.split('\n')[0]}), so writing was not proven` }
    : { check: 'write', subject: database, status: 'notChecked', detail: 'the database has no table to write a test row into' };
}

/** A real insert into a user table, inside a transaction that is rolled back. */
export async function checkWritable(docker: DockerClient, target: PgTarget, database: string, signal?: AbortSignal): Promise<CheckResult> {
  const statements = ['BEGIN', "SET LOCAL lock_timeout = '3s'", "SET LOCAL statement_timeout = '30s'", WRITE_CHECK_DO, "SELECT current_setting('pg_docker_backup.written', true)", 'ROLLBACK'];
  const argv = ['psql', '-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(database), ...statements.flatMap((s) => ['-c', s])];
  const r = await execClient(docker, target, argv, { signal, what: 'the write check' });
  if (r.exitCode !== 0) {
    const e = clientError(target, 'psql', r, `Writing a test row into "${database}"`);
    return { check: 'write', subject: database, status: 'failed', detail: e.message };
  }
  return writeCheckResult(r.stdout, database);
}
