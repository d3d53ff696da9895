import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DockerClient } from '../docker/client';
import { PgBackupError, throwIfAborted } from '../errors';
import type { PgTarget } from '../postgres/client';
import { SAFE_PATH } from './archive';
import { WAL_SEGMENT_NAME } from './wal';
import { WAL_BACKUP_NAME, type ArchiveEntry, type ArchiveEntryType } from './walRetention';

/**
 * The archive folder's files with their type, and deleting WAL files from it: in the database container
 * (as its postgres OS user, argv only, values as positional arguments of `sh -c`) or, for a bind mount, in
 * the host folder. Never through a symlink: not a symlinked file, not a folder reached through one.
 */

/** `sh -c`, $1 the folder: `real <physical path>`, then `f|l|o <name>` for every entry. */
const LIST_SCRIPT = [
  'cd -P -- "$1" || exit 3',
  'printf "real %s\\n" "$(pwd -P)"',
  'for f in *; do',
  '  if [ -L "$f" ]; then t=l; elif [ -f "$f" ]; then t=f; elif [ -e "$f" ]; then t=o; else continue; fi',
  '  printf "%s %s\\n" "$t" "$f"',
  'done',
].join('\n');

/**
 * `sh -c`, $1 the folder, then file names: deletes those that are still regular files (not symlinks) with
 * one `rm` (the names are checked to be plain WAL names, so the unquoted list cannot split or glob);
 * refuses the whole folder when its physical path is not $1 (a symlink on the way). One line a name.
 */
const DELETE_SCRIPT = [
  'd=$1; shift',
  'cd -P -- "$d" 2>/dev/null || { echo "nodir"; exit 3; }',
  '[ "$(pwd -P)" = "$d" ] || { echo "symlinked $(pwd -P)"; exit 4; }',
  'ok=',
  'for n in "$@"; do',
  '  case $n in *[!0-9A-Za-z.]*|.*) echo "skip name $n"; continue;; esac',
  '  if [ -L "$n" ]; then echo "skip symlink $n"; elif [ ! -f "$n" ]; then echo "skip gone $n"; else ok="$ok $n"; fi',
  'done',
  '[ -z "$ok" ] || rm -f -- $ok',
  'for n in $ok; do if [ -e "$n" ] || [ -L "$n" ]; then echo "skip failed $n"; else echo "deleted $n"; fi; done',
].join('\n');

const TYPES: Record<string, ArchiveEntryType> = { f: 'file', l: 'symlink', o: 'other' };

function checkedDir(dir: string): string {
  const d = path.posix.normalize(dir).replace(/\/+$/, '');
  if (!SAFE_PATH.test(d) || d === '' || d === '/') throw new PgBackupError('refused', `The archive folder ${JSON.stringify(dir)} is not one pg-docker-backup deletes from; nothing was deleted.`);
  return d;
}

