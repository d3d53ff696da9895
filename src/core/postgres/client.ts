import type { DockerClient, ExecOptions, ExecResult } from '../docker/client';
import { PgBackupError } from '../errors';
import { quoteLiteral } from './sql';

/** How to reach one Postgres server: through `docker exec` in its container, over its local socket. */
export interface PgTarget {
  /** Container id or name. */
  container: string;
  /** Name for messages. */
  containerName: string;
  user: string;
  /** Never logged, never in argv: only in the exec environment as PGPASSWORD. */
  password?: string;
  /**
   * The OS user the client programs run as: `postgres` (least privilege, never root) unless the image sets
   * a user of its own, or has no `postgres` user (then Docker's default is used and this becomes undefined).
   */
  osUser?: string;
}

export const APPLICATION_NAME = 'pg-docker-backup';

/** The exec environment for a Postgres client program: password and application name. */
export function clientEnv(target: PgTarget): Record<string, string> {
  const env: Record<string, string> = { PGAPPNAME: APPLICATION_NAME, PGCONNECT_TIMEOUT: '10' };
  if (target.password) env.PGPASSWORD = target.password;
  return env;
}

/**
 * The values to hide in a logged argv for this target (passwords never travel in argv; this is a second
 * guard). A password equal to the user name is left out: the user name is printed in plans and messages
 * anyway, and hiding it would turn every logged command of a `postgres`/`postgres` dev setup into `-U '***'`.
 */
export function argvSecrets(target: PgTarget): string[] {
  return target.password && target.password !== target.user ? [target.password] : [];
}

/**
 * A database name as a libpq connection string for `-d`: client programs treat a `-d` value that
 * contains `=` or starts with `postgresql://` as a connection string, so a plain name is never safe.
 */
export function dbConninfo(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** psql argv that runs one SQL string and prints unaligned, tuples-only output. */
export function psqlArgv(target: PgTarget, database: string, sql: string): string[] {
  return ['psql', '-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-U', target.user, '-d', dbConninfo(database), '-c', sql];
}

/** The first ERROR/FATAL lines of a client's stderr, for a one-line message. */
export function firstErrorLines(stderr: string, max = 3): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /(ERROR|FATAL|error|fatal):/.test(l));
  return (errors.length ? errors : lines).slice(0, max).join(' / ');
}

/** Turns a failed client exec into an error a user can act on. */
export function clientError(target: PgTarget, program: string, result: ExecResult, doing: string): PgBackupError {
  const stderr = result.stderr;
  const where = `in container ${target.containerName}`;
  let message: string;
  if (result.exitCode === 126 || result.exitCode === 127 || /executable file not found|no such file or directory/i.test(stderr.slice(0, 300)) && /exec/i.test(stderr)) {
    message = `${program} is not available ${where}: is it a Postgres container? (${firstErrorLines(stderr, 1)})`;
  } else if (/password authentication failed/i.test(stderr)) {
    message = `Wrong password for user "${target.user}" ${where}: the password in the container's POSTGRES_PASSWORD no longer matches. Set the right one (extension: "Set Password…"; CLI: PG_DOCKER_BACKUP_PASSWORD) and try again.`;
  } else if (/no password supplied|fe_sendauth/i.test(stderr)) {
    message = `User "${target.user}" ${where} needs a password and none is known: set POSTGRES_PASSWORD on the container, or give one (extension: "Set Password…"; CLI: PG_DOCKER_BACKUP_PASSWORD).`;
  } else if (/role "[^"]*" does not exist/i.test(stderr)) {
    message = `${firstErrorLines(stderr, 1)} ${where}: set POSTGRES_USER on the container or pass the right user.`;
  } else if (/could not connect|connection to server .*failed|Connection refused|the database system is (starting up|shutting down)/i.test(stderr)) {
    message = `The Postgres server ${where} is not accepting connections (${firstErrorLines(stderr, 1)}). Is it still starting up? Try again in a moment.`;
  } else if (/No space left on device/i.test(stderr)) {
    message = `The disk ${where} is full while ${doing}: ${firstErrorLines(stderr, 2)}`;
  } else {
    message = `${doing} failed ${where}: ${firstErrorLines(stderr) || `${program} exited with code ${result.exitCode}`}`;
  }
  return new PgBackupError('failed', message, { detail: stderr });
}

const NO_SUCH_USER = /unable to find user/i;

/**
 * Runs a client program (pg_dump, pg_restore, psql, or an `sh -c` around them) in the target's container
 * as its OS user, with the password in the environment. An image without a `postgres` user is learnt at
 * the first exec without input (every operation starts with one) and the default user is used from then.
 */
export async function execClient(docker: DockerClient, target: PgTarget, argv: readonly string[], options: Omit<ExecOptions, 'env' | 'user' | 'secrets'> = {}): Promise<ExecResult> {
  const run = () => docker.exec(target.container, argv, { ...options, env: clientEnv(target), secrets: argvSecrets(target), user: target.osUser });
  const r = await run();
  if (target.osUser && !options.stdin && r.exitCode === 126 && NO_SUCH_USER.test(r.stderr + r.stdout)) {
    target.osUser = undefined;
    return run();
  }
  return r;
}

