import { PgBackupError } from '../errors';
import { addCalendar, isoWeek, localZone, type CalendarFields, type TimeZone } from './calendar';

/** restic's duration: years, months, days and hours (`1y2m3d4h`, any order; `m` is months). */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** restic's `forget` rules. A count of 0 or undefined means the rule is off. */
export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: RetentionDuration;
}

/** One file the planner decides about. Only recognised backups with a known database are ever deleted. */
export interface RetentionCandidate {
  path: string;
  time: Date;
  container?: string;
  database?: string;
  /** The newest verification of this backup passed. */
  verifiedOk?: boolean;
  /** Not a backup this tool recognises (unknown content): never deleted, never counted. */
  unrecognised?: boolean;
  /** Reached through a symlink: never deleted, never counted. */
  symlink?: boolean;
  /** A `.partial` file of a backup being written: never deleted, never counted. */
  partial?: boolean;
}

export interface RetentionDecision<T extends RetentionCandidate = RetentionCandidate> {
  backup: T;
  keep: boolean;
  /** Why it is kept (empty when it is deleted). */
  reasons: string[];
}

export const SUGGESTED_POLICY = '--keep-daily 30 --keep-monthly 12';

const UNITS: Record<string, keyof RetentionDuration> = { y: 'years', m: 'months', d: 'days', h: 'hours' };

/** Parses `1y2m3d4h` (units in any order, each at most once; `m` is months) as restic writes it. */
export function parseRetentionDuration(text: string): RetentionDuration {
  const d: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  const s = text.trim();
  const seen = new Set<string>();
  const re = /(\d+)([a-zA-Z]?)/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    const unit = m?.[2];
    if (!m || !unit || !UNITS[unit] || seen.has(unit)) {
      throw new PgBackupError('usage', `"${text}" is not a duration: write it as restic does, e.g. 1y2m3d4h (y years, m months, d days, h hours, each at most once).`);
    }
    seen.add(unit);
    d[UNITS[unit]] = Number(m[1]);
    i = re.lastIndex;
  }
  if (!s) throw new PgBackupError('usage', 'The duration is empty: write it as restic does, e.g. 1y2m3d4h.');
  return d;
}

/** `1y2m3d4h`, leaving out zero parts (restic's own order). */
export function formatRetentionDuration(d: RetentionDuration): string {
  return (d.years ? `${d.years}y` : '') + (d.months ? `${d.months}m` : '') + (d.days ? `${d.days}d` : '') + (d.hours ? `${d.hours}h` : '') || '0h';
}

function durationIsZero(d: RetentionDuration | undefined): boolean {
  return !d || (!d.years && !d.months && !d.days && !d.hours);
}

export function policyIsEmpty(p: RetentionPolicy): boolean {
  return !(p.last || p.hourly || p.daily || p.weekly || p.monthly || p.yearly) && durationIsZero(p.within);
}

