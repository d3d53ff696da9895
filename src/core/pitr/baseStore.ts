import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { readBaseManifest, type BaseBackupManifest } from '../backup/manifest';
import { encodePathSegment, MANIFEST_SUFFIX } from '../store/naming';

/**
 * Base backups live beside a container's database folders, in `DIR/<container>/_base/`, as
 * `_base_<YYYYMMDD_HHMMSS>.tar.gz` with a manifest `<file>.json` of kind `base` (BaseBackupManifest in
 * backup/manifest.ts). Their suffix is not one of the dump suffixes, so `backups`, `status` and `prune`
 * (which list dumps) pass them by; `pitr prune` prunes them.
 */
export const BASE_FOLDER = '_base';

export interface BaseBackupEntry {
  path: string;
  fileName: string;
  sizeBytes: number;
  manifest: BaseBackupManifest;
}

export function baseBackupDir(dir: string, container: string): string {
  return path.join(dir, encodePathSegment(container), BASE_FOLDER);
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
      const m = await readBaseManifest(file);
      const st = await fs.stat(file);
      if (m && st.isFile()) out.push({ path: file, fileName: path.basename(file), sizeBytes: st.size, manifest: m });
    } catch {
      // a manifest without its file, or not ours: not a base backup
    }
  }
  return out.sort((a, b) => Date.parse(a.manifest.consistentAt) - Date.parse(b.manifest.consistentAt));
}
