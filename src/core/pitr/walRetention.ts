import type { TimeZone } from '../store/calendar';
import { planRetention, withinStart, type RetentionPolicy } from '../store/retention';
import { BASE_FOLDER, type BaseBackupEntry } from './baseStore';
import { WAL_SEGMENT_NAME } from './wal';

/**
 * Which base backups and which archived WAL files `pitr prune` may delete (pure: unit-tested).
 * Base backups follow the same rules as dumps (store/retention.ts, one group per container); a base
 * backup is also kept while the window the user keeps needs it, and the newest is never deleted. WAL
 * older than the start segment of the oldest kept base backup is not needed by any of them.
 */

export interface BaseDecision {
  base: BaseBackupEntry;
  keep: boolean;
  /** Why it is kept (empty when it is deleted). */
  reasons: string[];
}

/** The retention rules over base backups (of one cluster), newest first, with the PITR rules on top. */
export function planBaseRetention(bases: readonly BaseBackupEntry[], policy: RetentionPolicy, options: { now: Date; zone?: TimeZone }): BaseDecision[] {
  const candidates = bases.map((base) => ({ base, path: base.path, time: new Date(base.manifest.consistentAt), container: base.manifest.container, database: BASE_FOLDER }));
  const decided = planRetention(candidates, policy, options).map((d) => ({ base: d.backup.base, keep: d.keep, reasons: [...d.reasons] }));
  decided.sort((a, b) => Date.parse(b.base.manifest.consistentAt) - Date.parse(a.base.manifest.consistentAt) || (a.base.path < b.base.path ? 1 : -1));
  const keep = (d: BaseDecision | undefined, why: string) => {
    if (!d) return;
    d.keep = true;
    d.reasons.push(why);
  };
  if (decided.length && !decided[0].keep) keep(decided[0], 'newest base backup (never deleted)');
  const w = policy.within;
  const newest = decided.find((d) => Date.parse(d.base.manifest.consistentAt) < options.now.getTime());
  if (w && newest && (w.years || w.months || w.days || w.hours)) {
    // Recovering to the start of the kept window needs the newest base backup consistent at or before it.
    const start = withinStart(new Date(newest.base.manifest.consistentAt), w, options.zone);
    const cover = decided.find((d) => Date.parse(d.base.manifest.consistentAt) <= start.getTime());
    if (cover && !cover.keep) keep(cover, `needed to recover to the start of the kept window (${start.toISOString()})`);
  }
  return decided;
}

/** `000000010000000000000002.00000028.backup`: the backup history file pg_basebackup leaves in the archive. */
export const WAL_BACKUP_NAME = /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/;
/** `00000002.history`: a timeline's history (tiny; needed to follow timelines): never deleted. */
export const WAL_HISTORY_NAME = /^[0-9A-F]{8}\.history$/;

export type ArchiveEntryType = 'file' | 'symlink' | 'other';

export interface ArchiveEntry {
  name: string;
  type: ArchiveEntryType;
}

export interface WalPruneDecision {
  /** The start segment of the oldest kept base backup: everything before its position may go. */
  cutoff?: string;
  /** File names to delete (segments and .backup files before the cutoff), oldest first. */
  delete: string[];
  /** Segments kept (at or after the cutoff). */
  segmentsKept: number;
  /** Everything else in the folder, kept, and why. */
  left: { name: string; reason: string }[];
}

/** A segment's position without its timeline (as pg_archivecleanup compares: `TTTTTTTT` dropped). */
const position = (name: string) => name.slice(8, 24);

/**
 * What may be deleted from the archive when `keptStartSegments` (the first WAL file of every base backup
 * that stays) are all that recovery will ever start from: segments and `.backup` files whose position is
 * before the oldest of them, on any timeline. Only regular files with those exact names; never a symlink,
 * a timeline history, or anything else. With no kept base backup, nothing.
 */
export function planWalPrune(entries: readonly ArchiveEntry[], keptStartSegments: readonly string[]): WalPruneDecision {
  const starts = keptStartSegments.filter((s) => WAL_SEGMENT_NAME.test(s));
  const cutoff = starts.length ? starts.reduce((a, b) => (position(b) < position(a) ? b : a)) : undefined;
  const out: WalPruneDecision = { cutoff, delete: [], segmentsKept: 0, left: [] };
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const segment = WAL_SEGMENT_NAME.test(e.name);
    const backup = WAL_BACKUP_NAME.test(e.name);
    if (!segment && !backup) {
      out.left.push({ name: e.name, reason: WAL_HISTORY_NAME.test(e.name) ? 'timeline history (always kept)' : 'not a WAL file name' });
      continue;
    }
    if (e.type !== 'file') {
      out.left.push({ name: e.name, reason: e.type === 'symlink' ? 'a symlink (never deleted through)' : 'not a regular file' });
      continue;
    }
    if (cutoff && position(e.name) < position(cutoff)) out.delete.push(e.name);
    else if (segment) out.segmentsKept++;
    else out.left.push({ name: e.name, reason: cutoff ? 'belongs to a kept base backup or a newer one' : 'no base backup is kept' });
  }
  return out;
}
