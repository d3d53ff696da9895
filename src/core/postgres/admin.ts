import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { APPLICATION_NAME, dbConninfo, queryJson, runClient, runSql, type PgTarget } from './client';
import { quoteIdent, quoteLiteral, settingAssignment } from './sql';

/** What `CREATE DATABASE` needs to make a database like an existing one. */
export interface DatabaseProperties {
  name: string;
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** `c` libc, `i` icu, `b` builtin (PG 15+; absent before). */
  localeProvider?: string;
  /** ICU locale (15/16: daticulocale) or builtin/ICU locale (17: datlocale). */
  locale?: string;
  icuRules?: string;
  tablespace: string;
  connectionLimit: number;
  allowConnections: boolean;
  comment?: string;
  /** pg_db_role_setting rows: role undefined = for everybody. */
  settings: { role?: string; config: string[] }[];
  /** aclexplode(datacl); undefined when the database has default privileges. */
  acl?: { grantee?: string; privilege: string; grantable: boolean }[];
}

/** A query returning one JSON value describing database `name` (null when there is none); see `parseDatabaseProperties`. */
export function databasePropertiesSql(name: string): string {
  return `SELECT json_build_object(
      'row', to_jsonb(d) - 'datacl',
      'owner', pg_get_userbyid(d.datdba),
      'encoding', pg_encoding_to_char(d.encoding),
      'tablespace', t.spcname,
      'comment', shobj_description(d.oid, 'pg_database'),
      'settings', (SELECT json_agg(json_build_object('role', CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, 'config', s.setconfig))
                   FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
      'acl', CASE WHEN d.datacl IS NULL THEN NULL ELSE (SELECT coalesce(json_agg(json_build_object(
                   'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
                   'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]') FROM aclexplode(d.datacl) a) END)
    FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = ${quoteLiteral(name)}`;
}

/** The answer of `databasePropertiesSql(name)`, parsed; undefined when there is no such database. */
export function parseDatabaseProperties(name: string, answer: unknown): DatabaseProperties | undefined {
  type Row = {
    row: Record<string, unknown>;
    owner: string;
    encoding: string;
    tablespace: string;
    comment: string | null;
    settings: { role: string | null; config: string[] }[] | null;
    acl: { grantee: string | null; privilege: string; grantable: boolean }[] | null;
  };
  const r = answer as Row | null | undefined;
  if (!r) return undefined;
  const row = r.row;
  const str = (k: string) => (typeof row[k] === 'string' && row[k] !== '' ? (row[k] as string) : undefined);
  return {
    name,
    owner: r.owner,
    encoding: r.encoding,
    collate: String(row.datcollate ?? ''),
    ctype: String(row.datctype ?? ''),
    localeProvider: str('datlocprovider'),
    locale: str('datlocale') ?? str('daticulocale'),
    icuRules: str('daticurules'),
    tablespace: r.tablespace,
    connectionLimit: Number(row.datconnlimit ?? -1),
    allowConnections: row.datallowconn !== false,
    comment: r.comment ?? undefined,
    settings: (r.settings ?? []).map((s) => ({ role: s.role ?? undefined, config: s.config })),
    acl: r.acl?.map((a) => ({ grantee: a.grantee ?? undefined, privilege: a.privilege, grantable: a.grantable })),
  };
}

/**
 * Statements that create `name` like the database described by `p`: owner, encoding, collation, locale
 * provider, tablespace, connection limit, per-database (and per-role-in-database) settings, privileges
 * and comment. The first statement is CREATE DATABASE, which must run outside a transaction.
 */
