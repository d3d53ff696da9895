import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { PgBackupError } from '../errors';
import { backupFileName, encodePathSegment, MANIFEST_SUFFIX, PARTIAL_SUFFIX } from '../store/naming';
import { parsePartial, partialPath, sweepPartials } from '../store/partials';

/**
 * Where a backup's stored bytes go (a local file now; an object store later). Bytes are written to
 * `stream`; `commit` publishes them with their manifest, `abort` leaves nothing behind.
 */
export interface BackupSink {
  /** The final location (a path, later a URL), for messages and results. */
  readonly location: string;
  readonly fileName: string;
  readonly stream: Writable;
  /** Makes the written bytes the backup, then writes the manifest beside them. */
  commit(manifest: object): Promise<void>;
  /** Removes what was written; never throws. */
  abort(): Promise<void>;
}

/** A disk error in a user's words, or undefined for anything else. */
export function diskError(e: unknown, dir: string): PgBackupError | undefined {
  // The file system's error may arrive wrapped (e.g. by the exec whose output stream it broke).
  let inner = e;
  for (let i = 0; i < 5 && inner && !(inner as NodeJS.ErrnoException).code && (inner as Error).cause; i++) inner = (inner as Error).cause;
  const code = (inner as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new PgBackupError('failed', `The disk holding ${dir} is full: the backup was not written and its partial file was removed. Free some space (or prune old backups) and try again.`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new PgBackupError('failed', `Cannot write to ${dir} (${code}): choose a backup directory you can write to.`, { cause: e });
  return undefined;
}

/** Picks `<db>_<ts><ext>`, or `_2`, `_3`… when a backup of the same second exists. */
async function freshName(dir: string, database: string, extension: `.${string}`, at: Date): Promise<string> {
  const names = new Set(await fs.readdir(dir));
  const partialsOf = new Set([...names].map((n) => parsePartial(n)?.final).filter((n): n is string => !!n));
  for (let attempt = 1; attempt < 1000; attempt++) {
    const name = backupFileName(database, extension, at, attempt);
    if (!names.has(name) && !partialsOf.has(name)) return path.join(dir, name);
  }
  throw new PgBackupError('failed', `cannot find a free file name in ${dir}`);
}

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = file + PARTIAL_SUFFIX;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await fs.open(dir, 'r').catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}

/**
 * `DIR/<container>/<database>/<database>_<ts><ext>`: written as `.partial` (mode 0600, fsynced on close),
 * renamed on commit, with the manifest `<file>.json` written atomically beside it and the folder synced.
 * Abort removes the partial file, and the folders made for it when they stay empty.
 */
export async function openLocalFileSink(o: { dir: string; container: string; database: string; extension: `.${string}`; created: Date }): Promise<BackupSink> {
  const dir = path.join(o.dir, encodePathSegment(o.container), encodePathSegment(o.database));
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw diskError(e, dir) ?? e;
  }
  // What a killed backup left in this folder goes first (a running one's partial file is kept).
  await sweepPartials(dir);
  const finalPath = await freshName(dir, o.database, o.extension, o.created);
  const partial = partialPath(finalPath);
  // flush: fsync before close, so the rename never publishes bytes that are not on disk
  const stream = createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
  return {
    location: finalPath,
    fileName: path.basename(finalPath),
    stream,
    async commit(manifest) {
      try {
        await fs.rename(partial, finalPath);
        await writeFileAtomic(finalPath + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n');
        await syncDir(dir);
      } catch (e) {
        throw diskError(e, dir) ?? e;
      }
    },
    async abort() {
      stream.destroy();
      await fs.rm(partial, { force: true }).catch(() => undefined);
      // folders made for this backup go again when they stay empty (e.g. a database name mistyped)
      await fs.rmdir(dir).then(() => fs.rmdir(path.dirname(dir))).catch(() => undefined);
    },
  };
}
