import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PgBackupError, errorMessage } from '../errors';
import { listRolesFilesIn, rolesDir } from '../roles/rolesStore';
import { MANIFEST_SUFFIX } from '../store/naming';
import { dangerousAttributes, describeAttributes, parseRolesFile, type DangerousAttribute, type NotApplied, type ParsedRole } from './rolesFile';

/**
 * `restore --create-roles`: the missing roles made from the roles file `backup --all` wrote for the backup's
 * container (its `.roles` folder beside the database's folder, newest first), or from `--roles-file F`, with
 * their attributes and password verifiers; only the roles the target lacks, never an ALTER of an existing
 * one. The file is untrusted: it is parsed into data (rolesFile.ts), nothing of it runs. Attributes with power
 * over the whole server are kept only on an explicit yes.
 */

/** A roles file up to this size is read; pg_dumpall writes a few KB. */
const MAX_ROLES_FILE_BYTES = 64 * 1024 * 1024;

/** What was found and read of the roles file (gathered before the decision; parse errors are kept, not thrown). */
export interface RolesFileFacts {
  /** The file used; undefined when there is none. */
  path?: string;
  /** Where it was looked for (named in the plan when none was found). */
  lookedIn: string[];
  roles?: ParsedRole[];
  notApplied?: NotApplied[];
  /** Why the file cannot be used (a line that is not pg_dumpall's, a damaged file). */
  error?: string;
}

/** How one missing role is created, as the plan shows it (never its password). */
export interface RoleDefinitionView {
  name: string;
  /** `file`: with the roles file's attributes; `nologin`: as a NOLOGIN role (not in the file, or no file). */
  from: 'file' | 'nologin';
  attributes: string[];
  hasPassword: boolean;
  /** Attributes of the file left out (SUPERUSER, REPLICATION, BYPASSRLS, CREATEROLE without --allow-privileged-roles). */
  withheld: DangerousAttribute[];
  /** Attributes of that kind kept (--allow-privileged-roles). */
  privileged: DangerousAttribute[];
}

export interface RoleDefinitions {
  views: RoleDefinitionView[];
  /** What is created, attributes already cut down: holds password verifiers, never shown or logged. */
  roles: ParsedRole[];
  steps: string[];
}

/** The newest roles file in the `.roles` folder beside the backup's database folder, else in DIR/<container>/.roles. */
export async function findRolesFile(backupPath: string, container: string | undefined, backupDir: string | undefined): Promise<{ path?: string; lookedIn: string[] }> {
  const folders = [path.join(path.dirname(path.dirname(path.resolve(backupPath))), '.roles')];
  if (backupDir && container) folders.push(path.resolve(rolesDir(backupDir, container)));
  const lookedIn = [...new Set(folders)];
  for (const folder of lookedIn) {
    const newest = (await listRolesFilesIn(folder))[0];
    if (newest) return { path: newest.path, lookedIn };
  }
  return { lookedIn };
}

/** Reads and parses a roles file; a refusal or damage is kept as `error` (it matters only when roles are created from it). */
export async function readRolesFileFacts(file: string, lookedIn: string[] = []): Promise<RolesFileFacts> {
  const name = path.basename(file);
  try {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return { path: file, lookedIn, error: `there is no roles file ${file}` };
    if (st.size > MAX_ROLES_FILE_BYTES) return { path: file, lookedIn, error: `${name} is ${st.size} bytes, far more than a roles file` };
    const bytes = await fs.readFile(file);
    const manifest = await fs.readFile(file + MANIFEST_SUFFIX, 'utf8').then((t) => JSON.parse(t) as { kind?: string; sha256?: string }, () => undefined);
    if (manifest?.kind === 'roles' && manifest.sha256 && createHash('sha256').update(bytes).digest('hex') !== manifest.sha256) {
      return { path: file, lookedIn, error: `${name} does not match its manifest's sha256 (changed or damaged since backup --all wrote it)` };
    }
    const parsed = parseRolesFile(bytes, name);
    return { path: file, lookedIn, roles: parsed.roles, notApplied: parsed.notApplied };
  } catch (e) {
    return { path: file, lookedIn, error: errorMessage(e).replace(/ Nothing was changed\.$/, '').replace(/\.$/, '') };
  }
}

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
const upper = (a: readonly string[]) => a.map((x) => x.toUpperCase()).join(', ');

