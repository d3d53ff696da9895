import type { ContainerDetails, ContainerSummary, DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { databaseHostsOf, isLocalHost } from './appEnv';
import { serverOverview, type DatabaseInfo, type PgTarget, type ServerInfo } from './client';

export const LABEL_ENABLE = 'pg-docker-backup.enable';
export const LABEL_STOP_DURING_RESTORE = 'pg-docker-backup.stop-during-restore';
export const LABEL_PROTECTED = 'pg-docker-backup.protected';
export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';
const COMPOSE_ONEOFF = 'com.docker.compose.oneoff';

const IMAGE_HINT = /postgres|postgis|timescale|pgvector/i;
/** POSTGRES_* variables that a client (an app pointing at a database elsewhere) has, a server does not. */
const CLIENT_ONLY_ENV = /^POSTGRES_(HOST|PORT|URL|URI|SERVER|HOSTNAME)$/;

export interface AppContainer {
  id: string;
  name: string;
  state: string;
}

export interface PgContainer {
  id: string;
  name: string;
  image: string;
  state: string;
  running: boolean;
  composeProject?: string;
  composeService?: string;
  labels: Record<string, string>;
  /** POSTGRES_USER, default postgres. */
  user: string;
  /** POSTGRES_DB, default the user. */
  defaultDatabase: string;
  /** Where the password came from; the password itself only lives in `target`. */
  passwordSource: 'POSTGRES_PASSWORD' | 'POSTGRES_PASSWORD_FILE' | 'override' | 'none';
  protected: boolean;
  appContainers: AppContainer[];
  server?: ServerInfo;
  databases?: DatabaseInfo[];
  /** Why server/databases are missing for a running container (e.g. wrong password). */
  problem?: string;
  target: PgTarget;
}

/** Decides from labels, image and environment whether a container runs a Postgres server. */
export function isPostgresContainer(c: { image: string; labels: Record<string, string> }, env?: Record<string, string>): boolean {
  const flag = c.labels[LABEL_ENABLE]?.toLowerCase();
  if (flag === 'false') return false;
  if (flag === 'true') return true;
  if (c.labels[COMPOSE_ONEOFF]?.toLowerCase() === 'true') return false;
  if (IMAGE_HINT.test(c.image)) return true;
  if (!env) return false;
  const names = Object.keys(env).filter((k) => k.startsWith('POSTGRES_'));
  if (names.length === 0 && !('PGDATA' in env)) return false;
  return !names.some((k) => CLIENT_ONLY_ENV.test(k));
}

type Classified = ContainerSummary & { isDatabase: boolean };

/**
 * Containers that look like servers (a Postgres image: migration and job containers often are) but whose
 * environment points at another database container of their compose project (POSTGRES_HOST, PGHOST or
 * DATABASE_URL naming its compose service, container name or a network alias) are apps of it. An explicit
 * `pg-docker-backup.enable=true` label keeps a container a database. Pure.
 */
export function classifyApps<T extends Classified>(all: readonly T[], envOf: (id: string) => Record<string, string> | undefined, aliasesOf: (id: string) => readonly string[] | undefined = () => []): T[] {
  const namesOf = (d: T) => new Set([d.name, d.labels[COMPOSE_SERVICE], ...(aliasesOf(d.id) ?? [])].filter((n): n is string => !!n).map((n) => n.toLowerCase()));
  const databases = all.filter((d) => d.isDatabase && d.labels[COMPOSE_PROJECT]).map((d) => ({ d, names: namesOf(d) }));
  return all.map((c) => {
    if (!c.isDatabase || c.labels[LABEL_ENABLE]?.toLowerCase() === 'true') return c;
    const project = c.labels[COMPOSE_PROJECT];
    const env = envOf(c.id);
    if (!project || !env) return c;
    const hosts = databaseHostsOf(env).filter((h) => !isLocalHost(h));
    const pointsAtDb = databases.some(({ d, names }) => d.id !== c.id && d.labels[COMPOSE_PROJECT] === project && hosts.some((h) => names.has(h)));
    return pointsAtDb ? { ...c, isDatabase: false } : c;
  });
}

/** User, default database and password (or password file) from a server container's environment. */
export function connectionFromEnv(env: Record<string, string>): {
  user: string;
  database: string;
  password?: string;
  passwordFile?: string;
} {
  const user = env.POSTGRES_USER || 'postgres';
  return {
    user,
    database: env.POSTGRES_DB || user,
    password: env.POSTGRES_PASSWORD || undefined,
    passwordFile: env.POSTGRES_PASSWORD ? undefined : env.POSTGRES_PASSWORD_FILE || undefined,
  };
}

/**
 * The containers to stop while a database container's database is swapped: the other services of its
 * compose project that are not databases, plus containers labelled stop-during-restore=true (in the
 * same compose project, or anywhere when the label's container has no project) or labelled with this
 * container's name or compose service.
 */
export function findAppContainers(
  db: { id: string; name: string; composeProject?: string; composeService?: string },
  all: readonly (ContainerSummary & { isDatabase: boolean })[],
): AppContainer[] {
  const apps = all.filter((c) => {
    if (c.id === db.id) return false;
    const label = c.labels[LABEL_STOP_DURING_RESTORE]?.toLowerCase();
    const project = c.labels[COMPOSE_PROJECT];
    if (label === 'false') return false;
    if (label && label !== 'true') {
      const wanted = c.labels[LABEL_STOP_DURING_RESTORE];
      return wanted === db.name || (wanted === db.composeService && project === db.composeProject);
    }
    if (label === 'true') return !project || project === db.composeProject;
    if (c.isDatabase) return false;
    if (c.labels[COMPOSE_ONEOFF]?.toLowerCase() === 'true') return false;
    return db.composeProject !== undefined && project === db.composeProject;
  });
  return apps.map((c) => ({ id: c.id, name: c.name, state: c.state })).sort((a, b) => a.name.localeCompare(b.name));
}

export function isProtected(c: { name: string; labels: Record<string, string> }, protectedPatterns: readonly string[] = []): boolean {
  if (c.labels[LABEL_PROTECTED]?.toLowerCase() === 'true') return true;
  return protectedPatterns.some((p) => globMatch(p, c.name));
}

/** `*` and `?` wildcards, case-sensitive, whole name. */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

export interface DiscoveryOptions {
  logger?: Logger;
  /** Ask each running server for its version and databases (one psql each). Default true. */
  withDatabases?: boolean;
  /** Work out the app containers (lists every container). Default true; a backup does not need them. */
  withApps?: boolean;
  protectedContainers?: readonly string[];
  /** Passwords given by the user (SecretStorage, PG_DOCKER_BACKUP_PASSWORD), by container name. */
  passwordFor?: (containerName: string) => string | undefined;
  /** App containers set by the user, by database container name; overrides discovery. */
  appContainersFor?: (containerName: string) => readonly string[] | undefined;
  signal?: AbortSignal;
}

async function readPasswordFile(docker: DockerClient, container: string, file: string): Promise<string | undefined> {
  const r = await docker.exec(container, ['cat', file], { what: 'reading POSTGRES_PASSWORD_FILE', maxStdoutBytes: 64 * 1024 });
  return r.exitCode === 0 ? r.stdout.replace(/\r?\n$/, '') : undefined;
}

async function describe(
  docker: DockerClient,
  details: ContainerDetails,
  all: readonly (ContainerSummary & { isDatabase: boolean })[],
  options: DiscoveryOptions,
): Promise<PgContainer> {
  const conn = connectionFromEnv(details.env);
  const running = details.state === 'running';
  let password = options.passwordFor?.(details.name);
  let passwordSource: PgContainer['passwordSource'] = password ? 'override' : 'none';
  if (!password && conn.password) {
    password = conn.password;
    passwordSource = 'POSTGRES_PASSWORD';
  } else if (!password && conn.passwordFile && running) {
    password = await readPasswordFile(docker, details.id, conn.passwordFile).catch(() => undefined);
    if (password) passwordSource = 'POSTGRES_PASSWORD_FILE';
  }
  const composeProject = details.labels[COMPOSE_PROJECT];
  const composeService = details.labels[COMPOSE_SERVICE];
  const configured = options.appContainersFor?.(details.name);
  const appContainers = configured
    ? configured.map((n) => all.find((c) => c.name === n || c.id === n)).filter((c): c is ContainerSummary & { isDatabase: boolean } => !!c).map((c) => ({ id: c.id, name: c.name, state: c.state }))
    : findAppContainers({ id: details.id, name: details.name, composeProject, composeService }, all);
  const pg: PgContainer = {
    id: details.id,
    name: details.name,
    image: details.image,
    state: details.state,
    running,
    composeProject,
    composeService,
    labels: details.labels,
    user: conn.user,
    defaultDatabase: conn.database,
    passwordSource,
    protected: isProtected(details, options.protectedContainers),
    appContainers,
    target: { container: details.id, containerName: details.name, user: conn.user, password, osUser: details.user && !/^(root|0)(:|$)/.test(details.user) ? undefined : 'postgres' },
  };
  if (running && options.withDatabases !== false) await readDatabases(docker, pg, options);
  return pg;
}

/** Asks a running server for its version and databases (one psql); a failure becomes `problem`. */
export async function readDatabases(docker: DockerClient, pg: PgContainer, options: Pick<DiscoveryOptions, 'logger' | 'signal'> = {}): Promise<void> {
  try {
    const info = await serverOverview(docker, pg.target, options.signal);
    pg.server = info.server;
    pg.databases = info.databases;
    pg.problem = undefined;
  } catch (e) {
    pg.problem = errorMessage(e);
    (options.logger ?? silentLogger).debug(`${pg.name}: ${pg.problem}`);
  }
}

/** Every Postgres container of the engine, with its databases when running. */
export async function discoverContainers(docker: DockerClient, options: DiscoveryOptions = {}): Promise<PgContainer[]> {
  const summaries = await docker.listContainers();
  // Image and labels decide most; the environment is read (inspect) only where they do not.
  const details = await Promise.all(summaries.map((s) => docker.inspectContainer(s.id).catch(() => undefined)));
  const byId = new Map(details.filter((d): d is ContainerDetails => !!d).map((d) => [d.id, d]));
  const all = classifyApps(
    summaries.map((s, i) => ({ ...s, isDatabase: isPostgresContainer(s, details[i]?.env) })),
    (id) => byId.get(id)?.env,
    (id) => byId.get(id)?.networkAliases,
  );
  const found = await Promise.all(
    all.map((s, i) => (s.isDatabase && details[i] ? describe(docker, details[i]!, all, options) : undefined)),
  );
  return found.filter((c): c is PgContainer => !!c).sort((a, b) => (a.composeProject ?? '~').localeCompare(b.composeProject ?? '~') || a.name.localeCompare(b.name));
}

/** What Docker allows as a container name (or an id): `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** Refuses a container name Docker could not have made (it may come from a backup's manifest or folder). */
export function checkContainerName(name: string, from = ''): void {
  if (!CONTAINER_NAME.test(name)) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
    throw new PgBackupError('refused', `${shown}${from} is not a Docker container name (letters, digits, _ . - only): name the container yourself (CLI: --to CONTAINER). Nothing was changed.`);
  }
}

