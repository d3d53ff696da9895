import { backupDatabase, type BackupResult } from './backup/backupDatabase';
import { lockDatabase } from './databases/lock';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage, throwIfAborted } from './errors';
import { beginOperation, type Operation, type OperationContext } from './operation';
import { allowConnectionsSql, createDatabaseLikeSql, databasePropertiesSql, dropDatabaseSql, parseDatabaseProperties, terminateAndWaitSql } from './postgres/admin';
import { runningApps, withAppsStopped } from './postgres/appContainers';
import type { AppContainer, PgContainer } from './postgres/discovery';
import { attachServer, attachedServer, openServer, serverFor } from './postgres/server';

export interface ResetOptions extends OperationContext {
  container: string;
  database?: string;
  /** Containers to stop and start again instead of the discovered app containers. */
  restart?: string[];
  /** Skip the safety backup (explicit opt-out). */
  noSafetyBackup?: boolean;
  /** Where the safety backup goes. */
  dir: string;
}

export interface ResetPlan {
  /** `protected`: a production-like container (label or setting): confirmations ask to type the database name. */
  container: { id: string; name: string; protected: boolean };
  database: string;
  owner: string;
  sizeBytes: number;
  restartContainers: AppContainer[];
  safetyBackup: boolean;
  steps: string[];
}

export async function planReset(docker: DockerClient, options: ResetOptions): Promise<ResetPlan> {
  const op = beginOperation(options);
  const { server } = await openServer(docker, options.container, op, { withApps: true });
  const c = server.container;
  const database = options.database ?? c.defaultDatabase;
  const info = server.databases.find((d) => d.name === database);
  if (!info) throw new PgBackupError('usage', `There is no database "${database}" in ${c.name}; it has: ${server.databases.map((d) => d.name).join(', ')}.`);
  if (database === server.maintenanceDb) throw new PgBackupError('refused', `"${database}" is the maintenance database of ${c.name}; resetting it is not supported.`);
  const restartContainers = await runningApps(docker, options.restart, c.appContainers);
  const steps = [
    options.noSafetyBackup ? 'No safety backup (--no-safety-backup).' : `Back up "${database}" to ${options.dir} first (a way back).`,
    restartContainers.length ? `Stop ${restartContainers.map((a) => a.name).join(', ')}.` : 'No app container to stop.',
    `End the sessions of "${database}", drop it, and create it empty again with owner "${info.owner}" and the same encoding, collation and settings.`,
    restartContainers.length ? `Start ${restartContainers.map((a) => a.name).join(', ')} again (their migrations run).` : '',
  ].filter(Boolean);
  const plan: ResetPlan = {
    container: { id: c.id, name: c.name, protected: c.protected },
    database,
    owner: info.owner,
    sizeBytes: info.sizeBytes,
    restartContainers,
    safetyBackup: !options.noSafetyBackup,
    steps,
  };
  return attachServer(plan, server);
}

/** Safety backup, stop apps, terminate, drop and recreate like before, start apps. */
export async function resetDatabase(
  docker: DockerClient,
  plan: ResetPlan,
  options: ResetOptions,
): Promise<{ plan: ResetPlan; safetyBackup?: BackupResult; downtimeMs: number; warnings: string[] }> {
  const op = beginOperation(options);
  // The lock first: no restore, undo or other reset of this database may run meanwhile.
  const planned = attachedServer(plan) ?? (await openServer(docker, plan.container.id, op)).server;
  const lock = await lockDatabase(planned, plan.database, 'reset', op.log, op.now());
  try {
    return await lockedReset(docker, plan, options, op, planned.container);
  } finally {
    await lock.release();
  }
}

async function lockedReset(docker: DockerClient, plan: ResetPlan, options: ResetOptions, op: Operation, container: PgContainer): Promise<{ plan: ResetPlan; safetyBackup?: BackupResult; downtimeMs: number; warnings: string[] }> {
  let safetyBackup: BackupResult | undefined;
  if (plan.safetyBackup) {
    op.progress.step('backup', `Safety backup of "${plan.database}"`);
    try {
      safetyBackup = await backupDatabase(docker, {
        container: plan.container.id,
        database: plan.database,
        format: 'custom',
        dir: options.dir,
        signal: options.signal,
        onProgress: options.onProgress,
        logger: op.log,
        discovery: options.discovery,
      });
    } catch (e) {
      throw new PgBackupError(e instanceof PgBackupError && e.kind === 'cancelled' ? 'cancelled' : 'failed', `The safety backup failed, so "${plan.database}" was not reset: ${errorMessage(e)}`, { cause: e });
    }
  }
  throwIfAborted(op.signal, 'The reset');
  // The database's properties are read now, after the safety backup, in the overview's one round trip.
  const { server, extra } = await serverFor(docker, container, op, { live: `(${databasePropertiesSql(plan.database)})` });
  const props = parseDatabaseProperties(plan.database, extra.live);
  const outcome = await withAppsStopped(
    docker,
    plan.restartContainers,
    async () => {
      op.progress.step('reset', `Dropping and recreating "${plan.database}"`);
      await server.admin([allowConnectionsSql(plan.database, false), terminateAndWaitSql([plan.database])], `ending the sessions of ${plan.database}`).catch(async (e) => {
        await server.admin([allowConnectionsSql(plan.database, true)], 'allowing connections again').catch(() => undefined);
        throw e;
      });
      await server.admin([dropDatabaseSql(plan.database, server.info.major)], `dropping ${plan.database}`);
      await server.admin(createDatabaseLikeSql(props, plan.database), `creating ${plan.database}`);
    },
    { logger: op.log, onStep: (m) => op.progress.step('reset', m) },
  );
  op.progress.step('done', `"${plan.database}" is empty again${safetyBackup ? `; safety backup: ${safetyBackup.path}` : ''}`);
  return { plan, safetyBackup, downtimeMs: outcome.downtimeMs, warnings: outcome.startFailures.map((f) => `Could not start ${f}`) };
}
