import { parseSideDatabaseName, sideDatabaseName } from './databases/sideDatabases';
import { lockDatabase } from './databases/lock';
import { swapDatabases } from './databases/swap';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage } from './errors';
import { beginOperation, type OperationContext } from './operation';
import { runningApps, withAppsStopped } from './postgres/appContainers';
import type { AppContainer } from './postgres/discovery';
import { attachServer, attachedServer, openServer, type PgServer } from './postgres/server';

export interface UndoOptions extends OperationContext {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  stop?: string[];
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
  const op = beginOperation(options);
  const { server } = await openServer(docker, options.container, op, { withApps: true });
  const c = server.container;
  const database = options.database ?? c.defaultDatabase;
  const kept = server.databases
    .map((d) => ({ name: d.name, side: parseSideDatabaseName(database, d.name) }))
    .filter((d) => d.side?.kind === 'before_restore')
    .sort((a, b) => b.side!.at.getTime() - a.side!.at.getTime());
  if (kept.length === 0) {
    throw new PgBackupError('refused', `There is nothing to undo for "${database}" in ${c.name}: no database was kept by a restore (it is dropped by --drop-previous and by the next successful restore).`);
  }
  if (!server.databases.some((d) => d.name === database)) {
    throw new PgBackupError('refused', `"${database}" does not exist in ${c.name}, so there is nothing to swap back.`);
  }
  const previousDatabase = kept[0].name;
  const currentKeptAs = sideDatabaseName(database, 'before_restore', op.now());
  const stopContainers = await runningApps(docker, options.stop, c.appContainers);
  const steps = [
    stopContainers.length ? `Stop ${stopContainers.map((a) => a.name).join(', ')}.` : 'No app container to stop.',
    `End the sessions of "${database}", rename it to "${currentKeptAs}" and rename "${previousDatabase}" back to "${database}" (one transaction).`,
    stopContainers.length ? `Start ${stopContainers.map((a) => a.name).join(', ')} again.` : '',
    `"${currentKeptAs}" is kept, so this undo can be undone the same way.`,
  ].filter(Boolean);
  const plan: UndoPlan = { container: { id: c.id, name: c.name, protected: c.protected }, database, previousDatabase, currentKeptAs, maintenanceDatabase: server.maintenanceDb, stopContainers, steps };
  return attachServer(plan, server);
}

async function serverOfPlan(docker: DockerClient, plan: UndoPlan, op: ReturnType<typeof beginOperation>): Promise<PgServer> {
  return attachedServer(plan) ?? (await openServer(docker, plan.container.id, op)).server;
}

export async function undoRestore(docker: DockerClient, plan: UndoPlan, options: OperationContext = {}): Promise<{ plan: UndoPlan; downtimeMs: number; warnings: string[] }> {
  const op = beginOperation(options);
  const server = await serverOfPlan(docker, plan, op);
  const { database, previousDatabase, currentKeptAs } = plan;
  const warnings: string[] = [];
  const lock = await lockDatabase(server, database, 'undo', op.log, op.now());
  const outcome = await withAppsStopped(
    docker,
    plan.stopContainers,
    async () => {
      op.progress.step('swap', `Swapping "${previousDatabase}" back into place`);
      try {
        const swap = await swapDatabases(server, { live: database, incoming: previousDatabase, outgoingAs: currentKeptAs }, op.log);
        if (swap.warning) warnings.push(swap.warning);
      } catch (e) {
        throw new PgBackupError('failed', `Undo failed; "${database}" was not changed: ${errorMessage(e)}`, { cause: e });
      }
    },
    { logger: op.log, onStep: (m) => op.progress.step('swap', m) },
  ).finally(() => lock.release());
  op.progress.step('done', `"${database}" is back as it was before the restore; the restored one is kept as "${currentKeptAs}"`);
  return { plan, downtimeMs: outcome.downtimeMs, warnings: [...warnings, ...outcome.startFailures.map((f) => `Could not start ${f}`)] };
}
