import { runningApps, withAppsStopped } from './postgres/appContainers';
import { allowConnectionsSql, runStatements, terminateAndWaitSql } from './postgres/admin';
import { findContainer, type AppContainer, type DiscoveryOptions } from './postgres/discovery';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage } from './errors';
import { silentLogger, type Logger } from './logger';
import { parseSideDatabaseName, sideDatabaseName } from './databases/sideDatabases';
import { serverInfoAndDatabases, serverOverview } from './postgres/client';
import { ProgressReporter, type ProgressListener } from './progress';
import { quoteIdent } from './postgres/sql';

export interface UndoOptions {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  stop?: string[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  logger?: Logger;
  discovery?: DiscoveryOptions;
  now?: () => Date;
}

export interface UndoPlan {
  /** `protected`: a production-like container (label or setting): confirmations ask to type the database name. */
  container: { id: string; name: string; protected: boolean };
  database: string;
  /** The database kept by the last restore, swapped back in. */
  previousDatabase: string;
  /** Where the current (restored) database goes, so the undo can itself be undone. */
  currentKeptAs: string;
  /** The database the plan connects to for cluster-level work (`postgres`, or `template1`). */
  maintenanceDatabase: string;
  stopContainers: AppContainer[];
  steps: string[];
}

/** Finds the newest database kept for undo of `database`, or refuses when there is none. */
export async function planUndo(docker: DockerClient, options: UndoOptions): Promise<UndoPlan> {
  const c = await findContainer(docker, options.container, { ...options.discovery, withDatabases: false, logger: options.logger });
  if (!c.running) throw new PgBackupError('refused', `Container ${c.name} is not running (it is ${c.state}): start it with \`docker start ${c.name}\` and try again.`);
  const database = options.database ?? c.defaultDatabase;
  const { maintenanceDb: maint, databases } = await serverOverview(docker, c.target, options.signal);
  const kept = databases
    .map((d) => ({ name: d.name, side: parseSideDatabaseName(database, d.name) }))
    .filter((d) => d.side?.kind === 'before_restore')
    .sort((a, b) => b.side!.at.getTime() - a.side!.at.getTime());
  if (kept.length === 0) {
    throw new PgBackupError('refused', `There is nothing to undo for "${database}" in ${c.name}: no database was kept by a restore (it is dropped by --drop-previous and by the next successful restore).`);
  }
  if (!databases.some((d) => d.name === database)) {
    throw new PgBackupError('refused', `"${database}" does not exist in ${c.name}, so there is nothing to swap back.`);
  }
  const previousDatabase = kept[0].name;
  const currentKeptAs = sideDatabaseName(database, 'before_restore', (options.now ?? (() => new Date()))());
  const stopContainers = await runningApps(docker, options.stop, c.appContainers);
  const steps = [
    stopContainers.length ? `Stop ${stopContainers.map((a) => a.name).join(', ')}.` : 'No app container to stop.',
    `End the sessions of "${database}", rename it to "${currentKeptAs}" and rename "${previousDatabase}" back to "${database}" (one transaction).`,
    stopContainers.length ? `Start ${stopContainers.map((a) => a.name).join(', ')} again.` : '',
    `"${currentKeptAs}" is kept, so this undo can be undone the same way.`,
  ].filter(Boolean);
  return { container: { id: c.id, name: c.name, protected: c.protected }, database, previousDatabase, currentKeptAs, maintenanceDatabase: maint, stopContainers, steps };
}

export async function undoRestore(docker: DockerClient, plan: UndoPlan, options: Pick<UndoOptions, 'signal' | 'onProgress' | 'logger' | 'discovery'> = {}): Promise<{ plan: UndoPlan; downtimeMs: number; warnings: string[] }> {
  const log = options.logger ?? silentLogger;
  const progress = new ProgressReporter(options.onProgress);
  const c = await findContainer(docker, plan.container.id, { ...options.discovery, withDatabases: false, withApps: false, logger: log });
  const maint = plan.maintenanceDatabase;
  const { database, previousDatabase, currentKeptAs } = plan;
  const outcome = await withAppsStopped(
    docker,
    plan.stopContainers,
    async () => {
      progress.step('swap', `Swapping "${previousDatabase}" back into place`);
      try {
        await runStatements(docker, c.target, maint, [
          allowConnectionsSql(database, false),
          allowConnectionsSql(previousDatabase, false),
          terminateAndWaitSql([database, previousDatabase]),
          `BEGIN; ALTER DATABASE ${quoteIdent(database)} RENAME TO ${quoteIdent(currentKeptAs)}; ALTER DATABASE ${quoteIdent(previousDatabase)} RENAME TO ${quoteIdent(database)}; COMMIT`,
          allowConnectionsSql(database, true),
          allowConnectionsSql(currentKeptAs, true),
        ], 'swapping the previous database back');
      } catch (e) {
        // Whatever state the renames are in (one transaction), leave every database connectable.
        const names = (await serverInfoAndDatabases(docker, c.target, maint).catch(() => ({ databases: [] }))).databases.map((d) => d.name);
        const reopen = [database, previousDatabase, currentKeptAs].filter((n) => names.includes(n)).map((n) => allowConnectionsSql(n, true));
        await runStatements(docker, c.target, maint, reopen, 'allowing connections again').catch((e2) => log.error(errorMessage(e2)));
        throw new PgBackupError('failed', `Undo failed; "${database}" was not changed: ${errorMessage(e)}`, { cause: e });
      }
    },
    { logger: log, onStep: (m) => progress.step('swap', m) },
  );
  progress.step('done', `"${database}" is back as it was before the restore; the restored one is kept as "${currentKeptAs}"`);
  return { plan, downtimeMs: outcome.downtimeMs, warnings: outcome.startFailures.map((f) => `Could not start ${f}`) };
}
