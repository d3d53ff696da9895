import { errorMessage } from '../errors';
import type { Operation } from '../operation';
import { runStatements } from '../postgres/admin';
import type { PgServer } from '../postgres/server';
import type { LoaderExtras } from './loaders';
import type { RestorePlan } from './plan';
import { createRolesInOneTransaction } from './missingRoles';
import { dropRoleSql, reassignSql, rolesToCreate } from './roles';
import { restoreList } from './selective';

/** pg_restore's extras for a plan: --no-owner/--no-privileges, and the `-L` list of a selective restore. */
export function loaderExtras(plan: RestorePlan): LoaderExtras | undefined {
  if (plan.backup.format === 'sql') return undefined;
  return { args: plan.roles?.pgRestoreArgs ?? [], list: plan.selection ? restoreList(plan.selection.listIds) : undefined };
}

/**
 * Creates the plan's missing roles (from the roles file, else NOLOGIN) and stand-ins (NOLOGIN), all or none
 * in one transaction, passwords through psql's stdin; returns their names.
 */
export async function createPlannedRoles(server: PgServer, plan: RestorePlan, op: Operation): Promise<string[]> {
  if (!plan.roles) return [];
  const roles = rolesToCreate(plan.roles);
  if (!roles.length) return [];
  const names = roles.map((r) => r.name);
  op.progress.step('prepare', `Creating the role${names.length > 1 ? 's' : ''} ${names.join(', ')}`);
  await createRolesInOneTransaction(server, roles, op.signal);
  return names;
}

/** In the restored (scratch) database: what each stand-in owned goes to its new owner; its grants go. */
export async function reassignOwned(server: PgServer, plan: RestorePlan, op: Operation): Promise<void> {
  const moves = plan.roles?.reassign ?? [];
  if (!moves.length) return;
  op.progress.step('restore', `Giving what ${moves.map((m) => m.from).join(', ')} owned to ${[...new Set(moves.map((m) => m.to))].join(', ')}`);
  await runStatements(server.docker, server.target, plan.scratchDatabase, [moves.flatMap(reassignSql).join('; ')], 'reassigning the objects of the stand-in roles', op.signal);
}

/** Drops roles made for this restore; one that cannot be dropped is named in a warning. */
export async function dropRoles(server: PgServer, names: readonly string[], op: Operation, warnings: string[]): Promise<void> {
  for (const n of names) {
    await server.admin([dropRoleSql(n)], `dropping the role ${n}`).catch((e: unknown) => {
      const w = `Could not drop the role "${n}" made for this restore (${errorMessage(e)}); drop it with DROP ROLE once it owns nothing.`;
      warnings.push(w);
      op.log.warn(w);
    });
  }
}
