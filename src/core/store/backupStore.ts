import { stat as statCallback, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgBackupError } from '../errors';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { inspectBackupFile, type BackupContent } from '../backup/format';
import { readManifest, type BackupManifest } from '../backup/manifest';
import { ListingIndex, statKey } from './listingIndex';
import { sweepPartials } from './partials';
import { BACKUP_FILE_PATTERN, MANIFEST_SUFFIX, PARTIAL_SUFFIX, decodePathSegment, isToolBackupName, parseBackupFileName, type BackupFormat } from './naming';

/** One backup file found on disk, with a manifest or recognised by its content. */
export interface BackupEntry {
  path: string;
  fileName: string;
  sizeBytes: number;
  modified: Date;
  /** Manifest time, else the time in the file name, else the file's mtime. */
  created: Date;
  container?: string;
  database?: string;
  format: BackupFormat | 'unknown';
  gzipped: boolean;
  pgDumpVersion?: string;
  serverVersion?: string;
  manifest?: BackupManifest;
  /** `manifest` written by us; `detected` a runbook file recognised by its content. */
  source: 'manifest' | 'detected';
}

/**
 * The backup directory: `--dir`, else PG_DOCKER_BACKUP_DIR, else a per-user data folder (XDG_DATA_HOME
 * on Linux, Application Support on macOS, LOCALAPPDATA on Windows). Never the workspace by default.
 */
export function resolveBackupDir(
  explicit: string | undefined,
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  homedir: string = os.homedir(),
): string {
  if (explicit) return path.resolve(explicit);
  if (env.PG_DOCKER_BACKUP_DIR) return path.resolve(env.PG_DOCKER_BACKUP_DIR);
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(homedir, 'AppData', 'Local'), 'pg-docker-backup', 'backups');
  if (platform === 'darwin') return path.join(homedir, 'Library', 'Application Support', 'pg-docker-backup', 'backups');
  return path.join(env.XDG_DATA_HOME || path.join(homedir, '.local', 'share'), 'pg-docker-backup', 'backups');
}

type FileStat = import('node:fs').Stats;

/** fs.stat with a callback: cheaper than fs/promises' for thousands of files (as readManifest's readFile). */
const statAsync = promisify(statCallback);

/** Stats per batch before the event loop gets a turn; a batch slower than SLOW_BATCH_MS (under a millisecond a stat on a busy local disk) switches to the thread pool. */
const SYNC_BATCH = 64;
const SLOW_BATCH_MS = 50;

/**
 * A stat for each of thousands of files. On a local disk a synchronous stat costs about half the CPU of
 * a round trip through the thread pool (measured: 10,000 files, 110-120 ms against 200-250 ms), so
 * they run synchronously, SYNC_BATCH at a time with the event loop served in between; once a batch is
 * slow (a network share), the rest go through the thread pool so that nothing waits on them.
 */
export function batchedStat(): (file: string) => Promise<FileStat> {
  let sync = true;
  let inBatch = 0;
  let batchMs = 0;
  return async (file) => {
    if (!sync) return statAsync(file);
    if (inBatch >= SYNC_BATCH) {
      await new Promise((r) => setImmediate(r));
      if (batchMs > SLOW_BATCH_MS) sync = false;
      inBatch = 0;
      batchMs = 0;
      if (!sync) return statAsync(file);
    }
    inBatch++;
    const t = performance.now();
    try {
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st) throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${file}'`), { code: 'ENOENT' });
      return st;
    } finally {
      batchMs += performance.now() - t;
    }
  };
}

function entryFromManifest(file: string, stat: FileStat, manifest: BackupManifest): BackupEntry {
  return {
    path: file,
    fileName: path.basename(file),
    sizeBytes: stat.size,
    modified: stat.mtime,
    created: new Date(manifest.created),
    container: manifest.container,
    database: manifest.database,
    format: manifest.format,
    gzipped: manifest.stages.some((st) => st.algorithm === 'gzip'),
    pgDumpVersion: manifest.pgDumpVersion,
    serverVersion: manifest.serverVersion,
    manifest,
    source: 'manifest',
  };
}

function entryFromContent(file: string, root: string | undefined, stat: FileStat, content: BackupContent): BackupEntry {
  const fileName = path.basename(file);
  // DIR/<container>/<database>/<file>: the folders say where it came from
  const rel = root ? path.relative(root, path.dirname(file)).split(path.sep).filter(Boolean) : [];
  const inLayout = rel.length === 2;
  // Our names (in our layout, see isToolBackupName) are UTC; anyone else's, e.g. the runbook's
  // `benchmark_$(date +%Y%m%d_%H%M%S).dump.gz`, are this machine's local time.
  const named = parseBackupFileName(fileName, inLayout && isToolBackupName(fileName, rel[1]) ? 'utc' : 'local');
  let container: string | undefined;
  let database = content.database ?? named?.database;
  if (inLayout) {
    container = decodePathSegment(rel[0]);
    database = decodePathSegment(rel[1]);
  }
  return {
    path: file,
    fileName,
    sizeBytes: stat.size,
    modified: stat.mtime,
    created: named?.at ?? stat.mtime,
    container,
    database,
    format: content.format,
    gzipped: content.gzipped,
    pgDumpVersion: content.pgDumpVersion,
    serverVersion: content.serverVersion,
    source: 'detected',
  };
}

/** What the first 64 KiB of a file say it is; `unknown` when it cannot be read. */
async function sniff(file: string): Promise<BackupContent> {
  try {
    const { sizeBytes: _size, ...content } = await inspectBackupFile(file);
    return content;
  } catch {
    return { format: 'unknown', gzipped: false };
  }
}

