import type { DockerClient } from './docker/client';
import { PgBackupError } from './errors';
import { beginOperation, type OperationContext } from './operation';
import { countSessions, terminateSessions } from './postgres/admin';
import { openServer, type PgServer } from './postgres/server';

export interface TerminateOptions extends OperationContext {
  container: string;
  database?: string;
}

/** The running container's server and the database, which must exist. */
async function resolveTarget(docker: DockerClient, options: TerminateOptions): Promise<{ server: PgServer; database: string }> {
  const { server } = await openServer(docker, options.container, beginOperation(options));
  const database = options.database ?? server.container.defaultDatabase;
  if (!server.databases.some((d) => d.name === database)) throw new PgBackupError('usage', `There is no database "${database}" in ${server.container.name}.`);
  return { server, database };
}

/** How many sessions a terminate would end, and which applications they belong to. */
export async function previewTerminate(docker: DockerClient, options: TerminateOptions): Promise<{ container: string; database: string; count: number; applications: string[] }> {
  const { server, database } = await resolveTarget(docker, options);
  const s = await countSessions(docker, server.target, server.maintenanceDb, database, options.signal);
  return { container: server.container.name, database, ...s };
}

/** pg_terminate_backend for every other session of one database; returns how many ended. */
export async function terminateConnections(docker: DockerClient, options: TerminateOptions): Promise<{ container: string; database: string; terminated: number }> {
  const { server, database } = await resolveTarget(docker, options);
  const terminated = await terminateSessions(docker, server.target, server.maintenanceDb, database, options.signal);
  options.logger?.info(`terminated ${terminated} session(s) of ${server.container.name}/${database}`);
  return { container: server.container.name, database, terminated };
}
