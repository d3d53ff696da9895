import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { execClient, firstErrorLines, type PgTarget } from './client';

/**
 * Temporary folders inside a database container, for the directory format: pg_dump -Fd writes one there
 * before it is streamed out as a tar, and a restore unpacks the tar there for pg_restore -j. Each is made
 * only when the space is there (with room to spare), and removed whatever happens.
 */

/** Where temporary folders go in the container by default. */
export const CONTAINER_TEMP_DIR = '/tmp';
/** Name prefix of every temporary folder this tool makes in a container (`cleanup` finds them by it). */
export const TEMP_FOLDER_PREFIX = 'pg-docker-backup-';

/** Exit code of MAKE_TEMP_SCRIPT when the space is short (its stderr says how much there is). */
export const NO_ROOM_EXIT = 3;

/**
 * `sh -c`: $1 the folder to make, $2 the KiB that must be free in its parent first, $3 `untar` to unpack a
 * tar from stdin into it (else it is only made). Values only as positional arguments.
 */
const MAKE_TEMP_SCRIPT = [
  'parent=${1%/*}',
  'avail=$(df -Pk "$parent" 2>/dev/null | awk \'NR==2 {print $4}\')',
  'case "$avail" in',
  "  ''|*[!0-9]*) ;;",
  `  *) if [ "$avail" -lt "$2" ]; then echo "only $avail KiB free in $parent, $2 KiB wanted" >&2; exit ${NO_ROOM_EXIT}; fi ;;`,
  'esac',
  'umask 077',
  'mkdir -- "$1" || exit 4',
  '[ "$3" = untar ] || exit 0',
  'exec tar -xf - -C "$1"',
].join('\n');

/**
 * `sh -c`: ends every process whose command line names the folder $1 (a pg_dump -j or pg_restore -j a
 * cancelled operation left running, and its workers), waiting up to about 5 s, then removes the folder.
 */
const REMOVE_TEMP_SCRIPT = [
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do',
  '  found=',
  '  for c in /proc/[0-9]*/cmdline; do',
  '    p=${c#/proc/}; p=${p%/cmdline}',
  '    [ "$p" = "$$" ] && continue',
  '    if tr "\\000" "\\n" < "$c" 2>/dev/null | grep -qxF -- "$1"; then found=1; kill "$p" 2>/dev/null; fi',
  '  done',
  '  [ -n "$found" ] || break',
  '  sleep 0.25',
  'done',
  'rm -rf -- "$1"',
  '[ ! -e "$1" ]',
].join('\n');

/** A fresh folder name under `parent` (`/tmp/pg-docker-backup-dump-1a2b….dir`). */
export function tempFolderPath(parent: string, kind: string): string {
  return `${parent.replace(/\/+$/, '') || ''}/${TEMP_FOLDER_PREFIX}${kind}-${randomBytes(8).toString('hex')}.dir`;
}

/** The room a folder for `bytes` of data wants: the data, plus a quarter of it and at least 64 MiB to spare. */
export function roomWantedKiB(bytes: number): number {
  const spare = Math.max(64 * 1024 * 1024, bytes / 4);
  return Math.ceil((Math.max(0, bytes) + spare) / 1024);
}

export interface TempFolderResult {
  /** Made (and filled, for `untar`). */
  ok: boolean;
  /** Not enough room: what the container said (`only N KiB free in /tmp, M KiB wanted`). */
  noRoom?: string;
  /** Another failure (tar's or mkdir's stderr). */
  failure?: string;
}

/** Makes `folder` in the container when there is room for `bytes`; with `tar`, unpacks that stream into it. */
export async function makeTempFolder(docker: DockerClient, target: PgTarget, folder: string, bytes: number, o: { tar?: Readable; signal?: AbortSignal; what: string }): Promise<TempFolderResult> {
  const argv = ['sh', '-c', MAKE_TEMP_SCRIPT, 'sh', folder, String(roomWantedKiB(bytes)), o.tar ? 'untar' : 'mkdir'];
  const r = await execClient(docker, target, argv, { stdin: o.tar, signal: o.signal, what: o.what });
  if (r.exitCode === 0) return { ok: true };
  if (r.exitCode === NO_ROOM_EXIT) return { ok: false, noRoom: firstErrorLines(r.stderr, 1) };
  return { ok: false, failure: firstErrorLines(r.stderr, 2) || `exit code ${r.exitCode}` };
}

/**
 * Removes a temporary folder (ending what still uses it); undefined when it is gone, else why not. Never
 * takes a signal: it runs after a cancel too.
 */
export async function removeTempFolder(docker: DockerClient, target: PgTarget, folder: string): Promise<string | undefined> {
  try {
    const r = await execClient(docker, target, ['sh', '-c', REMOVE_TEMP_SCRIPT, 'sh', folder], { what: 'Removing the temporary folder' });
    return r.exitCode === 0 ? undefined : r.stderr.trim() || `exit code ${r.exitCode}`;
  } catch (e) {
    return errorMessage(e);
  }
}

/** The sentence for a container without room for a temporary folder. */
export function noRoomError(container: string, what: string, detail: string, alternative: string): PgBackupError {
  return new PgBackupError('refused', `There is not enough room in ${container} for ${what} (${detail}, with room to spare): free space there, choose another folder in the container (--temp-dir DIR), or ${alternative}. Nothing was written.`);
}
