import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupContent } from '../backup/format';
import type { BackupManifest } from '../backup/manifest';

/**
 * What a listing learnt from the files of one backup folder, so that the next listing reads only what
 * changed: the parsed manifest of each `<backup>.json`, and the content-sniff result of each backup
 * without a manifest, each kept with the size, mtime, ctime and inode of the file it came from. A file
 * whose stat differs in any of these (rewritten by verify, replaced by a copy of the same size, touched
 * back to an old mtime: the ctime still moves) is read again.
 *
 * Kept outside the backup folder (in the user's cache folder, one file per folder listed), so listing a
 * folder never changes it: a `--dry-run` leaves it exactly as it was, and a read-only folder works.
 */
export type StatKey = readonly [size: number, mtimeMs: number, ctimeMs: number, ino: number];

export interface IndexRecord {
  key: StatKey;
  /** For a `<backup>.json`: the manifest it holds, or null when it is not a manifest we can read. */
  manifest?: BackupManifest | null;
  /** For a backup without a manifest: what its first 64 KiB say it is. */
  content?: BackupContent;
}

interface IndexFile {
  version: 1;
  root: string;
  records: Record<string, IndexRecord>;
}

const VERSION = 1;
/** Manifests bigger than this (thousands of tables) are read each time instead of kept in the index. */
export const MAX_INDEXED_MANIFEST_BYTES = 64 * 1024;
/** A file changed this recently may change again within its timestamp's granularity: read it again next time. */
const RACY_MS = 2000;
/** Index files of folders not listed for this long are removed when another index is written. */
const STALE_INDEX_MS = 30 * 24 * 3600 * 1000;

export function statKey(st: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): StatKey {
  return [st.size, st.mtimeMs, st.ctimeMs, st.ino];
}

function sameKey(a: StatKey, b: StatKey): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** The per-user cache folder of listing indexes (XDG_CACHE_HOME on Linux, Caches on macOS, LOCALAPPDATA on Windows). */
export function listingIndexFolder(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  homedir: string = os.homedir(),
): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(homedir, 'AppData', 'Local'), 'pg-docker-backup', 'Cache', 'listing');
  if (platform === 'darwin') return path.join(homedir, 'Library', 'Caches', 'pg-docker-backup', 'listing');
  return path.join(env.XDG_CACHE_HOME || path.join(homedir, '.cache'), 'pg-docker-backup', 'listing');
}

/** The index file of one backup folder: named by a hash of its absolute path. */
export function listingIndexPath(root: string, folder = listingIndexFolder()): string {
  return path.join(folder, `${createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 32)}.json`);
}

/**
 * The records of one folder's listing. `lookup` answers from the index when the file's stat still
 * matches; `remember` records what was read; `save` writes the records seen in this listing (others
 * belong to files that are gone) when anything changed, atomically and readable by the user only.
 */
export class ListingIndex {
  private records = new Map<string, IndexRecord>();
  private seen = new Set<string>();
  private changed = false;
  private loaded = false;

  /**
   * `file` undefined: kept in memory only. `racyMs`: files changed less than this long ago are not kept
   * (they may change again within their timestamp's granularity).
   */
  constructor(
    readonly root: string,
    readonly file: string | undefined = listingIndexPath(root),
    private readonly racyMs = RACY_MS,
  ) {}

  /** Reads the index file once; a missing, unreadable or foreign one is an empty index. */
  async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    if (!this.file) return;
    try {
      const data = JSON.parse(await fs.readFile(this.file, 'utf8')) as IndexFile;
      if (data.version !== VERSION || data.root !== path.resolve(this.root) || !data.records || typeof data.records !== 'object') return;
      this.records = new Map(Object.entries(data.records));
    } catch {
      // no index yet, or a damaged one: it is rebuilt
    }
  }

  /** Starts a listing: what is not looked up or remembered until `save` is dropped then. */
  begin(): void {
    this.seen = new Set();
  }

  lookup(rel: string, key: StatKey): IndexRecord | undefined {
    const r = this.records.get(rel);
    if (!r || !Array.isArray(r.key) || !sameKey(r.key, key)) return undefined;
    this.seen.add(rel);
    return r;
  }

  remember(rel: string, record: IndexRecord, now = Date.now()): void {
    const [size, mtimeMs, ctimeMs] = record.key;
    const racy = now - Math.max(mtimeMs, ctimeMs) < this.racyMs;
    const tooBig = record.manifest !== undefined && size > MAX_INDEXED_MANIFEST_BYTES;
    if (racy || tooBig) {
      if (this.records.delete(rel)) this.changed = true;
      return;
    }
    this.records.set(rel, record);
    this.seen.add(rel);
    this.changed = true;
  }

  /** Writes the index when this listing changed it; failures (read-only cache folder…) are ignored. */
  async save(): Promise<void> {
    for (const rel of this.records.keys()) {
      if (!this.seen.has(rel)) {
        this.records.delete(rel);
        this.changed = true;
      }
    }
    if (!this.changed) return;
    this.changed = false;
    if (!this.file) return;
    const data: IndexFile = { version: VERSION, root: path.resolve(this.root), records: Object.fromEntries(this.records) };
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await fs.writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
      await fs.rename(tmp, this.file);
      await sweepStaleIndexes(path.dirname(this.file), this.file);
    } catch {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/** Removes index files (and leftover temporary files) of folders not listed for 30 days. */
async function sweepStaleIndexes(folder: string, keep: string, now = Date.now()): Promise<void> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const file = path.join(folder, name);
    if (file === keep || !/^[0-9a-f]{32}\.json(\.\d+\.[0-9a-f]+\.tmp)?$/.test(name)) continue;
    const st = await fs.lstat(file).catch(() => undefined);
    const maxAge = name.endsWith('.tmp') ? 3600 * 1000 : STALE_INDEX_MS;
    if (st?.isFile() && now - st.mtimeMs > maxAge) await fs.rm(file, { force: true }).catch(() => undefined);
  }
}