/** Every entry of the archive folder in the container, with its type; refuses a folder reached through a symlink. */
export async function listArchiveEntries(docker: DockerClient, target: PgTarget, dir: string, signal?: AbortSignal): Promise<ArchiveEntry[]> {
  const d = checkedDir(dir);
  const r = await docker.exec(target.container, ['sh', '-c', LIST_SCRIPT, 'sh', d], { user: target.osUser, signal, what: 'Listing the WAL archive' });
  if (r.exitCode !== 0) throw new PgBackupError('failed', `Cannot list the WAL archive ${d} in ${target.containerName}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  const real = lines.shift()?.replace(/^real /, '');
  if (real !== d) throw new PgBackupError('refused', `The archive folder ${d} in ${target.containerName} is reached through a symlink (it is ${real}): pg-docker-backup never deletes through one. Nothing was deleted.`);
  return lines.map((l) => ({ type: TYPES[l[0]] ?? 'other', name: l.slice(2) }));
}

export interface WalDeleteResult {
  deleted: string[];
  skipped: { name: string; reason: string }[];
}

function assertWalNames(names: readonly string[]): void {
  const bad = names.find((n) => !WAL_SEGMENT_NAME.test(n) && !WAL_BACKUP_NAME.test(n));
  if (bad !== undefined) throw new Error(`not a WAL file name: ${JSON.stringify(bad)}`);
}

/** Deletes WAL files in the container's archive folder, in batches; stops between batches when cancelled. */
export async function deleteWalInContainer(docker: DockerClient, target: PgTarget, dir: string, names: readonly string[], signal?: AbortSignal): Promise<WalDeleteResult> {
  assertWalNames(names);
  const d = checkedDir(dir);
  const out: WalDeleteResult = { deleted: [], skipped: [] };
  for (let i = 0; i < names.length; i += 2000) {
    throwIfAborted(signal, 'Pruning the WAL archive');
    const r = await docker.exec(target.container, ['sh', '-c', DELETE_SCRIPT, 'sh', d, ...names.slice(i, i + 2000)], { user: target.osUser, what: 'Deleting WAL from the archive' });
    const lines = r.stdout.split('\n').filter(Boolean);
    if (r.exitCode !== 0) {
      const why = lines[0]?.startsWith('symlinked') ? `it is reached through a symlink (${lines[0].slice(10)})` : r.stderr.trim() || lines.join(' ') || `exit ${r.exitCode}`;
      throw new PgBackupError('refused', `Did not delete from the WAL archive ${d} in ${target.containerName}: ${why}. ${out.deleted.length} file(s) were deleted before.`);
    }
    for (const l of lines) {
      const [what, a, b] = l.split(' ');
      if (what === 'deleted') out.deleted.push(a);
      else if (what === 'skip') out.skipped.push({ name: b, reason: a === 'symlink' ? 'a symlink now' : a === 'gone' ? 'gone already' : a === 'name' ? 'not a WAL file name' : 'could not be deleted' });
    }
  }
  return out;
}

/** The same on this machine, for an archive on a bind mount: only regular files directly in `hostDir`. */
export async function deleteWalOnHost(hostDir: string, names: readonly string[], signal?: AbortSignal): Promise<WalDeleteResult> {
  assertWalNames(names);
  const d = path.resolve(hostDir);
  const real = await fs.realpath(d).catch(() => undefined);
  if (real !== d) throw new PgBackupError('refused', `The archive folder ${d} is ${real ? `reached through a symlink (it is ${real})` : 'gone'}: nothing was deleted.`);
  const out: WalDeleteResult = { deleted: [], skipped: [] };
  for (const n of names) {
    throwIfAborted(signal, 'Pruning the WAL archive');
    const f = path.join(d, n);
    const st = await fs.lstat(f).catch(() => undefined);
    if (!st) out.skipped.push({ name: n, reason: 'gone already' });
    else if (st.isSymbolicLink()) out.skipped.push({ name: n, reason: 'a symlink now' });
    else if (!st.isFile()) out.skipped.push({ name: n, reason: 'not a regular file' });
    else {
      const failed = await fs.unlink(f).then(() => undefined, (e: NodeJS.ErrnoException) => e.code ?? 'failed');
      if (failed) out.skipped.push({ name: n, reason: `could not be deleted (${failed})` });
      else out.deleted.push(n);
    }
  }
  return out;
}

/**
 * The host folder of an archive on a bind mount, when this machine sees it (the Docker engine is local)
 * and this user may delete in it: a real folder (no symlink on the way) holding the `probe` file the
 * container listed. Undefined otherwise (then the deletion goes through the container).
 */
export async function hostArchiveDir(source: string, relative: string, probe: string | undefined): Promise<string | undefined> {
  const d = path.resolve(source, relative);
  const real = await fs.realpath(d).catch(() => undefined);
  if (real !== d || !probe) return undefined;
  const st = await fs.lstat(path.join(d, probe)).catch(() => undefined);
  const writable = await fs.access(d, fs.constants.W_OK).then(() => true, () => false);
  return st?.isFile() && writable ? d : undefined;
}
