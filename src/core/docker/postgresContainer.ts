import type { ContainerMount, DockerClient } from './client';
import { PgBackupError, errorMessage, isPgBackupError, throwIfAborted } from '../errors';

export interface PostgresContainerOptions {
  name: string;
  /** A Postgres image with the official image's entrypoint contract (POSTGRES_USER, ..., `postgres` command). */
  image: string;
  /** POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS, ... */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  network?: string;
  /** The container's name on `network` (e.g. `db`, the host name an app container connects to). */
  alias?: string;
  /** Server arguments after `postgres`, e.g. `['-c', 'archive_mode=on']`. */
  serverArgs?: readonly string[];
  /** The whole command instead of `postgres ...serverArgs`. */
  cmd?: readonly string[];
  /** Volumes and host folders, e.g. the data directory on a named volume or a WAL archive folder. */
  mounts?: readonly ContainerMount[];
  /** When a container of this name exists, start it (if stopped) and use it instead of creating one. */
  reuse?: boolean;
  /** How long the server may take to come up (90 s by default). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Steps a person may want to see: `Creating NAME`, `Waiting for Postgres to start`. */
  onStep?: (message: string) => void;
}

export interface PostgresContainer {
  id: string;
  name: string;
  /** False when an existing container was reused. */
  created: boolean;
}

/**
 * Creates (or, with `reuse`, finds) a Postgres container, starts it, and returns once the server that
 * runs after the entrypoint's initialisation accepts connections.
 */
export async function startPostgresContainer(docker: DockerClient, options: PostgresContainerOptions): Promise<PostgresContainer> {
  const { name } = options;
  const existing = options.reuse ? await docker.inspectContainer(name).catch((e: unknown) => (isPgBackupError(e, 'notFound') ? undefined : Promise.reject(e))) : undefined;
  let id = existing?.id;
  if (!id) {
    options.onStep?.(`Creating ${name}`);
    id = await docker.createContainer({
      name,
      image: options.image,
      env: options.env,
      labels: options.labels,
      cmd: options.cmd ?? (options.serverArgs?.length ? ['postgres', ...options.serverArgs] : undefined),
      network: options.network,
      aliases: options.network && options.alias ? [options.alias] : undefined,
      mounts: options.mounts,
    });
  }
  await docker.startContainer(id);
  options.onStep?.('Waiting for Postgres to start');
  await waitForPostgres(docker, name, { timeoutMs: options.timeoutMs, signal: options.signal });
  return { id, name, created: !existing };
}

/** The entrypoint says it is done initialising (or that there was nothing to initialise). */
export const INIT_DONE = /init process complete|ready for start up|Skipping initialization/;

/**
 * Waits until the container's final server accepts connections. `pg_isready` on the socket alone is not
 * enough: the entrypoint's temporary init server answers there too (it listens on no TCP address). So
 * the socket must answer and either the log says initialisation is over or the server answers on TCP
 * (a new container on a volume that already holds a cluster logs nothing about init in some images).
 */
export async function waitForPostgres(docker: DockerClient, name: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  let initDone = false;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    throwIfAborted(options.signal, `Starting ${name}`);
    const socket = await pgIsReady(docker, name, '/var/run/postgresql');
    if (socket === 'stopped') await throwStopped(docker, name);
    if (socket === 'ready') {
      initDone ||= INIT_DONE.test(await logText(docker, name).catch(() => ''));
      if (initDone || (await pgIsReady(docker, name, '127.0.0.1')) === 'ready') return;
    }
    if (Date.now() > deadline) {
      throw new PgBackupError('failed', `${name} did not start within ${Math.round(timeoutMs / 1000)} s; see its logs (docker logs ${name}).`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function pgIsReady(docker: DockerClient, name: string, host: string): Promise<'ready' | 'notYet' | 'stopped'> {
  try {
    return (await docker.exec(name, ['pg_isready', '-q', '-h', host])).exitCode === 0 ? 'ready' : 'notYet';
  } catch {
    // an exec fails when the container is not running (any more)
    const state = await docker.inspectContainer(name).then((c) => c.state, () => 'gone');
    if (state === 'running' || state === 'restarting' || state === 'created') return 'notYet';
    return 'stopped';
  }
}

async function throwStopped(docker: DockerClient, name: string): Promise<never> {
  const state = await docker.inspectContainer(name).then((c) => c.state, () => 'gone');
  const log = await logText(docker, name, 30).catch((e: unknown) => `(no log: ${errorMessage(e)})`);
  throw new PgBackupError('failed', `${name} stopped while starting (${state}); see its logs (docker logs ${name}).`, { detail: log });
}

async function logText(docker: DockerClient, name: string, tail: number | 'all' = 'all'): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await docker.logs(name, { tail })) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}
