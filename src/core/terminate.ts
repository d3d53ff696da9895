import { countSessions, terminateSessions } from './postgres/admin';
import { requireRunning, type DiscoveryOptions } from './postgres/discovery';
import type { DockerClient } from './docker/client';
import { PgBackupError } from './errors';
import type { Logger } from './logger';
import { serverOverview } from './postgres/client';

export interface TerminateOptions {
  container: string;
  database?: string;
  signal?: AbortSignal;
  logger?: Logger;
  discovery?: DiscoveryOptions;
}

/** The running container, the database (which must exist) and the maintenance database to work from. */
async function resolveTarget(docker: DockerClient, options: TerminateOptions) {
  const c = await requireRunning(docker, options.container, { ...options.discovery, withApps: false, logger: options.logger });
  const database = options.database ?? c.defaultDatabase;
  const { maintenanceDb, databases } = await serverOverview(docker, c.target, options.signal);
  if (!databases.some((d) => d.name === database)) throw new PgBackupError('usage', `There is no database "${database}" in ${c.name}.`);
  return { c, database, maint: maintenanceDb };
}

/** How many sessions a terminate would end, and which applications they belong to. */
export async function previewTerminate(docker: DockerClient, options: TerminateOptions): Promise<{ container: string; database: string; count: number; applications: string[] }> {
  const { c, database, maint } = await resolveTarget(docker, options);
  const s = await countSessions(docker, c.target, maint, database, options.signal);
  return { container: c.name, database, ...s };
}

/** pg_terminate_backend for every other session of one database; returns how many ended. */
export async function terminateConnections(docker: DockerClient, options: TerminateOptions): Promise<{ container: string; database: string; terminated: number }> {
  const { c, database, maint } = await resolveTarget(docker, options);
  const terminated = await terminateSessions(docker, c.target, maint, database, options.signal);
  options.logger?.info(`terminated ${terminated} session(s) of ${c.name}/${database}`);
  return { container: c.name, database, terminated };
}
