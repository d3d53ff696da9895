import type { Writable } from 'node:stream';
import type { DockerClient, ExecResult } from '../docker/client';
import { PgBackupError } from '../errors';
import type { Logger } from '../logger';
import { execClient, firstErrorLines, type PgTarget } from '../postgres/client';
import { CONTAINER_TEMP_DIR, makeTempFolder, noRoomError, removeTempFolder, tempFolderPath } from '../postgres/containerTemp';
import { formatBytes } from '../progress';

/**
 * `sh -c`: writes the pg_dump directory in $1 to stdout as one tar, `toc.dat` first (so that the file is
 * recognised by its first bytes), then the data files. pg_dump's file names never start with `-`.
 */
export const TAR_DIRECTORY_SCRIPT = ['cd "$1" || exit 4', 'set -- toc.dat', 'for f in *; do [ "$f" = toc.dat ] || set -- "$@" "$f"; done', 'exec tar -cf - "$@"'].join('\n');

/** What a directory dump needs: pg_dump's argv without `-f`, the database's size (the estimate), where, how many jobs. */
export interface DirectoryDumpRequest {
  /** pg_dump argv with -Fd and -j; the folder is appended as `-f DIR`. */
  argv: string[];
  /** pg_database_size: what the dump cannot exceed by much (indexes are not dumped, data is compressed). */
  databaseBytes: number;
  /** The folder in the container the temporary folder goes in (default /tmp). */
  tempDir?: string;
  containerName: string;
  database: string;
  /** Where the tar goes (ended when the dump failed before the tar began). */
  out: Writable;
  signal?: AbortSignal;
  log: Logger;
}

/** Which program's result is reported. */
export interface DirectoryDumpResult {
  program: 'pg_dump' | 'tar';
  result: ExecResult;
}

/**
 * pg_dump -Fd -j N into a temporary folder in the container (refused before anything runs when it does not
 * fit with room to spare), then `tar -cf -` of it into `out`; the folder is removed whatever happens (a
 * cancelled pg_dump and its workers are ended first).
 */
export async function dumpDirectory(docker: DockerClient, target: PgTarget, r: DirectoryDumpRequest): Promise<DirectoryDumpResult> {
  const folder = tempFolderPath(r.tempDir ?? CONTAINER_TEMP_DIR, 'dump');
  const made = await makeTempFolder(docker, target, folder, r.databaseBytes, { signal: r.signal, what: 'The backup' });
  if (!made.ok) {
    if (made.noRoom) throw noRoomError(r.containerName, `a directory dump of "${r.database}" (${formatBytes(r.databaseBytes)} database)`, made.noRoom, 'use --format custom, which streams and needs no room there');
    throw new PgBackupError('failed', `Could not make a temporary folder in ${r.containerName} for the directory dump: ${made.failure}`);
  }
  try {
    const dump = await execClient(docker, target, [...r.argv, '-f', folder], { signal: r.signal, what: 'The backup' });
    if (dump.exitCode !== 0) {
      r.out.end();
      if (/No space left on device/i.test(dump.stderr)) {
        throw new PgBackupError('failed', `The temporary folder in ${r.containerName} filled up while pg_dump wrote the directory dump of "${r.database}" (${firstErrorLines(dump.stderr, 1)}): free space there or choose another folder (--temp-dir DIR). Nothing was written, and the temporary folder was removed.`, { detail: dump.stderr });
      }
      return { program: 'pg_dump', result: dump };
    }
    const tar = await execClient(docker, target, ['sh', '-c', TAR_DIRECTORY_SCRIPT, 'sh', folder], { stdout: r.out, signal: r.signal, what: 'The backup' });
    return { program: 'tar', result: tar };
  } finally {
    const why = await removeTempFolder(docker, target, folder);
    if (why !== undefined) r.log.error(`could not remove the temporary folder ${folder} in ${r.containerName}: ${why}`);
  }
}
