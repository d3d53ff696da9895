import { removeLeftovers } from '../databases/leftovers';
import { swapDatabases } from '../databases/swap';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import type { Operation } from '../operation';
import { dropDatabaseSql } from '../postgres/admin';
import { withAppsStopped } from '../postgres/appContainers';
import type { PgServer } from '../postgres/server';
import { untouchedPhrase, type SwapTarget } from './swapTarget';

/**
 * The part every restore-like operation shares once the new content is in the scratch database (and the
 * tidy-up before it): what an interrupted run left, the one swap with the apps stopped only for it, and
 * the databases dropped afterwards. The caller holds the database lock.
 */

/** Drops a database; false (logged) when that failed. */
export async function dropQuietly(server: PgServer, name: string, major: number, op: Operation): Promise<boolean> {
  return server.admin([dropDatabaseSql(name, major)], `dropping ${name}`).then(
    () => true,
    (e: unknown) => {
      op.log.error(`could not drop ${name}: ${errorMessage(e)}`);
      return false;
    },
  );
}

/** What an interrupted restore of this database left: dropped when unused, else named in a warning. */
export async function clearLeftovers(server: PgServer, plan: Pick<SwapTarget, 'database' | 'container'>, op: Operation, warnings: string[]): Promise<void> {
  const r = await removeLeftovers(server, op.log, plan.database).catch((e: unknown) => {
    op.log.warn(`could not look for what an interrupted restore left: ${errorMessage(e)}`);
    return undefined;
  });
  if (r && r.inUse.length + r.archivesLeft.length > 0) {
    warnings.push(`Left alone: ${[...r.inUse, ...r.archivesLeft].join(', ')} (from an interrupted restore, still in use: its pg_restore may still run; \`pg-docker-backup cleanup ${plan.container.name}\` removes it once it ends).`);
  }
}

/** How an operation names itself in messages: `The restore` / `Restore of x.dump`, `The copy` / `Copying "db" from c`. */
export interface OperationNames {
  /** `The restore`: `… was cancelled before the swap`. */
  subject: string;
  /** `Restore of x.dump`: `… failed; nothing was changed`. */
  failing: string;
}

/**
 * The error for a failure before the swap, once the scratch database was dropped (or not: `left` names what
 * stayed behind): cancelled, refused (its own sentence) or failed, each saying that nothing was changed.
 */
export function beforeSwapError(e: unknown, plan: SwapTarget, signal: AbortSignal | undefined, names: OperationNames, left: string[]): PgBackupError {
  const them = left.length > 1 ? 'them' : 'it';
  const tidy = left.length
    ? `; left behind: ${left.join(' and ')} (Docker did not answer); the next restore of "${plan.database}" or \`pg-docker-backup cleanup ${plan.container.name}\` removes ${them}`
    : ' and the scratch database was dropped';
  if (isPgBackupError(e, 'cancelled') || signal?.aborted) return new PgBackupError('cancelled', `${names.subject} was cancelled before the swap: ${untouchedPhrase(plan)}${tidy}.`);
  if (isPgBackupError(e, 'refused')) {
    // E.g. the meta-command gate: its sentence names the line and the command; nothing ran.
    return new PgBackupError('refused', `${e.message}${left.length ? ` (Left behind: ${left.join(' and ')}; \`pg-docker-backup cleanup ${plan.container.name}\` removes ${them}.)` : ''}`, { cause: e });
  }
  const why = errorMessage(e).replace(/\.$/, '');
  return new PgBackupError('failed', `${names.failing} failed; nothing was changed: ${untouchedPhrase(plan)}${tidy}. ${why}.`, { cause: e, detail: isPgBackupError(e) ? e.detail : undefined });
}

export interface SwapOutcome {
  /** App containers stopped → started again. */
  downtimeMs: number;
  dropped: string[];
  /** The database kept for undo, if any. */
  keptPrevious?: string;
}

/**
 * Step 3 and 4: the swap with the app containers stopped (and started again whatever happens), then the
 * databases kept by earlier restores (and, with dropPrevious, this one's previous database) are dropped
 * while the apps start. A failed swap drops the scratch database and changes nothing.
 */
export async function swapIntoPlace(server: PgServer, plan: SwapTarget, op: Operation, warnings: string[], names: OperationNames): Promise<SwapOutcome> {
  const toDrop = [...plan.dropAfter, ...(plan.dropPrevious && plan.previousDatabase ? [plan.previousDatabase] : [])];
  const dropped: string[] = [];
  const tidyUp = async () => {
    for (const name of toDrop) {
      try {
        await server.admin([dropDatabaseSql(name, plan.server.major)], `dropping ${name}`);
        dropped.push(name);
      } catch (e) {
        warnings.push(`Could not drop ${name}: ${errorMessage(e)}`);
      }
    }
  };
  let tidying: Promise<void> = Promise.resolve();
  const outcome = await withAppsStopped(
    server.docker,
    plan.stopContainers,
    async () => {
      op.progress.step('swap', `Swapping "${plan.scratchDatabase}" into place`);
      try {
        const swap = await swapDatabases(server, { live: plan.database, incoming: plan.scratchDatabase, outgoingAs: plan.previousDatabase }, op.log);
        if (swap.warning) warnings.push(swap.warning);
      } catch (e) {
        await dropQuietly(server, plan.scratchDatabase, plan.server.major, op);
        throw new PgBackupError('failed', `${names.failing} failed at the swap; nothing was changed: ${untouchedPhrase(plan)} and the scratch database was dropped. ${errorMessage(e)}`, { cause: e });
      }
      tidying = tidyUp();
    },
    { logger: op.log, onStep: (m) => op.progress.step('swap', m) },
  );
  await tidying;
  warnings.push(...outcome.startFailures.map((f) => `Could not start ${f}`));
  const keptPrevious = plan.previousDatabase && !plan.dropPrevious ? plan.previousDatabase : undefined;
  return { downtimeMs: outcome.downtimeMs, dropped, keptPrevious };
}