/** Describes one backup file: from its manifest when there is one, else from its content. */
export async function describeBackup(file: string, root?: string): Promise<BackupEntry> {
  const stat = await fs.stat(file);
  const manifest = await readManifest(file);
  return manifest ? entryFromManifest(file, stat, manifest) : entryFromContent(file, root, stat, await sniff(file));
}

export interface ListOptions {
  /**
   * Where what was read is remembered between listings: a ListingIndex (kept by a long-lived caller),
   * false for none, by default the folder's index file in the user's cache folder.
   */
  index?: ListingIndex | false;
}

/** How many files are described at once: enough to keep the thread pool busy without 10,000 promises at a time. */
const CONCURRENCY = 64;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type Stat = (file: string) => Promise<FileStat>;

/** A backup file found by the walk, and whether a `<file>.json` sits beside it. */
interface Found {
  file: string;
  hasManifest: boolean;
}

async function walkBackups(dir: string, maxDepth: number): Promise<Found[]> {
  const found: Found[] = [];
  async function walk(d: string, depth: number): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    // Partial files of backups that were killed go (a running backup's partial file is kept).
    await sweepPartials(d, entries.filter((e) => e.isFile() && e.name.endsWith(PARTIAL_SUFFIX)).map((e) => e.name));
    const names = new Set(entries.filter((e) => !e.isDirectory()).map((e) => e.name));
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth < maxDepth && !e.name.startsWith('.')) await walk(p, depth + 1);
        else if (e.isFile() && BACKUP_FILE_PATTERN.test(e.name) && !e.name.endsWith(PARTIAL_SUFFIX)) found.push({ file: p, hasManifest: names.has(e.name + MANIFEST_SUFFIX) });
      }),
    );
  }
  await walk(dir, 0);
  return found;
}

/** The manifest beside a backup, from the index when its stat has not changed. */
async function manifestOf(f: Found, dir: string, index: ListingIndex | undefined, stat: Stat): Promise<BackupManifest | undefined> {
  if (!f.hasManifest) return undefined;
  const manifestFile = f.file + MANIFEST_SUFFIX;
  const st = await stat(manifestFile).catch(() => undefined);
  if (!st) return undefined;
  const rel = path.relative(dir, manifestFile);
  const key = statKey(st);
  const cached = index?.lookup(rel, key);
  if (cached && cached.manifest !== undefined) return cached.manifest ?? undefined;
  const manifest = await readManifest(f.file);
  index?.remember(rel, { key, manifest: manifest ?? null });
  return manifest;
}

async function describeFound(f: Found, dir: string, index: ListingIndex | undefined, stat: Stat): Promise<BackupEntry | undefined> {
  const [st, manifest] = await Promise.all([stat(f.file), manifestOf(f, dir, index, stat)]);
  if (manifest) return entryFromManifest(f.file, st, manifest);
  const rel = path.relative(dir, f.file);
  const key = statKey(st);
  let content = index?.lookup(rel, key)?.content;
  if (!content) {
    content = await sniff(f.file);
    index?.remember(rel, { key, content });
  }
  return entryFromContent(f.file, dir, st, content);
}

/**
 * Every backup under `dir` (the layout DIR/<container>/<database>/, and runbook files anywhere up to
 * three levels down), newest first. Partial files and unreadable entries are skipped; symlinks are
 * never followed. One readdir per folder and a stat per file (and per manifest); manifests and file
 * contents are read only when new or changed since the last listing (see ListingIndex).
 */
export async function listBackups(dir: string, maxDepth = 3, options: ListOptions = {}): Promise<BackupEntry[]> {
  const index = options.index === false ? undefined : (options.index ?? new ListingIndex(dir));
  const [found] = await Promise.all([walkBackups(dir, maxDepth), index?.load()]);
  index?.begin();
  const stat = batchedStat();
  const described = await mapLimit(found, CONCURRENCY, (f) => describeFound(f, dir, index, stat).catch(() => undefined));
  await index?.save();
  return described.filter((b): b is BackupEntry => !!b).sort((a, b) => b.created.getTime() - a.created.getTime() || b.path.localeCompare(a.path));
}

/** Deletes a backup and its manifest. */
export async function deleteBackup(file: string, root?: string): Promise<void> {
  await refuseThroughSymlink(file, root);
  await fs.rm(file);
  await fs.rm(file + MANIFEST_SUFFIX, { force: true });
}

/**
 * A backup is deleted only as the regular file it is, never through a symlink: the file itself, its database
 * and container folders (DIR/<container>/<database>/), and with `root` every folder between it and the file.
 */
async function refuseThroughSymlink(file: string, root?: string): Promise<void> {
  const abs = path.resolve(file);
  const folders: string[] = [];
  const top = root ? path.resolve(root) : undefined;
  for (let d = path.dirname(abs), i = 0; d !== path.dirname(d) && (top ? d !== top && d.startsWith(top + path.sep) : i < 2); d = path.dirname(d), i++) folders.push(d);
  if (top && !abs.startsWith(top + path.sep)) throw new PgBackupError('refused', `${file} is not inside the backup folder ${top}; nothing was deleted.`);
  for (const p of [abs, ...folders]) {
    const st = await fs.lstat(p);
    if (st.isSymbolicLink()) throw new PgBackupError('refused', `${p} is a symbolic link: backups are never deleted through one (nothing was deleted).`);
    if (p === abs && !st.isFile()) throw new PgBackupError('refused', `${file} is not a regular file; nothing was deleted.`);
  }
}
