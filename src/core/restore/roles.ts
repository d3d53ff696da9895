import { PgBackupError } from '../errors';
import { quoteIdent } from '../postgres/sql';
import type { ParsedRole } from './rolesFile';
import { decideRoleDefinitions, type RoleDefinitionView, type RolesFileFacts } from './rolesFromFile';

/**
 * Roles and ownership, the pure part: which roles a dump refers to that the target server lacks, and what
 * the user chose to do about them, decided before anything starts.
 */

/** What to do with roles the target lacks (they combine: mapped roles are mapped, the rest created or dropped). */
export interface RolesChoice {
  /** Create the missing roles (`nologin`: as NOLOGIN roles; `file`: from the roles file of `backup --all`, else NOLOGIN). */
  createRoles?: 'file' | 'nologin';
  /** With `createRoles: 'file'`: this roles file instead of the newest one beside the backup. */
  rolesFile?: string;
  /** With `createRoles: 'file'`: keep SUPERUSER, REPLICATION, BYPASSRLS and CREATEROLE from the roles file. */
  allowPrivilegedRoles?: boolean;
  /** Let the target's user own everything. */
  noOwner?: boolean;
  /** old role → role of the target that owns what the old one owned. */
  roleMap?: Record<string, string>;
}

export interface RolesPlan {
  /** The roles the dump refers to (owners, grantees), where known. */
  needed: string[];
  /** Where `needed` came from. */
  source: 'manifest' | 'archive' | 'sql' | 'unknown';
  /** Of `needed`, the ones the target lacks. */
  missing: string[];
  /** Created before the restore and kept (they own what the dump gives them): from the roles file, else NOLOGIN. */
  create: string[];
  /** How each role of `create` is made (attributes from the roles file, or NOLOGIN); never a password. */
  definitions?: RoleDefinitionView[];
  /** The roles file the definitions come from. */
  rolesFile?: string;
  /**
   * Created as NOLOGIN stand-ins before the restore, so that the dump's `OWNER TO`/`GRANT` work; after it,
   * what they own in the scratch database is reassigned, their grants dropped, and they are dropped.
   */
  standIns: string[];
  /** `REASSIGN OWNED BY from TO to` in the scratch database after the restore (then `DROP OWNED BY from`). */
  reassign: { from: string; to: string }[];
  /** Extra pg_restore arguments (custom archives with --no-owner). */
  pgRestoreArgs: string[];
  /** The plan in sentences. */
  steps: string[];
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const OWNER_TO = new RegExp(String.raw`^ALTER [^\n]* OWNER TO (${IDENT});`, 'gm');
const GRANT_TO = new RegExp(String.raw`^GRANT [^\n]* TO ((?:${IDENT}(?:, )?)+)(?: WITH GRANT OPTION| GRANTED BY [^;\n]*)?;`, 'gm');
const REVOKE_FROM = new RegExp(String.raw`^REVOKE [^\n]* FROM ((?:${IDENT}(?:, )?)+);`, 'gm');

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/** Roles every server has, or that are not roles at all. */
export function isBuiltInRole(name: string): boolean {
  return name === 'public' || name === 'PUBLIC' || name.startsWith('pg_') || name === 'CURRENT_USER' || name === 'SESSION_USER';
}

/** The roles pg_dump's SQL names: `ALTER … OWNER TO r;`, `GRANT … TO r;`, `REVOKE … FROM r;` lines (pure). */
export function rolesInSql(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(OWNER_TO)) out.add(unquote(m[1]));
  for (const re of [GRANT_TO, REVOKE_FROM]) {
    for (const m of text.matchAll(re)) for (const r of m[1].matchAll(new RegExp(IDENT, 'g'))) if (r[0] !== 'PUBLIC') out.add(unquote(r[0]));
  }
  return [...out].filter((r) => !isBuiltInRole(r)).sort();
}

/** Parses `old=new` pairs (`--role-map`). */
export function parseRoleMap(pairs: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) throw new PgBackupError('usage', `--role-map takes OLD=NEW (got ${JSON.stringify(p)})`);
    map[p.slice(0, i)] = p.slice(i + 1);
  }
  return map;
}

export interface RolesFacts {
  fileName: string;
  format: 'sql' | 'custom' | 'directory';
  container: string;
  /** The user the restore runs as (owns everything with --no-owner). */
  targetUser: string;
  needed?: string[];
  source: RolesPlan['source'];
  /** `pg_roles` of the target. */
  existing: string[];
  /** With `createRoles: 'file'`: the roles file found (or named) and what it holds. */
  rolesFile?: RolesFileFacts;
}

/** The refusal when roles are missing and no choice was made: front ends offer the choices. */
export class MissingRolesError extends PgBackupError {
  constructor(
    message: string,
    readonly missing: string[],
    readonly targetUser: string,
  ) {
    super('refused', message);
  }
}

