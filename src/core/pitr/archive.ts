import * as path from 'node:path';
import type { MountedVolume } from '../docker/client';

/** The archive folder the product suggests: on its own volume, beside the data directory. */
export const DEFAULT_ARCHIVE_DIR = '/var/lib/postgresql/archive';

/** Archive folders this tool accepts in commands it builds (no quoting games in a shell string). */
export const SAFE_PATH = /^\/[A-Za-z0-9_./-]*$/;

/**
 * `test ! -f DIR/%f && cp %p DIR/%f`: never overwrites a segment already archived (the documentation's
 * example), so a second server pointed at the same folder fails loudly instead of destroying the archive.
 */
export function safeArchiveCommand(dir: string): string {
  const d = dir.replace(/\/+$/, '');
  if (!SAFE_PATH.test(d)) throw new Error(`unsafe archive folder ${JSON.stringify(dir)}`);
  return `test ! -f ${d}/%f && cp %p ${d}/%f`;
}

/**
 * The folder an archive_command copies segments into: the folder of its last word ending in `/%f`
 * (`cp %p /var/lib/postgresql/archive/%f`, `test ! -f /a/%f && cp %p /a/%f`, `rsync -a %p "/a/%f"`).
 * Undefined for anything else (a script, an upload tool): then the archive is somewhere we cannot read.
 */
export function archiveDirFromCommand(command: string): string | undefined {
  const words = command.split(/\s+|&&|;|\|/).map((w) => w.replace(/^["']|["']$/g, '')).filter(Boolean);
  const targets = words.filter((w) => w.endsWith('/%f') && w.startsWith('/') && !w.includes('%p'));
  const last = targets[targets.length - 1];
  return last ? path.posix.dirname(last) : undefined;
}

export interface ArchiveLocation {
  /** The folder in the database container. */
  dir: string;
  /** The volume or host folder holding it; undefined: inside the container's own filesystem. */
  mount?: MountedVolume;
  /** The archive's folder relative to the mount's root (`''` when it is the mount itself). */
  relative: string;
  /** In words: `volume pgdata-archive (mounted at /var/lib/postgresql/archive)`. */
  description: string;
}

/** Which mount holds `dir` (the deepest one whose destination contains it). */
export function locateArchive(dir: string, mounts: readonly MountedVolume[]): ArchiveLocation {
  const norm = path.posix.normalize(dir).replace(/\/+$/, '') || '/';
  const holding = mounts
    .filter((m) => norm === m.destination || norm.startsWith(m.destination.replace(/\/+$/, '') + '/'))
    .sort((a, b) => b.destination.length - a.destination.length)[0];
  if (!holding) return { dir: norm, relative: '', description: `inside the container's own filesystem (${norm}): it is lost with the container and cannot be read by a recovery container` };
  const relative = path.posix.relative(holding.destination, norm);
  const what =
    holding.type === 'volume'
      ? `volume ${holding.name ?? holding.source}`
      : holding.type === 'bind'
        ? `host folder ${holding.source}`
        : `${holding.type} mount`;
  return { dir: norm, mount: holding, relative, description: `${what}${relative ? `, folder ${relative}` : ''} (mounted at ${holding.destination})` };
}

/** Whether the archive outlives the container and can be mounted into a recovery container. */
export function archiveReadable(loc: ArchiveLocation): boolean {
  return !!loc.mount && (loc.mount.type === 'volume' || loc.mount.type === 'bind');
}