/** The file's definition of one role, its privileged attributes left out unless allowed (pure). */
function fromFile(r: ParsedRole, allowPrivileged: boolean): { role: ParsedRole; view: RoleDefinitionView } {
  const dangerous = dangerousAttributes(r.attributes);
  const attributes = { ...r.attributes };
  if (!allowPrivileged) for (const d of dangerous) delete attributes[d];
  const role = { ...r, attributes };
  const view: RoleDefinitionView = {
    name: r.name,
    from: 'file',
    attributes: describeAttributes(attributes),
    hasPassword: r.password !== undefined,
    withheld: allowPrivileged ? [] : dangerous,
    privileged: allowPrivileged ? dangerous : [],
  };
  return { role, view };
}

/**
 * How each missing role is created (pure): from the roles file where it has the role, else NOLOGIN; refused
 * when a roles file was named or found but cannot be used, saying the way out.
 */
export function decideRoleDefinitions(create: readonly string[], file: RolesFileFacts, o: { container: string; allowPrivileged: boolean }): RoleDefinitions {
  const nologin = (name: string) => ({ role: { name, attributes: { login: false }, line: 0 }, view: { name, from: 'nologin' as const, attributes: ['NOLOGIN'], hasPassword: false, withheld: [], privileged: [] } });
  if (!file.path) {
    const all = create.map(nologin);
    const where = file.lookedIn.length ? ` in ${file.lookedIn.join(' or ')}` : '';
    const step = `No roles file of the backup's container${where} (backup --all writes one): create ${quoted(create)} in ${o.container} as NOLOGIN (kept: ${create.length > 1 ? 'they own' : 'it owns'} the restored objects).`;
    return { views: all.map((x) => x.view), roles: all.map((x) => x.role), steps: [step] };
  }
  if (file.error || !file.roles) {
    throw new PgBackupError('refused', `The roles file ${file.path} cannot be used to create ${quoted(create)}: ${file.error ?? 'it could not be read'}. Nothing was changed; pass --create-roles=nologin to create them as NOLOGIN roles instead, or another file with --roles-file F.`);
  }
  const byName = new Map(file.roles.map((r) => [r.name, r]));
  const made = create.map((n) => (byName.has(n) ? fromFile(byName.get(n)!, o.allowPrivileged) : nologin(n)));
  const views = made.map((m) => m.view);
  const one = (v: RoleDefinitionView) =>
    v.from === 'file' ? `"${v.name}" ${v.attributes.join(' ') || 'with the defaults'}${v.hasPassword ? ' and its password from the file' : ''}` : `"${v.name}" (not in the file) as NOLOGIN`;
  const steps = [`Create the missing role${create.length > 1 ? 's' : ''} in ${o.container} from the roles file ${path.basename(file.path)} (only ${create.length > 1 ? 'these' : 'this one'}; an existing role is never altered), kept: ${views.map(one).join('; ')}.`];
  for (const v of views.filter((x) => x.withheld.length)) {
    steps.push(`The roles file gives "${v.name}" ${upper(v.withheld)}: it is created WITHOUT ${v.withheld.length > 1 ? 'them' : 'it'} (--allow-privileged-roles keeps ${v.withheld.length > 1 ? 'them' : 'it'}).`);
  }
  for (const v of views.filter((x) => x.privileged.length)) steps.push(`"${v.name}" gets ${upper(v.privileged)} from the roles file (--allow-privileged-roles): power over the whole server.`);
  const loginNoPassword = views.filter((v) => v.from === 'file' && !v.hasPassword && v.attributes.includes('LOGIN'));
  if (loginNoPassword.length) {
    steps.push(`${quoted(loginNoPassword.map((v) => v.name))} can log in only once given a password: the roles file has none (backup --all --with-role-passwords keeps them); set one with ALTER ROLE … PASSWORD.`);
  }
  const skipped = (file.notApplied ?? []).filter((n) => create.some((c) => n.role === c || n.role.startsWith(`${c} → `) || n.role.endsWith(` → ${c}`)));
  if (skipped.length) steps.push(`Not applied from the roles file: ${[...new Set(skipped.map((n) => `${n.kind} of ${n.role}`))].join(', ')} (settings, comments and memberships are left to you).`);
  return { views, roles: made.map((m) => m.role), steps };
}
