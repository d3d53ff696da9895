import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import type { Operation } from '../operation';
import { runStatements } from './admin';
import { serverInfoAndDatabases, serverOverview, type DatabaseInfo, type ExtraQueries, type PgTarget, type ServerInfo } from './client';
import { findContainer, type PgContainer } from './discovery';

/**
 * One Postgres server in a running container, opened once per operation and passed along: the container
 * (with its app containers when asked for), how to reach it, its version and databases, and the
 * maintenance database (`postgres`, or `template1`) that cluster-level statements run in.
 */
export interface PgServer {
  docker: DockerClient;
  container: PgContainer;
  target: PgTarget;
  maintenanceDb: string;
  info: ServerInfo;
  databases: DatabaseInfo[];
  /** Statements in the maintenance database, one transaction each, stopping at the first error. */
  admin(statements: readonly string[], doing: string, signal?: AbortSignal): Promise<void>;
  /** The database names as they are now (one query). */
  databaseNames(): Promise<string[]>;
}

/** The one message for a stopped container. */
export function notRunningError(c: Pick<PgContainer, 'name' | 'state'>, suffix = ''): PgBackupError {
  return new PgBackupError('refused', `Container ${c.name} is not running (it is ${c.state}): start it with \`docker start ${c.name}\` and try again.${suffix}`);
}

/** The container, required to be running (no server query yet). */
export async function runningContainer(docker: DockerClient, nameOrId: string, op: Operation, options: { withApps?: boolean; nothingChanged?: boolean } = {}): Promise<PgContainer> {
  const c = await findContainer(docker, nameOrId, { ...op.discovery, withDatabases: false, withApps: options.withApps ?? false });
  if (!c.running) throw notRunningError(c, options.nothingChanged ? ' Nothing was changed.' : '');
  return c;
}

/** Opens a running container's server: one container lookup and one overview query (plus `extra` in it). */
export async function openServer(
  docker: DockerClient,
  nameOrId: string,
  op: Operation,
  options: { withApps?: boolean; extra?: ExtraQueries; nothingChanged?: boolean } = {},
): Promise<{ server: PgServer; extra: Record<string, unknown> }> {
  const container = await runningContainer(docker, nameOrId, op, options);
  return serverFor(docker, container, op, options.extra);
}

/** The server of a container already looked up. */
export async function serverFor(docker: DockerClient, container: PgContainer, op: Operation, extra?: ExtraQueries): Promise<{ server: PgServer; extra: Record<string, unknown> }> {
  const overview = await serverOverview(docker, container.target, op.signal, extra);
  const target = container.target;
  const maint = overview.maintenanceDb;
  const server: PgServer = {
    docker,
    container,
    target,
    maintenanceDb: maint,
    info: overview.server,
    databases: overview.databases,
    admin: (statements, doing, signal) => runStatements(docker, target, maint, statements, doing, signal),
    databaseNames: async () => (await serverInfoAndDatabases(docker, target, maint)).databases.map((d) => d.name),
  };
  return { server, extra: overview.extra };
}

/** A handle kept with a plan for its execution, without showing in the plan's JSON. */
export function attachServer<T extends object>(plan: T, server: PgServer): T {
  Object.defineProperty(plan, 'server$', { value: server, enumerable: false, configurable: true });
  return plan;
}

export function attachedServer(plan: object): PgServer | undefined {
  return (plan as { server$?: PgServer }).server$;
}
