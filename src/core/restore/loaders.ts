import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { DockerClient, ExecResult } from '../docker/client';
import { PgBackupError, errorMessage, isPgBackupError } from '../errors';
import type { Operation } from '../operation';
import { dbConninfo, execClient, firstErrorLines, type PgTarget } from '../postgres/client';
import { makeTempFolder } from '../postgres/containerTemp';
import { openInput, type InputSource } from './input';
import type { LoaderKind } from './plan';

/**
 * `sh -c` script restoring a compressed plain dump with the decompressor in the container ($1: gunzip, zstd
 * or lz4), so that only compressed bytes cross the Docker API (measured: 5.0 s against 7.3 s for gunzip on
 * the host at 1x). The other positional arguments are psql's. psql commits at the end of its input even when
 * the decompressor failed half-way, so the script reports the decompressor's status (exit 90) and the restore
 * fails before any swap. Exit 96: no such decompressor here.
 */
export const PLAIN_DECOMPRESS_IN_CONTAINER_SCRIPT = [
  'dec=$1; shift',
  'command -v "$dec" >/dev/null 2>&1 || { echo "pg-docker-backup: no $dec in this container" >&2; exit 96; }',
  'exec 3>&1',
  'st=$( { { "$dec" -dc; echo $? >&4; } | psql "$@" >&3; } 4>&1 )',
  'ps=$?',
  '[ "$ps" -eq 0 ] || exit "$ps"',
  '[ "$st" = 0 ] || { echo "pg-docker-backup: $dec in the container failed (exit $st)" >&2; exit 90; }',
].join('\n');
const NO_DECOMPRESSOR_EXIT = 96;
const DECOMPRESSOR_FAILED_EXIT = 90;
const DECOMPRESSOR: Record<'gzip' | 'zstd' | 'lz4', string> = { gzip: 'gunzip', zstd: 'zstd', lz4: 'lz4' };

/** What a custom archive's restore adds: pg_restore arguments (--no-owner…) and a `-L` list of the entries to restore. */
export interface LoaderExtras {
  args?: string[];
  /** The `pg_restore -L` list's text (dump ids); written to a temporary file in the container for the run. */
  list?: string;
}

/**
 * `sh -c` script running pg_restore with a `-L` list given as $1 (pg_restore reads the list from a file; the
 * archive still streams on stdin): the list goes to a temporary file, removed afterwards. Exit 97: no temp file.
 */
export const PG_RESTORE_WITH_LIST_SCRIPT = [
  'f=$(mktemp) || exit 97',
  'printf \'%s\' "$1" > "$f" || { rm -f "$f"; exit 97; }',
  'shift',
  'pg_restore -L "$f" "$@"',
  'st=$?',
  'rm -f "$f"',
  'exit $st',
].join('\n');

/** argv that runs `client` (a pg_restore argv) with the extras' list, if any. */
export function withList(client: string[], extras?: LoaderExtras): string[] {
  return extras?.list !== undefined ? ['sh', '-c', PG_RESTORE_WITH_LIST_SCRIPT, 'sh', extras.list, ...client.slice(1)] : client;
}

/** psql/pg_restore argv; with `file`, pg_restore reads that archive (in the container) with `jobs` jobs instead of stdin. */
export function restoreArgv(format: 'sql' | 'custom' | 'directory', user: string, database: string, parallel?: { file: string; jobs: number }, extras?: LoaderExtras): string[] {
  if (format === 'sql') return ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-U', user, '-d', dbConninfo(database)];
  const argv = ['pg_restore', '-w', '--exit-on-error', ...(extras?.args ?? [])];
  if (parallel) argv.push('-j', String(parallel.jobs));
  argv.push('-U', user, '-d', dbConninfo(database));
  if (parallel) argv.push('--', parallel.file);
  return argv;
}

/** Free space the container's temp folder must keep beyond the archive (a full disk stops the live server too). */
const SPARE_KIB = 1024 * 1024;

/**
 * `sh -c` script for copying the archive into the container: $1 the file, $2 the KiB that must be free
 * there first. Values only as positional arguments. Exits 3 without reading anything when space is short.
 */
