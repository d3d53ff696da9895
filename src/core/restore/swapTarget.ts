import { parseSideDatabaseName, sideDatabaseName } from '../databases/sideDatabases';
import type { DatabaseProperties } from '../postgres/admin';
import type { DatabaseInfo, ServerInfo } from '../postgres/client';
import type { AppContainer } from '../postgres/discovery';

/**
 * What every plan that ends in the one swap shares (a restore from a file, a copy from another container, a
 * point-in-time recovery): the target, the scratch database the new content goes into, where the live
 * database goes, the apps stopped for the swap, and what is dropped afterwards. Pure.
 */
export interface SwapTarget {
  /** `protected`: a production-like container (label or setting): confirmations ask to type the database name. */
  container: { id: string; name: string; protected: boolean };
  server: ServerInfo;
  /** The database the plan connects to for cluster-level work (`postgres`, or `template1`). */
  maintenanceDatabase: string;
  database: string;
  liveExists: boolean;
  /** How the live database was made (owner, encoding, collation, settings…), copied to the scratch one. */
  liveProperties?: DatabaseProperties;
  scratchDatabase: string;
  /** Where the live database goes; undefined when there is no live database. */
  previousDatabase?: string;
  /** App containers that are running and will be stopped for the swap. */
  stopContainers: AppContainer[];
  /** Databases kept for undo by an earlier restore, dropped after this one succeeds. */
  dropAfter: string[];
  dropPrevious: boolean;
  /** Scratch databases of interrupted restores, left alone (a restore may be running). */
  leftoverScratch: string[];
}

export interface SwapTargetFacts {
  container: { id: string; name: string; protected: boolean };
  server: ServerInfo;
  maintenanceDb: string;
  databases: readonly DatabaseInfo[];
  /** The live database's properties; undefined when it does not exist. */
  liveProperties?: DatabaseProperties;
  runningApps: AppContainer[];
}

/** The swap fields of a plan for `database` (pure). */
export function decideSwapTarget(facts: SwapTargetFacts, database: string, dropPrevious: boolean, now: Date): SwapTarget {
  const liveExists = facts.databases.some((d) => d.name === database);
  const sides = facts.databases.map((d) => ({ name: d.name, side: parseSideDatabaseName(database, d.name) })).filter((d) => d.side);
  return {
    container: facts.container,
    server: facts.server,
    maintenanceDatabase: facts.maintenanceDb,
    database,
    liveExists,
    liveProperties: liveExists ? facts.liveProperties : undefined,
    scratchDatabase: sideDatabaseName(database, 'restoring', now),
    previousDatabase: liveExists ? sideDatabaseName(database, 'before_restore', now) : undefined,
    stopContainers: facts.runningApps,
    dropAfter: sides.filter((d) => d.side!.kind === 'before_restore').map((d) => d.name),
    dropPrevious,
    leftoverScratch: sides.filter((d) => d.side!.kind === 'restoring').map((d) => d.name),
  };
}

/** The swap in sentences: stop the apps, rename, start them, keep or drop the previous database. */
export function swapSteps(p: SwapTarget, dropPreviousWhy = 'no undo'): string[] {
  const apps = p.stopContainers.map((a) => a.name).join(', ');
  return [
    p.stopContainers.length ? `Stop ${apps}.` : 'No app container to stop.',
    p.liveExists
      ? `End the remaining sessions of "${p.database}", rename it to "${p.previousDatabase}", and rename "${p.scratchDatabase}" to "${p.database}" (one transaction).`
      : `Rename "${p.scratchDatabase}" to "${p.database}" (there is no "${p.database}" yet).`,
    p.stopContainers.length ? `Start ${apps} again (whatever happens).` : '',
    p.liveExists ? (p.dropPrevious ? `Drop "${p.previousDatabase}" (${dropPreviousWhy}).` : `Keep "${p.previousDatabase}" for undo until the next successful restore of "${p.database}".`) : '',
  ].filter(Boolean);
}

/** The last step: databases kept by earlier restores, dropped once this one is done ('' when none). */
export function dropAfterStep(p: Pick<SwapTarget, 'dropAfter'>): string {
  return p.dropAfter.length ? `Drop ${p.dropAfter.map((d) => `"${d}"`).join(', ')}, kept for undo by an earlier restore.` : '';
}

/** `"db" in c is untouched` / `nothing was created in c`, for messages before the swap. */
export function untouchedPhrase(p: Pick<SwapTarget, 'liveExists' | 'database' | 'container'>): string {
  return p.liveExists ? `"${p.database}" in ${p.container.name} is untouched` : `nothing was created in ${p.container.name}`;
}
