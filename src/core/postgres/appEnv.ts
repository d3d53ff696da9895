/**
 * How an app container says where its database is and who it logs in as: its environment
 * (DATABASE_URL, the libpq PG* variables, the POSTGRES_* variables of many images and compose files).
 * Pure: unit-tested with plain data.
 */

export interface DatabaseUrl {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

/** `postgres://user:pass@host:5432/db?…` (also `postgresql://`); undefined for anything else. */
export function parseDatabaseUrl(url: string | undefined): DatabaseUrl | undefined {
  if (!url || !/^postgres(ql)?:\/\//i.test(url.trim())) return undefined;
  let u: URL;
  try {
    // URL parses a special scheme's host only: give it one it knows, the rest reads the same.
    u = new URL(url.trim().replace(/^postgres(ql)?:/i, 'http:'));
  } catch {
    return undefined;
  }
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || u.searchParams.get('host') || undefined;
  const db = dec(u.pathname.replace(/^\//, ''));
  return {
    host: host ? dec(host) : undefined,
    port: u.port ? Number(u.port) : undefined,
    user: u.username ? dec(u.username) : u.searchParams.get('user') ?? undefined,
    password: u.password ? dec(u.password) : u.searchParams.get('password') ?? undefined,
    database: db || u.searchParams.get('dbname') || undefined,
  };
}

/** The host names an app's environment points at for its database (lower-cased). */
export function databaseHostsOf(env: Record<string, string>): string[] {
  const hosts = [env.POSTGRES_HOST, env.PGHOST, parseDatabaseUrl(env.DATABASE_URL)?.host]
    .flatMap((h) => (h ? h.split(',') : []))
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(hosts)];
}

/** True when a host name means "this container itself" (so the environment is not an app's). */
export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1' || host.startsWith('/');
}

/** How an app connects: the parts its environment gives (DATABASE_URL first, then PG*, then POSTGRES_*). */
export interface AppConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Which variables the user and password came from (for messages; never the values). */
  source: string;
}

export function appConnectionOf(env: Record<string, string>): AppConnection {
  const url = parseDatabaseUrl(env.DATABASE_URL);
  if (url?.user && url.password !== undefined) return { ...url, source: 'DATABASE_URL' };
  const user = env.PGUSER || env.POSTGRES_USER || url?.user;
  const password = env.PGPASSWORD ?? env.POSTGRES_PASSWORD ?? url?.password;
  const port = Number(env.PGPORT || env.POSTGRES_PORT || url?.port || NaN);
  return {
    host: env.PGHOST || env.POSTGRES_HOST || url?.host,
    port: Number.isInteger(port) && port > 0 ? port : undefined,
    user,
    password,
    database: env.PGDATABASE || env.POSTGRES_DB || url?.database,
    source: [env.PGUSER ? 'PGUSER' : env.POSTGRES_USER ? 'POSTGRES_USER' : url?.user ? 'DATABASE_URL' : '', env.PGPASSWORD !== undefined ? 'PGPASSWORD' : env.POSTGRES_PASSWORD !== undefined ? 'POSTGRES_PASSWORD' : url?.password !== undefined ? 'DATABASE_URL' : '']
      .filter(Boolean)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join('/'),
  };
}
