import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { encodePathSegment, parseTimestamp, timestamp } from '../store/naming';

/**
 * Where a container's roles files live: `DIR/<container>/.roles/roles_<YYYYMMDD_HHMMSS>.sql` (+ `.json`).
 * The folder starts with a dot because the backup listing (and so prune, the trees and status) skips dot
 * folders: a roles file is not a database backup, must not be pruned by a database's rules, and a
 * database may well be called `roles` or `_roles`, whose folder would then collide.
 */
export const ROLES_FOLDER = '.roles';
const ROLES_FILE = /^roles_(\d{8}_\d{6})(?:_(\d+))?\.sql$/;

export function rolesDir(dir: string, container: string): string {
  return path.join(dir, encodePathSegment(container), ROLES_FOLDER);
}

export function rolesFileName(at: Date, attempt = 1): string {
  return `roles_${timestamp(at)}${attempt > 1 ? `_${attempt}` : ''}.sql`;
}

/** What a roles file's manifest (`<file>.json`) holds; `kind: 'roles'` tells it from a database backup's. */
export interface RolesManifest {
  kind: 'roles';
  tool: string;
  file: string;
  container: string;
  containerId: string;
  image: string;
  serverVersion: string;
  /** Whether password verifiers were included (`--with-role-passwords`). */
  withPasswords: boolean;
  /** The role names in the file, when it parsed. */
  roles?: string[];
  bytes: number;
  sha256: string;
  created: string;
  durationMs: number;
}

/** The roles files of a container, newest first. */
export async function listRolesFiles(dir: string, container: string): Promise<{ path: string; created: Date }[]> {
  return listRolesFilesIn(rolesDir(dir, container));
}

/** The roles files in one `.roles` folder, newest first (none when there is no such folder). */
export async function listRolesFilesIn(folder: string): Promise<{ path: string; created: Date }[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const out: { path: string; created: Date; attempt: number }[] = [];
  for (const n of names) {
    const m = ROLES_FILE.exec(n);
    const at = m && parseTimestamp(m[1]);
    if (at) out.push({ path: path.join(folder, n), created: at, attempt: Number(m[2] ?? 1) });
  }
  out.sort((a, b) => b.created.getTime() - a.created.getTime() || b.attempt - a.attempt);
  return out.map(({ path: p, created }) => ({ path: p, created }));
}

export async function newestRolesFile(dir: string, container: string): Promise<string | undefined> {
  return (await listRolesFiles(dir, container))[0]?.path;
}
