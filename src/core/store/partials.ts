import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PARTIAL_SUFFIX } from './naming';

/** A partial file whose owner cannot be checked (another machine, or an older version) is stale after this. */
export const FOREIGN_PARTIAL_MAX_AGE_MS = 24 * 3600 * 1000;

function hostTag(host = os.hostname()): string {
  return host.replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64) || 'host';
}

/** `<final>.<pid>@<host>.partial`: the file a running backup writes, named after the process writing it. */
export function partialPath(finalPath: string, pid = process.pid, host = os.hostname()): string {
  return `${finalPath}.${pid}@${hostTag(host)}${PARTIAL_SUFFIX}`;
}

/** The final name, process and host of a partial file's name (pid/host undefined for a legacy `<final>.partial`). */
export function parsePartial(name: string): { final: string; pid?: number; host?: string } | undefined {
  if (!name.endsWith(PARTIAL_SUFFIX)) return undefined;
  const base = name.slice(0, -PARTIAL_SUFFIX.length);
  const m = /^(.*)\.(\d+)@([A-Za-z0-9._-]+)$/.exec(base);
  return m ? { final: m[1], pid: Number(m[2]), host: m[3] } : { final: base };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a partial file was left by a backup that is no longer running: its process is gone on this
 * machine; for one written elsewhere (or by an older version), when it has not changed for a day.
 */
export function isStalePartial(name: string, mtime: Date, now: Date, alive: (pid: number) => boolean = processAlive, host = os.hostname()): boolean {
  const p = parsePartial(name);
  if (!p) return false;
  if (p.pid !== undefined && p.host === hostTag(host)) return !alive(p.pid);
  return now.getTime() - mtime.getTime() > FOREIGN_PARTIAL_MAX_AGE_MS;
}

/** Removes the stale partial files among `names` in `dir` (regular files only, never through a symlink); returns them. */
export async function sweepPartials(dir: string, names?: readonly string[], now = new Date()): Promise<string[]> {
  const list = names ?? (await fs.readdir(dir).catch(() => [] as string[]));
  const removed: string[] = [];
  for (const name of list) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue;
    const file = path.join(dir, name);
    const st = await fs.lstat(file).catch(() => undefined);
    if (!st?.isFile() || !isStalePartial(name, st.mtime, now)) continue;
    await fs.rm(file, { force: true }).then(() => removed.push(file), () => undefined);
  }
  return removed;
}