export const COPY_INTO_CONTAINER_SCRIPT = [
  'dir=${1%/*}',
  'avail=$(df -Pk "$dir" 2>/dev/null | awk \'NR==2 {print $4}\')',
  'case "$avail" in',
  "  ''|*[!0-9]*) ;;",
  '  *) if [ "$avail" -lt "$2" ]; then echo "only $avail KiB free in $dir, $2 KiB wanted" >&2; exit 3; fi ;;',
  'esac',
  'umask 077',
  'exec cat > "$1"',
].join('\n');

export interface ContainerCopy {
  /** Where the archive is (or partly is) in the container. */
  file: string;
  /** Why the copy did not work (the restore then streams instead). */
  failure?: string;
  /** The backup file itself failed to read, or the user cancelled: the restore stops. */
  fatal?: unknown;
}

/** Copies a custom archive into the container for `pg_restore -j`; never rejects (see ContainerCopy). */
export async function copyIntoContainer(docker: DockerClient, target: PgTarget, src: InputSource & { sizeBytes: number }, dir: string, prefix: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<ContainerCopy> {
  const file = `${dir.replace(/\/+$/, '')}/${prefix}${randomBytes(8).toString('hex')}.dump`;
  const input = openInput(src, onBytes, signal);
  const needKiB = Math.ceil(src.sizeBytes / 1024) + SPARE_KIB;
  try {
    const r = await execClient(docker, target, ['sh', '-c', COPY_INTO_CONTAINER_SCRIPT, 'sh', file, String(needKiB)], { stdin: input.stream, signal, what: 'The restore' });
    if (r.exitCode !== 0) input.stop();
    const readError = await input.done.then(() => undefined, (e: unknown) => e);
    if (readError) return { file, fatal: readError };
    if (r.exitCode !== 0) return { file, failure: firstErrorLines(r.stderr, 1) || `the copy exited with code ${r.exitCode}` };
    return { file };
  } catch (e) {
    input.stop();
    const readError = await input.done.then(() => undefined, (x: unknown) => x);
    if (readError || signal?.aborted || isPgBackupError(e, 'cancelled')) return { file, fatal: readError ?? e };
    return { file, failure: errorMessage(e) };
  }
}

/**
 * Unpacks a directory dump's tar into a fresh temporary folder in the container for `pg_restore -j` (any
 * age layer undone here first); never rejects (see ContainerCopy). Not enough room is a `failure` that
 * names the space.
 */
export async function extractIntoContainer(docker: DockerClient, target: PgTarget, src: InputSource & { sizeBytes: number }, dir: string, prefix: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<ContainerCopy> {
  const folder = `${dir.replace(/\/+$/, '')}/${prefix}${randomBytes(8).toString('hex')}.dir`;
  const input = openInput(src, onBytes, signal);
  try {
    const r = await makeTempFolder(docker, target, folder, src.sizeBytes, { tar: input.stream, signal, what: 'The restore' });
    if (!r.ok) input.stop();
    const readError = await input.done.then(() => undefined, (e: unknown) => e);
    if (readError) return { file: folder, fatal: readError };
    if (!r.ok) return { file: folder, failure: r.noRoom ? `not enough room: ${r.noRoom}` : `tar: ${r.failure}` };
    return { file: folder };
  } catch (e) {
    input.stop();
    const readError = await input.done.then(() => undefined, (x: unknown) => x);
    return { file: folder, fatal: readError ?? e };
  }
}

/** The error lines of psql/pg_restore stderr that say which statement failed. */
export function failingStatement(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  const i = lines.findIndex((l) => /\b(ERROR|FATAL):|error:/.test(l));
  if (i < 0) return lines.filter(Boolean).slice(-3).join(' ');
  const picked = [lines[i].trim()];
  for (const l of lines.slice(i + 1, i + 6)) {
    if (/^(LINE \d+:|Command was:|DETAIL:|HINT:|CONTEXT:|pg_restore: detail:|\s+)/.test(l) && l.trim()) picked.push(l.trim());
    else break;
  }
  return picked.join(' ').replace(/\s+/g, ' ').slice(0, 600);
}

const discard = () => new Writable({ write: (_c, _e, cb) => cb() });

/** One loader run into `database`: its argv (for messages) and the process's result. */
export interface LoaderRun {
  argv: string[];
  result: ExecResult;
}

/** Streams the backup into psql or pg_restore; with `codec`, that decompression runs in the container. */
export async function streamLoad(docker: DockerClient, target: PgTarget, src: InputSource & { sizeBytes: number; extras?: LoaderExtras }, database: string, op: Operation, codec?: 'gzip' | 'zstd' | 'lz4'): Promise<LoaderRun> {
  const started = Date.now();
  const input = openInput(src, (n) => op.progress.bytes(n, src.sizeBytes, started), op.signal, codec ? src.stages.slice(0, 1) : []);
  const client = restoreArgv(src.format, target.user, database, undefined, src.extras);
  const execArgv = codec ? ['sh', '-c', PLAIN_DECOMPRESS_IN_CONTAINER_SCRIPT, 'sh', DECOMPRESSOR[codec], ...client.slice(1)] : withList(client, src.extras);
  const r = await execClient(docker, target, execArgv, { stdin: input.stream, stdout: discard(), signal: op.signal, what: 'The restore' })
    .catch(async (e: unknown) => {
      input.stop();
      await input.done; // an input error (damaged file) says more than the broken stream it caused
      throw e;
    });
  // A restore that stopped early (exit code ≠ 0) left the rest of the file unread.
  if (r.exitCode !== 0) input.stop();
  await input.done;
  return { argv: client, result: r };
}

/** pg_restore -j on an archive copied into the container (or a directory dump unpacked there), with the extras' `-L` list. */
export async function parallelLoad(docker: DockerClient, target: PgTarget, file: string, jobs: number, database: string, op: Operation, extras?: LoaderExtras): Promise<LoaderRun> {
  const argv = restoreArgv('custom', target.user, database, { file, jobs }, extras);
  const result = await execClient(docker, target, withList(argv, extras), { stdout: discard(), signal: op.signal, what: 'The restore' });
  return { argv, result };
}

/**
 * Runs a streaming loader; a compressed plain dump whose container has no such decompressor (or no sh) is
 * decoded on this machine instead.
 */
export async function runStreamingLoader(docker: DockerClient, target: PgTarget, src: InputSource & { sizeBytes: number; extras?: LoaderExtras }, database: string, op: Operation, loader: LoaderKind, containerName: string): Promise<LoaderRun> {
  const first = src.stages[0];
  const codec = loader === 'psql-decompress' && first && first.algorithm !== 'age' ? first.algorithm : undefined;
  let run = await streamLoad(docker, target, src, database, op, codec);
  const code = run.result.exitCode;
  if (codec && (code === NO_DECOMPRESSOR_EXIT || code === 126 || code === 127)) {
    op.log.debug(`no ${DECOMPRESSOR[codec]}/sh in ${containerName} (${run.result.stderr.trim()}): decompressing on this machine instead`);
    run = await streamLoad(docker, target, src, database, op);
  }
  return run;
}

/** The loader's verdict: throws the error that says which statement (or gunzip) failed. */
export function checkLoaderRun(run: LoaderRun, loader: LoaderKind, containerName: string): void {
  const { result, argv } = run;
  if (result.exitCode === DECOMPRESSOR_FAILED_EXIT && loader === 'psql-decompress') {
    throw new PgBackupError('failed', `The decompressor in ${containerName} stopped before the end of the file: ${firstErrorLines(result.stderr, 2)}`, { detail: result.stderr });
  }
  if (result.exitCode !== 0) {
    throw new PgBackupError('failed', `${argv[0]} stopped at an error: ${failingStatement(result.stderr)}`, { detail: result.stderr });
  }
  if (/\b(ERROR|FATAL):/.test(result.stderr) && argv[0] === 'pg_restore') {
    throw new PgBackupError('failed', `pg_restore reported an error: ${failingStatement(result.stderr)}`, { detail: result.stderr });
  }
}