/** The policy in words, e.g. `30 daily, 12 monthly, within 1y`. */
export function describePolicy(p: RetentionPolicy): string {
  const parts = (['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).filter((k) => p[k]).map((k) => `${p[k]} ${k}`);
  if (!durationIsZero(p.within)) parts.push(`within ${formatRetentionDuration(p.within!)} of the newest`);
  return parts.join(', ');
}

/** Refuses a policy without any rule: with none, restic keeps everything; here it is a mistake to point out. */
export function assertPolicy(p: RetentionPolicy): void {
  for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    const n = p[k];
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new PgBackupError('usage', `keep-${k} must be a whole number (got ${n}).`);
  }
  if (policyIsEmpty(p)) {
    throw new PgBackupError('refused', `No retention rule is given, so nothing is pruned: give at least one, e.g. the runbook's policy ${SUGGESTED_POLICY}.`);
  }
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** The period rules: a key per period (equal keys = same period) and a label for the reason. */
const PERIODS = [
  { rule: 'hourly', key: (f: CalendarFields) => `${f.year}-${p2(f.month)}-${p2(f.day)} ${p2(f.hour)}:00` },
  { rule: 'daily', key: (f: CalendarFields) => `${f.year}-${p2(f.month)}-${p2(f.day)}` },
  {
    rule: 'weekly',
    key: (f: CalendarFields) => {
      const w = isoWeek(f.year, f.month, f.day);
      return `${w.year}-W${p2(w.week)}`;
    },
  },
  { rule: 'monthly', key: (f: CalendarFields) => `${f.year}-${p2(f.month)}` },
  { rule: 'yearly', key: (f: CalendarFields) => `${f.year}` },
] as const;

/** Where --keep-within's window starts: `newest` minus the duration, in calendar terms of `zone`. */
export function withinStart(newest: Date, w: RetentionDuration, zone: TimeZone = localZone): Date {
  return new Date(zone.toDate(addCalendar(zone.fields(newest), -w.years, -w.months, -w.days)).getTime() - w.hours * 3_600_000);
}

/** Group key: container and database. */
function groupKey(c: RetentionCandidate): string {
  return JSON.stringify([c.container ?? null, c.database]);
}

function protectedReason(c: RetentionCandidate): string | undefined {
  if (c.symlink) return 'reached through a symlink';
  if (c.partial) return 'partial file of a backup being written';
  if (c.unrecognised) return 'not a backup this tool recognises';
  if (c.database === undefined) return 'database not known';
  return undefined;
}

/**
 * restic's `forget` (0.17+) for one container+database group; `group` is sorted newest first. The period
 * rules keep the newest backup of each of the N most recent periods that have backups; when a rule runs
 * out of backups before N periods, the group's oldest backup is kept as well. `now` bounds the newest
 * backup --keep-within measures from (a backup dated in the future does not count, as in restic).
 */
function decideGroup(group: RetentionCandidate[], policy: RetentionPolicy, zone: TimeZone, now: Date): string[][] {
  const reasons = group.map(() => [] as string[]);
  if (policy.last) for (let i = 0; i < Math.min(policy.last, group.length); i++) reasons[i].push(`last ${i + 1}`);
  const fields = group.map((c) => zone.fields(c.time));
  for (const period of PERIODS) {
    let left = policy[period.rule] ?? 0;
    let previous: string | undefined;
    for (let i = 0; i < group.length && left > 0; i++) {
      const key = period.key(fields[i]);
      if (key !== previous) {
        reasons[i].push(`${period.rule} ${key}`);
        previous = key;
        left--;
      } else if (i === group.length - 1) {
        reasons[i].push(`oldest of a group with fewer ${period.rule} periods than ${policy[period.rule]}`);
        left--;
      }
    }
  }
  if (!durationIsZero(policy.within)) {
    const w = policy.within!;
    const newest = group.find((c) => c.time.getTime() < now.getTime())?.time;
    if (newest) {
      const start = withinStart(newest, w, zone).getTime();
      const label = `within ${formatRetentionDuration(w)}`;
      group.forEach((c, i) => {
        if (c.time.getTime() > start) reasons[i].push(label);
      });
    } else {
      // every backup is dated in the future: restic measures from the zero time, keeping all of them
      group.forEach((_, i) => reasons[i].push(`within ${formatRetentionDuration(w)}`));
    }
  }
  const verified = group.findIndex((c) => c.verifiedOk);
  if (verified >= 0) reasons[verified].push('newest verified backup');
  return reasons;
}

/**
 * Decides for every candidate whether it is kept, and why, applying `policy` per container+database group
 * (groups never affect each other). Pure: no file system, no clock (`now` is passed), the zone injectable.
 * Candidates that are protected (symlink, partial, unrecognised, unknown database) are kept and not counted.
 */
export function planRetention<T extends RetentionCandidate>(
  candidates: readonly T[],
  policy: RetentionPolicy,
  options: { now: Date; zone?: TimeZone },
): RetentionDecision<T>[] {
  assertPolicy(policy);
  const zone = options.zone ?? localZone;
  const decisions = new Map<T, RetentionDecision<T>>();
  const groups = new Map<string, T[]>();
  for (const c of candidates) {
    const why = protectedReason(c);
    if (why) decisions.set(c, { backup: c, keep: true, reasons: [why] });
    else {
      const k = groupKey(c);
      const g = groups.get(k);
      if (g) g.push(c);
      else groups.set(k, [c]);
    }
  }
  for (const group of groups.values()) {
    group.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
    const reasons = decideGroup(group, policy, zone, options.now);
    group.forEach((c, i) => decisions.set(c, { backup: c, keep: reasons[i].length > 0, reasons: reasons[i] }));
  }
  return candidates.map((c) => decisions.get(c)!);
}