/** One container by name or id, described like `discoverContainers` does. */
export async function findContainer(docker: DockerClient, nameOrId: string, options: DiscoveryOptions = {}): Promise<PgContainer> {
  checkContainerName(nameOrId);
  const details = await docker.inspectContainer(nameOrId);
  if (options.withApps === false) return describe(docker, details, [], options);
  const summaries = await docker.listContainers();
  // The environment decides where image and labels do not, and within the compose project (an app
  // container of a Postgres image is told apart by where its environment points).
  const project = details.labels[COMPOSE_PROJECT];
  const inspected = new Map<string, ContainerDetails>([[details.id, details]]);
  await Promise.all(
    summaries.map(async (s) => {
      if (s.id === details.id) return;
      if ((!IMAGE_HINT.test(s.image) && !s.labels[LABEL_ENABLE]) || (project && s.labels[COMPOSE_PROJECT] === project)) {
        const d = await docker.inspectContainer(s.id).catch(() => undefined);
        if (d) inspected.set(s.id, d);
      }
    }),
  );
  const all = classifyApps(
    summaries.map((s) => ({ ...s, isDatabase: isPostgresContainer(s, inspected.get(s.id)?.env) })),
    (id) => inspected.get(id)?.env,
    (id) => inspected.get(id)?.networkAliases,
  );
  return describe(docker, details, all, options);
}
