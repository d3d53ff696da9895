import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgBackupError } from '../errors';
import { inspectBackupFile, type BackupContent } from '../backup/format';
import { readManifest, type BackupManifest } from '../backup/manifest';
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

/** Describes one backup file: from its manifest when there is one, else from its content. */
export async function describeBackup(file: string, root?: string): Promise<BackupEntry> {
  const stat = await fs.stat(file);
  const manifest = await readManifest(file);
  const fileName = path.basename(file);
  if (manifest) {
    return {
      path: file,
      fileName,
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
  let content: BackupContent;
  try {
    content = await inspectBackupFile(file);
  } catch {
    content = { format: 'unknown', gzipped: false };
  }
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

/**
 * Every backup under `dir` (the layout DIR/<container>/<database>/, and runbook files anywhere up to
 * three levels down), newest first. Partial files and unreadable entries are skipped.
 */
export async function listBackups(dir: string, maxDepth = 3): Promise<BackupEntry[]> {
  const files: string[] = [];
  async function walk(d: string, depth: number): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    // Partial files of backups that were killed go (a running backup's partial file is kept).
    await sweepPartials(d, entries.filter((e) => e.isFile() && e.name.endsWith(PARTIAL_SUFFIX)).map((e) => e.name));
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth < maxDepth && !e.name.startsWith('.')) await walk(p, depth + 1);
        else if (e.isFile() && BACKUP_FILE_PATTERN.test(e.name) && !e.name.endsWith(PARTIAL_SUFFIX)) files.push(p);
      }),
    );
  }
  await walk(dir, 0);
  const described = await Promise.all(files.map((f) => describeBackup(f, dir).catch(() => undefined)));
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
