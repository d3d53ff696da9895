import { runningApps, withAppsStopped } from './postgres/appContainers';
import { backupDatabase, type BackupResult } from './backup/backupDatabase';
import { createDatabaseLikeSql, databasePropertiesSql, dropDatabaseSql, parseDatabaseProperties, runStatements, terminateAndWaitSql, allowConnectionsSql } from './postgres/admin';
import { requireRunning, type AppContainer, type DiscoveryOptions } from './postgres/discovery';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage, throwIfAborted } from './errors';
import { silentLogger, type Logger } from './logger';
import { serverOverview } from './postgres/client';
import { ProgressReporter, type ProgressListener } from './progress';

export interface ResetOptions {
  container: string;
  database?: string;
  /** Containers to stop and start again instead of the discovered app containers. */
  restart?: string[];
  /** Skip the safety backup (explicit opt-out). */
  noSafetyBackup?: boolean;
  /** Where the safety backup goes. */
  dir: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  logger?: Logger;
  discovery?: DiscoveryOptions;
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
  const c = await requireRunning(docker, options.container, { ...options.discovery, logger: options.logger });
  const database = options.database ?? c.defaultDatabase;
  const { maintenanceDb: maint, databases } = await serverOverview(docker, c.target, options.signal);
  const info = databases.find((d) => d.name === database);
  if (!info) throw new PgBackupError('usage', `There is no database "${database}" in ${c.name}; it has: ${databases.map((d) => d.name).join(', ')}.`);
  if (database === maint) throw new PgBackupError('refused', `"${database}" is the maintenance database of ${c.name}; resetting it is not supported.`);
  const restartContainers = await runningApps(docker, options.restart, c.appContainers);
  const steps = [
    options.noSafetyBackup ? 'No safety backup (--no-safety-backup).' : `Back up "${database}" to ${options.dir} first (a way back).`,
    restartContainers.length ? `Stop ${restartContainers.map((a) => a.name).join(', ')}.` : 'No app container to stop.',
    `End the sessions of "${database}", drop it, and create it empty again with owner "${info.owner}" and the same encoding, collation and settings.`,
    restartContainers.length ? `Start ${restartContainers.map((a) => a.name).join(', ')} again (their migrations run).` : '',
  ].filter(Boolean);
  return {
    container: { id: c.id, name: c.name, protected: c.protected },
    database,
    owner: info.owner,
    sizeBytes: info.sizeBytes,
    restartContainers,
    safetyBackup: !options.noSafetyBackup,
    steps,
  };
}

/** Safety backup, stop apps, terminate, drop and recreate like before, start apps. */
export async function resetDatabase(
  docker: DockerClient,
  plan: ResetPlan,
  options: ResetOptions,
): Promise<{ plan: ResetPlan; safetyBackup?: BackupResult; downtimeMs: number; warnings: string[] }> {
  const log = options.logger ?? silentLogger;
  const progress = new ProgressReporter(options.onProgress);
  let safetyBackup: BackupResult | undefined;
  if (plan.safetyBackup) {
    progress.step('backup', `Safety backup of "${plan.database}"`);
    try {
      safetyBackup = await backupDatabase(docker, {
        container: plan.container.id,
        database: plan.database,
        format: 'custom',
        dir: options.dir,
        signal: options.signal,
        onProgress: options.onProgress,
        logger: log,
        discovery: options.discovery,
      });
    } catch (e) {
      throw new PgBackupError(e instanceof PgBackupError && e.kind === 'cancelled' ? 'cancelled' : 'failed', `The safety backup failed, so "${plan.database}" was not reset: ${errorMessage(e)}`, { cause: e });
    }
  }
  throwIfAborted(options.signal, 'The reset');
  const c = await requireRunning(docker, plan.container.id, { ...options.discovery, withApps: false, logger: log });
  // Read now, after the safety backup, in the overview's one round trip (as a restore's plan does).
  const { maintenanceDb: maint, server, extra } = await serverOverview(docker, c.target, options.signal, { live: `(${databasePropertiesSql(plan.database)})` });
  const props = parseDatabaseProperties(plan.database, extra.live);
  const outcome = await withAppsStopped(
    docker,
    plan.restartContainers,
    async () => {
      progress.step('reset', `Dropping and recreating "${plan.database}"`);
      await runStatements(docker, c.target, maint, [allowConnectionsSql(plan.database, false), terminateAndWaitSql([plan.database])], `ending the sessions of ${plan.database}`).catch(async (e) => {
        await runStatements(docker, c.target, maint, [allowConnectionsSql(plan.database, true)], 'allowing connections again').catch(() => undefined);
        throw e;
      });
      await runStatements(docker, c.target, maint, [dropDatabaseSql(plan.database, server.major)], `dropping ${plan.database}`);
      await runStatements(docker, c.target, maint, createDatabaseLikeSql(props, plan.database), `creating ${plan.database}`);
    },
    { logger: log, onStep: (m) => progress.step('reset', m) },
  );
  progress.step('done', `"${plan.database}" is empty again${safetyBackup ? `; safety backup: ${safetyBackup.path}` : ''}`);
  return { plan, safetyBackup, downtimeMs: outcome.downtimeMs, warnings: outcome.startFailures.map((f) => `Could not start ${f}`) };
}
