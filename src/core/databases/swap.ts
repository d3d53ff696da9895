import { PgBackupError, errorMessage } from '../errors';
import type { Logger } from '../logger';
import { allowConnectionsSql, terminateAndWaitSql } from '../postgres/admin';
import type { PgServer } from '../postgres/server';
import { quoteIdent } from '../postgres/sql';

export interface SwapRequest {
  /** The database name the apps use. */
  live: string;
  /** The database that takes its place (a restored scratch database, or one kept for undo). */
  incoming: string;
  /** Where the current `live` goes; undefined when there is no `live` yet (the incoming one is just renamed). */
  outgoingAs?: string;
}

export interface SwapOutcome {
  /** A step after the renames failed; the swap itself is done. */
  warning?: string;
}

/**
 * The one swap (restore, undo, and later copy and point-in-time recovery): no new connections to either
 * database, every session of both ended, then `live` → `outgoingAs` and `incoming` → `live` in ONE
 * transaction, and both connectable again.
 *
 * The one recovery rule, when a step fails: the renames are one transaction, so either both happened or
 * neither did. Which one is read from the database list: if `outgoingAs` exists and `incoming` does not,
 * the swap is done and the failure is returned as a warning; otherwise nothing was renamed, every database
 * involved is made connectable again, and the error is thrown (the caller decides what to drop).
 */
export async function swapDatabases(server: PgServer, req: SwapRequest, log: Logger): Promise<SwapOutcome> {
  const { live, incoming, outgoingAs } = req;
  if (!outgoingAs) {
    await server.admin([terminateAndWaitSql([incoming]), `ALTER DATABASE ${quoteIdent(incoming)} RENAME TO ${quoteIdent(live)}`], `renaming "${incoming}" into place`);
    return {};
  }
  try {
    await server.admin(
      [
        allowConnectionsSql(live, false),
        allowConnectionsSql(incoming, false),
        terminateAndWaitSql([live, incoming]),
        `BEGIN; ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(outgoingAs)}; ALTER DATABASE ${quoteIdent(incoming)} RENAME TO ${quoteIdent(live)}; COMMIT`,
        allowConnectionsSql(live, true),
        allowConnectionsSql(outgoingAs, true),
      ],
      `swapping "${incoming}" into place`,
    );
    return {};
  } catch (e) {
    const names = await server.databaseNames().catch(() => [] as string[]);
    const swapped = names.includes(outgoingAs) && !names.includes(incoming);
    const reopen = (swapped ? [live, outgoingAs] : [live, incoming]).filter((n) => names.includes(n)).map((n) => allowConnectionsSql(n, true));
    await server.admin(reopen, 'allowing connections again').catch((e2: unknown) => log.error(`could not allow connections again: ${errorMessage(e2)}`));
    if (swapped) return { warning: `The swap succeeded but a final step failed: ${errorMessage(e)}` };
    throw e instanceof PgBackupError ? e : new PgBackupError('failed', errorMessage(e), { cause: e });
  }
}