const list = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** The pure decision: a plan for the roles, or a refusal naming the missing roles and the ways out. */
export function decideRoles(f: RolesFacts, choice: RolesChoice): RolesPlan {
  const existing = new Set(f.existing);
  const needed = f.needed ?? [];
  const missing = needed.filter((r) => !existing.has(r) && !isBuiltInRole(r));
  const map = choice.roleMap ?? {};
  if (choice.noOwner && Object.keys(map).length) throw new PgBackupError('usage', '--no-owner and --role-map do not go together: with --no-owner the target’s user owns everything.');
  if (choice.noOwner && choice.createRoles) throw new PgBackupError('usage', '--no-owner and --create-roles do not go together: choose one.');
  if (choice.rolesFile && choice.createRoles !== 'file') throw new PgBackupError('usage', '--roles-file goes with --create-roles (not --create-roles=nologin).');
  for (const [from, to] of Object.entries(map)) {
    if (!existing.has(to)) throw new PgBackupError('refused', `--role-map ${from}=${to}: ${f.container} has no role "${to}"; create it first or map to one it has. Nothing was changed.`);
    if (existing.has(from)) {
      throw new PgBackupError('refused', `--role-map ${from}=${to}: ${f.container} already has a role "${from}", which keeps what the dump gives it (only roles the target lacks are mapped). Nothing was changed.`);
    }
  }
  const unhandled = missing.filter((r) => !(r in map));
  if (unhandled.length && !choice.noOwner && !choice.createRoles) {
    throw new MissingRolesError(
      `${f.fileName} refers to role${unhandled.length > 1 ? 's' : ''} ${list(unhandled)} that ${f.container} lacks, so the restore would stop at the first \`OWNER TO\` or \`GRANT\`: ` +
        `pass --create-roles (create ${unhandled.length > 1 ? 'them' : 'it'} from the roles file of backup --all, else as NOLOGIN), --no-owner (${f.targetUser} owns everything) or --role-map ${unhandled[0]}=EXISTING_ROLE. Nothing was changed.`,
      unhandled,
      f.targetUser,
    );
  }
  const mapped = missing.filter((r) => r in map);
  const create = choice.createRoles ? unhandled : [];
  const standIns = [...mapped, ...(choice.noOwner && f.format === 'sql' ? unhandled : [])];
  const reassign = [...mapped.map((r) => ({ from: r, to: map[r] })), ...(choice.noOwner && f.format === 'sql' ? unhandled.map((r) => ({ from: r, to: f.targetUser })) : [])];
  const pgRestoreArgs = choice.noOwner && f.format !== 'sql' ? ['--no-owner', '--no-privileges'] : [];
  const steps: string[] = [];
  if (f.source === 'unknown' && (choice.noOwner || choice.createRoles || mapped.length)) steps.push('The roles the backup refers to could not be read; a missing one stops the restore before the swap, with nothing changed.');
  const defs = create.length && choice.createRoles === 'file' ? decideRoleDefinitions(create, f.rolesFile ?? { lookedIn: [] }, { container: f.container, allowPrivileged: !!choice.allowPrivilegedRoles }) : undefined;
  if (defs) steps.push(...defs.steps);
  else if (create.length) steps.push(`Create the missing role${create.length > 1 ? 's' : ''} ${list(create)} in ${f.container} as NOLOGIN (kept: ${create.length > 1 ? 'they own' : 'it owns'} the restored objects).`);
  if (choice.noOwner && f.format !== 'sql') steps.push(`Restore without owners and grants (pg_restore --no-owner --no-privileges): ${f.targetUser} owns everything.`);
  if (standIns.length) {
    steps.push(
      `Create ${list(standIns)} as NOLOGIN stand-in${standIns.length > 1 ? 's' : ''} for the restore; afterwards, in the restored database, ` +
        `${reassign.map((r) => `REASSIGN OWNED BY "${r.from}" TO "${r.to}"`).join(', ')}, drop their grants, and drop the stand-in${standIns.length > 1 ? 's' : ''}.`,
    );
  }
  const plan: RolesPlan = { needed, source: f.source, missing, create, standIns, reassign, pgRestoreArgs, steps, ...(defs ? { definitions: defs.views, rolesFile: f.rolesFile?.path } : {}) };
  // the roles as created (password verifiers inside): hidden from JSON and logs
  if (defs) Object.defineProperty(plan, 'roles$', { value: defs.roles, enumerable: false });
  return plan;
}

/** The roles to create before the restore, as the plan holds them (NOLOGIN where the plan has no definition). */
export function rolesToCreate(plan: RolesPlan): ParsedRole[] {
  const defined = (plan as unknown as { roles$?: ParsedRole[] }).roles$ ?? [];
  const nologin = (name: string): ParsedRole => ({ name, attributes: { login: false }, line: 0 });
  return [...plan.create.map((n) => defined.find((r) => r.name === n) ?? nologin(n)), ...plan.standIns.map(nologin)];
}

/** In the restored database: what the stand-in owned goes to its new owner; its grants go. */
export function reassignSql(r: { from: string; to: string }): string[] {
  return [`REASSIGN OWNED BY ${quoteIdent(r.from)} TO ${quoteIdent(r.to)}`, `DROP OWNED BY ${quoteIdent(r.from)}`];
}

export function dropRoleSql(name: string): string {
  return `DROP ROLE IF EXISTS ${quoteIdent(name)}`;
}
