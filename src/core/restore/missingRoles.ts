import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import { clientError, dbConninfo, execClient, queryJson } from '../postgres/client';
import { attachServer, attachedServer, openServer, type PgServer } from '../postgres/server';
import { quoteIdent, quoteLiteral } from '../postgres/sql';
import { dangerousAttributes, describeAttributes, parseRolesFile, type DangerousAttribute, type NotApplied, type ParsedRole } from './rolesFile';

const MAX_ROLES_FILE_BYTES = 64 * 1024 * 1024;

/** A role as a plan shows it: never its password. */
export interface RoleView {
  name: string;
  attributes: string[];
  hasPassword: boolean;
  dangerous: DangerousAttribute[];
}

/** What `createMissingRoles` would do; JSON-safe (the parsed roles with passwords travel hidden). */
export interface MissingRolesPlan {
  rolesFile: string;
  container: string;
  /** Roles the file has and the server has already (left untouched, whatever their attributes). */
  present: string[];
  /** Roles the file has and the server lacks: these are created. */
  missing: RoleView[];
  /** Missing roles with SUPERUSER, REPLICATION, BYPASSRLS or CREATEROLE: need an explicit yes. */
  dangerous: RoleView[];
  /** Lines of the file that are understood but not applied (settings, comments, memberships). */
  notApplied: NotApplied[];
}

export interface PlanMissingRolesOptions extends OperationContext {
  rolesFile: string;
  /** The target container. */
  to: string;
  /** Only these roles (e.g. the roles a backup refers to); default every role in the file. */
  only?: readonly string[];
}

function view(r: ParsedRole): RoleView {
  return { name: r.name, attributes: describeAttributes(r.attributes), hasPassword: r.password !== undefined, dangerous: dangerousAttributes(r.attributes) };
}

/** `CREATE ROLE "name" WITH …` built from parsed data only (names and literals quoted here). */
export function createRoleSql(r: ParsedRole): string {
  const a = r.attributes;
  const parts = [`CREATE ROLE ${quoteIdent(r.name)} WITH`];
  for (const k of ['superuser', 'inherit', 'createrole', 'createdb', 'login', 'replication', 'bypassrls'] as const) {
    if (a[k] !== undefined) parts.push(`${a[k] ? '' : 'NO'}${k.toUpperCase()}`);
  }
  if (a.connectionLimit !== undefined) parts.push(`CONNECTION LIMIT ${Math.trunc(a.connectionLimit)}`);
  if (a.validUntil !== undefined) parts.push(`VALID UNTIL ${quoteLiteral(a.validUntil)}`);
  if (r.password !== undefined) parts.push(`PASSWORD ${quoteLiteral(r.password)}`);
  return parts.join(' ');
}

async function existingRoles(server: PgServer, signal?: AbortSignal): Promise<string[]> {
  return queryJson<string[]>(server.docker, server.target, server.maintenanceDb, `SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]') FROM pg_roles`, 'listing the roles', signal);
}

/** Reads and parses the roles file and compares it with the target server's roles. Changes nothing. */
export async function planMissingRoles(docker: DockerClient, options: PlanMissingRolesOptions): Promise<MissingRolesPlan> {
  const op = beginOperation(options);
  const file = path.resolve(options.rolesFile);
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new PgBackupError('usage', `There is no roles file ${file}.`);
  if (st.size > MAX_ROLES_FILE_BYTES) throw new PgBackupError('refused', `${file} is ${st.size} bytes, far more than a roles file; nothing was changed.`);
  const parsed = parseRolesFile(await fs.readFile(file), path.basename(file));
  const unknown = (options.only ?? []).filter((n) => !parsed.roles.some((r) => r.name === n));
  if (unknown.length) throw new PgBackupError('usage', `${path.basename(file)} has no role ${unknown.map((n) => `"${n}"`).join(', ')}; it has: ${parsed.roles.map((r) => r.name).join(', ') || 'none'}.`);
  const { server } = await openServer(docker, options.to, op, { nothingChanged: true });
  const existing = new Set(await existingRoles(server, op.signal));
  const wanted = parsed.roles.filter((r) => !options.only?.length || options.only.includes(r.name));
  const missing = wanted.filter((r) => !existing.has(r.name));
  const plan: MissingRolesPlan = {
    rolesFile: file,
    container: server.container.name,
    present: wanted.filter((r) => existing.has(r.name)).map((r) => r.name),
    missing: missing.map(view),
    dangerous: missing.map(view).filter((v) => v.dangerous.length > 0),
    notApplied: parsed.notApplied,
  };
  Object.defineProperty(plan, 'roles$', { value: missing, enumerable: false });
  return attachServer(plan, server);
}

/** The refusal for dangerous attributes, naming each role and attribute. */
export function dangerousRefusal(plan: MissingRolesPlan): PgBackupError {
  const list = plan.dangerous.map((d) => `${d.name} (${d.dangerous.map((x) => x.toUpperCase()).join(', ')})`).join('; ');
  return new PgBackupError('refused', `The roles file would create ${list} in ${plan.container}: these attributes give power over the whole server. Nothing was changed; to create them anyway pass --allow-superuser (or leave them out with --role).`);
}

/**
 * Creates the plan's missing roles, all in one transaction (none or all), through psql's stdin so a
 * password verifier never reaches argv or a log. Dangerous attributes need `allowDangerous`.
 */
export async function createMissingRoles(plan: MissingRolesPlan, options: OperationContext & { allowDangerous?: boolean } = {}): Promise<{ created: string[] }> {
  const op = beginOperation(options);
  const server = attachedServer(plan);
  const roles = (plan as unknown as { roles$?: ParsedRole[] }).roles$;
  if (!server || !roles) throw new PgBackupError('usage', 'createMissingRoles needs a plan made by planMissingRoles.');
  if (roles.length === 0) return { created: [] };
  if (plan.dangerous.length > 0 && !options.allowDangerous) throw dangerousRefusal(plan);
  await createRolesInOneTransaction(server, roles, op.signal);
  op.log.info(`created roles in ${server.container.name}: ${roles.map((r) => r.name).join(', ')}`);
  return { created: roles.map((x) => x.name) };
}

/**
 * `CREATE ROLE … WITH …` for each role, all or none (one transaction), through psql's stdin so that a
 * password verifier never reaches argv or a log; built from parsed data only.
 */
export async function createRolesInOneTransaction(server: PgServer, roles: readonly ParsedRole[], signal?: AbortSignal): Promise<void> {
  if (!roles.length) return;
  const script = ['BEGIN;', ...roles.map((r) => `${createRoleSql(r)};`), 'COMMIT;', ''].join('\n');
  // terse: an error names the role, never quotes the statement (which may hold a password verifier)
  const argv = ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=terse', '-U', server.target.user, '-d', dbConninfo(server.maintenanceDb)];
  const r = await execClient(server.docker, server.target, argv, { stdin: Readable.from([script]), signal, what: 'Creating the roles' });
  if (r.exitCode !== 0) throw clientError(server.target, 'psql', r, 'Creating the missing roles (none was created)');
}