export function createDatabaseLikeSql(p: DatabaseProperties | undefined, name: string): string[] {
  const db = quoteIdent(name);
  if (!p) return [`CREATE DATABASE ${db} WITH TEMPLATE template0`];
  const parts = [`CREATE DATABASE ${db} WITH TEMPLATE template0`, `OWNER ${quoteIdent(p.owner)}`, `ENCODING ${quoteLiteral(p.encoding)}`];
  if (p.localeProvider === 'i') {
    parts.push('LOCALE_PROVIDER icu');
    if (p.locale) parts.push(`ICU_LOCALE ${quoteLiteral(p.locale)}`);
    if (p.icuRules) parts.push(`ICU_RULES ${quoteLiteral(p.icuRules)}`);
  } else if (p.localeProvider === 'b') {
    parts.push('LOCALE_PROVIDER builtin');
    if (p.locale) parts.push(`BUILTIN_LOCALE ${quoteLiteral(p.locale)}`);
  } else if (p.localeProvider === 'c') {
    parts.push('LOCALE_PROVIDER libc');
  }
  parts.push(`LC_COLLATE ${quoteLiteral(p.collate)}`, `LC_CTYPE ${quoteLiteral(p.ctype)}`);
  if (p.tablespace && p.tablespace !== 'pg_default') parts.push(`TABLESPACE ${quoteIdent(p.tablespace)}`);
  if (p.connectionLimit !== -1) parts.push(`CONNECTION LIMIT ${Math.trunc(p.connectionLimit)}`);
  const out = [parts.join(' ')];
  for (const s of p.settings) {
    for (const entry of s.config) {
      out.push(
        s.role
          ? `ALTER ROLE ${quoteIdent(s.role)} IN DATABASE ${db} SET ${settingAssignment(entry)}`
          : `ALTER DATABASE ${db} SET ${settingAssignment(entry)}`,
      );
    }
  }
  if (p.acl) {
    out.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    for (const a of p.acl) {
      if (a.grantee === p.owner) continue;
      out.push(`GRANT ${a.privilege} ON DATABASE ${db} TO ${a.grantee ? quoteIdent(a.grantee) : 'PUBLIC'}${a.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
  }
  if (p.comment) out.push(`COMMENT ON DATABASE ${db} IS ${quoteLiteral(p.comment)}`);
  return out;
}

/** Runs statements one by one (each its own transaction), stopping at the first error. */
export async function runStatements(
  docker: DockerClient,
  target: PgTarget,
  database: string,
  statements: readonly string[],
  doing: string,
  signal?: AbortSignal,
): Promise<void> {
  if (statements.length === 0) return;
  const argv = ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(database)];
  for (const s of statements) argv.push('-c', s);
  await runClient(docker, target, argv, doing, { signal });
}

/** `DROP DATABASE … WITH (FORCE)` (PG 13+), ending any session still in it. */
export function dropDatabaseSql(name: string, serverMajor: number): string {
  return serverMajor >= 13 ? `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${quoteIdent(name)}`;
}

/**
 * A DO block that terminates every other session of the given databases and waits (up to
 * `timeoutSeconds`) until they are gone; it raises an error naming what is still connected.
 */
export function terminateAndWaitSql(databases: readonly string[], timeoutSeconds = 10): string {
  const list = databases.map(quoteLiteral).join(', ');
  return `DO $pgdb$
DECLARE deadline timestamptz := clock_timestamp() + make_interval(secs => ${Number(timeoutSeconds)}); left_over text;
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN (${list}) AND pid <> pg_backend_pid();
    PERFORM pg_stat_clear_snapshot();
    SELECT string_agg(DISTINCT coalesce(nullif(application_name, ''), usename::text, 'pid ' || pid), ', ') INTO left_over
      FROM pg_stat_activity WHERE datname IN (${list}) AND pid <> pg_backend_pid();
    EXIT WHEN left_over IS NULL;
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'sessions did not end within ${Number(timeoutSeconds)} s: %', left_over;
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
END
$pgdb$`;
}

export function allowConnectionsSql(name: string, allow: boolean): string {
  return `ALTER DATABASE ${quoteIdent(name)} WITH ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`;
}

/** Sessions of one database other than ours and other than pg-docker-backup's own. */
export async function countSessions(docker: DockerClient, target: PgTarget, maintenanceDb: string, database: string, signal?: AbortSignal): Promise<{ count: number; applications: string[] }> {
  const r = await queryJson<{ count: number; applications: string[] | null }>(
    docker,
    target,
    maintenanceDb,
    `SELECT json_build_object('count', count(*), 'applications', json_agg(DISTINCT coalesce(nullif(application_name, ''), usename::text)))
       FROM pg_stat_activity WHERE datname = ${quoteLiteral(database)} AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM ${quoteLiteral(APPLICATION_NAME)}`,
    'counting sessions',
    signal,
  );
  return { count: r.count, applications: r.applications ?? [] };
}

/** Terminates every other session of `database`; returns how many were ended. */
export async function terminateSessions(docker: DockerClient, target: PgTarget, maintenanceDb: string, database: string, signal?: AbortSignal): Promise<number> {
  const out = await runSql(
    docker,
    target,
    maintenanceDb,
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${quoteLiteral(database)} AND pid <> pg_backend_pid()`,
    `terminating the sessions of ${database}`,
    signal,
  );
  const n = Number(out.trim());
  if (!Number.isFinite(n)) throw new PgBackupError('failed', `unexpected answer while terminating sessions: ${out.trim()}`);
  return n;
}