export async function runClient(
  docker: DockerClient,
  target: PgTarget,
  argv: string[],
  doing: string,
  options: Omit<ExecOptions, 'env'> = {},
): Promise<ExecResult> {
  const result = await execClient(docker, target, argv, { ...options, what: options.what ?? doing });
  if (result.exitCode !== 0) throw clientError(target, argv[0], result, doing);
  return result;
}

/** Runs SQL through psql in the container; returns its unaligned output. */
export async function runSql(
  docker: DockerClient,
  target: PgTarget,
  database: string,
  sql: string,
  doing: string,
  signal?: AbortSignal,
): Promise<string> {
  const r = await runClient(docker, target, psqlArgv(target, database, sql), doing, { signal });
  return r.stdout;
}

/** Runs a query that returns one JSON value (e.g. `SELECT json_agg(...)`) and parses it. */
export async function queryJson<T>(
  docker: DockerClient,
  target: PgTarget,
  database: string,
  sql: string,
  doing: string,
  signal?: AbortSignal,
): Promise<T> {
  const out = (await runSql(docker, target, database, sql, doing, signal)).trim();
  if (out === '') return null as T;
  try {
    return JSON.parse(out) as T;
  } catch (e) {
    throw new PgBackupError('failed', `${doing}: unexpected output from psql in ${target.containerName}`, { cause: e, detail: out.slice(0, 2000) });
  }
}

export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
}

export function majorOf(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 100) / 100;
}

export interface DatabaseInfo {
  name: string;
  sizeBytes: number;
  owner: string;
  allowConnections: boolean;
  /** Sessions connected to it now (ours excluded). */
  connections: number;
}

/** More JSON values asked for in the same round trip: name → SQL expression (e.g. a scalar subquery). */
export type ExtraQueries = Record<string, string>;

export async function serverInfoAndDatabases(
  docker: DockerClient,
  target: PgTarget,
  database: string,
  signal?: AbortSignal,
  extra: ExtraQueries = {},
): Promise<{ server: ServerInfo; databases: DatabaseInfo[]; extra: Record<string, unknown> }> {
  const extraSql = Object.entries(extra)
    .map(([k, expr]) => `,\n    ${quoteLiteral(k)}, ${expr}`)
    .join('');
  const sql = `SELECT json_build_object(
    'version', current_setting('server_version'),
    'versionNum', current_setting('server_version_num')::int,
    'databases', (SELECT coalesce(json_agg(json_build_object(
        'name', d.datname,
        'sizeBytes', CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) ELSE -1 END,
        'owner', pg_get_userbyid(d.datdba),
        'allowConnections', d.datallowconn,
        'connections', (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid AND a.pid <> pg_backend_pid()))
      ORDER BY d.datname), '[]') FROM pg_database d WHERE NOT d.datistemplate)${extraSql})`;
  const r = await queryJson<{ version: string; versionNum: number; databases: DatabaseInfo[] } & Record<string, unknown>>(
    docker,
    target,
    database,
    sql,
    'reading the server version and databases',
    signal,
  );
  return {
    server: { version: r.version, versionNum: r.versionNum, major: majorOf(r.versionNum) },
    databases: r.databases,
    extra: Object.fromEntries(Object.keys(extra).map((k) => [k, r[k]])),
  };
}

/**
 * Server version and databases, asked of the maintenance database (`postgres`, or `template1` where there
 * is none) in one round trip; returns which maintenance database answered.
 */
export async function serverOverview(
  docker: DockerClient,
  target: PgTarget,
  signal?: AbortSignal,
  extra?: ExtraQueries,
): Promise<{ maintenanceDb: string; server: ServerInfo; databases: DatabaseInfo[]; extra: Record<string, unknown> }> {
  try {
    return { maintenanceDb: 'postgres', ...(await serverInfoAndDatabases(docker, target, 'postgres', signal, extra)) };
  } catch (e) {
    if (!(e instanceof PgBackupError && /database "postgres" does not exist/.test(e.detail ?? ''))) throw e;
    return { maintenanceDb: 'template1', ...(await serverInfoAndDatabases(docker, target, 'template1', signal, extra)) };
  }
}

/** `pg_dump --version` → `17.2` (major 17). */
export async function clientVersion(docker: DockerClient, target: PgTarget, program: 'pg_dump' | 'pg_restore' | 'psql'): Promise<{ version: string; major: number }> {
  const r = await runClient(docker, target, [program, '--version'], `asking ${program} for its version`);
  const m = /(\d+)(?:\.(\d+))?/.exec(r.stdout.replace(/^[^)]*\)/, ''));
  if (!m) throw new PgBackupError('failed', `cannot read the version of ${program} in ${target.containerName}: ${r.stdout.trim()}`);
  return { version: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1], major: Number(m[1]) };
}
