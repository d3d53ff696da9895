import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { StageRecord } from '../pipeline/stage';
import { encodePathSegment, MANIFEST_SUFFIX } from '../store/naming';

/**
 * Base backups live beside a container's database folders, in `DIR/<container>/_base/`, as
 * `_base_<YYYYMMDD_HHMMSS>.tar.gz` with a manifest `<file>.json` of kind `base`. Their suffix is not one of
 * the dump suffixes, so `backups`, `status` and `prune` (which list dumps) pass them by.
 */
export const BASE_FOLDER = '_base';

export interface BaseBackupManifest {
  manifestVersion: 2;
  kind: 'base';
  tool: string;
  file: string;
  container: string;
  containerId: string;
  image: string;
  composeProject?: string;
  composeService?: string;
  serverVersion: string;
  /** The cluster's pg_control system identifier: WAL of another cluster cannot be replayed on it. */
  systemIdentifier: string;
  timeline: number;
  startLsn: string;
  endLsn: string;
  walSegmentBytes: number;
  /** The WAL segments from start to end: inside the tar (`-X fetch`), and the first the recovery replays. */
  walFiles: string[];
  /** The archive folder in the container when it was taken (for messages). */
  archiveDir?: string;
  format: 'tar';
  stages: StageRecord[];
  bytes: number;
  sha256: string;
  /** When the backup started (ISO). */
  created: string;
  /** The server's time once the backup had ended: the earliest point a recovery from it can reach. */
  consistentAt: string;
  durationMs: number;
}

export interface BaseBackupEntry {
  path: string;
  fileName: string;
  sizeBytes: number;
  manifest: BaseBackupManifest;
}

export function baseBackupDir(dir: string, container: string): string {
  return path.join(dir, encodePathSegment(container), BASE_FOLDER);
}

function isBaseManifest(m: unknown): m is BaseBackupManifest {
  const b = m as BaseBackupManifest | null;
  return !!b && b.kind === 'base' && typeof b.endLsn === 'string' && typeof b.consistentAt === 'string' && Array.isArray(b.stages);
}

/** The base backups of a container, oldest first (by the time they became consistent). */
export async function listBaseBackups(dir: string, container: string): Promise<BaseBackupEntry[]> {
  const folder = baseBackupDir(dir, container);
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const out: BaseBackupEntry[] = [];
  for (const n of names) {
    if (!n.endsWith(MANIFEST_SUFFIX)) continue;
    const file = path.join(folder, n.slice(0, -MANIFEST_SUFFIX.length));
    try {
      const m = JSON.parse(await fs.readFile(path.join(folder, n), 'utf8')) as unknown;
      const st = await fs.stat(file);
      if (isBaseManifest(m) && st.isFile()) out.push({ path: file, fileName: path.basename(file), sizeBytes: st.size, manifest: m });
    } catch {
      // a manifest without its file, or not ours: not a base backup
    }
  }
  return out.sort((a, b) => Date.parse(a.manifest.consistentAt) - Date.parse(b.manifest.consistentAt));
}
