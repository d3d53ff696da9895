import { PgBackupError } from '../errors';
import type { BaseBackupEntry } from './baseStore';
import { formatBoth, parseTargetTime, recoveryTargetTime } from './time';
import { formatLsn, parseLsn } from './wal';
import type { RecoveryTargetSetting } from './recovery';

/** What the user asked to recover to. */
export type PitrTargetRequest = { time: string | Date } | { lsn: string } | { restorePoint: string };

export interface PitrTarget {
  kind: 'time' | 'lsn' | 'name';
  /** ISO time (kind `time`). */
  time?: string;
  lsn?: string;
  name?: string;
  /** In words, for plans and messages (a time in UTC and local time). */
  text: string;
  setting: RecoveryTargetSetting;
}

/** Reads the request: exactly one of time, LSN, restore point. */
export function parseTargetRequest(r: { time?: string | Date; lsn?: string; restorePoint?: string }): PitrTarget {
  const given = [r.time !== undefined, r.lsn !== undefined, r.restorePoint !== undefined].filter(Boolean).length;
  if (given !== 1) throw new PgBackupError('usage', 'Give exactly one recovery target: --time, --lsn or --restore-point.');
  if (r.time !== undefined) {
    const d = r.time instanceof Date ? r.time : parseTargetTime(r.time);
    return { kind: 'time', time: d.toISOString(), text: formatBoth(d), setting: { kind: 'time', value: recoveryTargetTime(d) } };
  }
  if (r.lsn !== undefined) {
    let lsn: bigint;
    try {
      lsn = parseLsn(r.lsn);
    } catch {
      throw new PgBackupError('usage', `"${r.lsn}" is not a WAL position (write it like 0/3000060).`);
    }
    return { kind: 'lsn', lsn: formatLsn(lsn), text: `WAL position ${formatLsn(lsn)}`, setting: { kind: 'lsn', value: formatLsn(lsn) } };
  }
  const name = r.restorePoint!;
  return { kind: 'name', name, text: `restore point "${name}"`, setting: { kind: 'name', value: name } };
}

export interface WindowFacts {
  /** This cluster's base backups, oldest first. */
  bases: readonly BaseBackupEntry[];
  /** The last commit archived (after the forced WAL switch). */
  lastCommit?: { time: Date; lsn: string };
  /** The restore point's position, for a named target (undefined: not in the archive). */
  restorePointLsn?: string;
  now: Date;
}

const refused = (m: string) => new PgBackupError('refused', `${m} Nothing was changed.`);

/**
 * The pure decision: the base backup to start from, or a refusal when the target is outside the
 * recoverable window (before the oldest base backup's end, after the last archived commit, in the future,
 * or a restore point that is not in the archive).
 */
export function chooseBaseBackup(target: PitrTarget, f: WindowFacts): BaseBackupEntry {
  if (!f.bases.length) throw refused('There is no base backup of this cluster in the backup folder: take one with `pg-docker-backup pitr base-backup` (the recoverable window starts at its end).');
  const oldest = f.bases[0];
  const windowText = `${formatBoth(new Date(oldest.manifest.consistentAt))} to ${f.lastCommit ? formatBoth(f.lastCommit.time) : 'the last archived commit'}`;
  if (target.kind === 'time') {
    const t = Date.parse(target.time!);
    if (t < Date.parse(oldest.manifest.consistentAt)) throw refused(`${target.text} is before the recoverable window (${windowText}): the oldest base backup ends later.`);
    if (t > f.now.getTime()) throw refused(`${target.text} is in the future.`);
    if (!f.lastCommit || t > f.lastCommit.time.getTime()) throw refused(`${target.text} is after the last commit in the archived WAL (the window is ${windowText}).`);
    return [...f.bases].reverse().find((b) => Date.parse(b.manifest.consistentAt) <= t)!;
  }
  const lsnText = target.kind === 'lsn' ? target.lsn! : f.restorePointLsn;
  if (lsnText === undefined) throw refused(`There is no ${target.text} in the archived WAL since the oldest base backup.`);
  const lsn = parseLsn(lsnText);
  if (lsn < parseLsn(oldest.manifest.endLsn)) throw refused(`${target.text} (${lsnText}) is before the end of the oldest base backup (${oldest.manifest.endLsn}).`);
  if (f.lastCommit && target.kind === 'lsn' && lsn > parseLsn(f.lastCommit.lsn)) throw refused(`${target.text} is after the last commit in the archived WAL (${f.lastCommit.lsn}).`);
  return [...f.bases].reverse().find((b) => parseLsn(b.manifest.endLsn) <= lsn)!;
}
