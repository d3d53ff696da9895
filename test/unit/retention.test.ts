import * as assert from 'node:assert/strict';
import { isoWeek, localZone, namedZone, type TimeZone } from '../../src/core/store/calendar';
import { isPgBackupError } from '../../src/core/errors';
import {
  formatRetentionDuration,
  parseRetentionDuration,
  planRetention,
  type RetentionCandidate,
  type RetentionPolicy,
} from '../../src/core/store/retention';

// Every test runs in Berlin (CET/CEST), injected, so that local time really differs from UTC.
const berlin = namedZone('Europe/Berlin');
const utc = namedZone('UTC');
const NOW = new Date('2030-01-01T00:00:00Z');

const p2 = (n: number) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD HH:MM' in the zone → Date. */
function at(local: string, zone: TimeZone = berlin): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(local)!;
  return zone.toDate({ year: +m[1], month: +m[2], day: +m[3], hour: +m[4], minute: +m[5], second: 0, millisecond: 0 });
}

function label(d: Date, zone: TimeZone = berlin): string {
  const f = zone.fields(d);
  return `${f.year}-${p2(f.month)}-${p2(f.day)} ${p2(f.hour)}:${p2(f.minute)}`;
}

function backup(local: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  const time = at(local);
  return { path: `/b/${extra.container ?? 'db1'}/${extra.database ?? 'app'}/${local}`, time, container: 'db1', database: 'app', ...extra };
}

/** One backup a day at `hh:mm` local, from `from` to `to` inclusive (calendar days, local). */
function daily(from: string, to: string, hhmm = '02:00', extra: Partial<RetentionCandidate> = {}): RetentionCandidate[] {
  const out: RetentionCandidate[] = [];
  const [y, m, d] = from.split('-').map(Number);
  for (let i = 0; ; i++) {
    const day = new Date(Date.UTC(y, m - 1, d + i));
    const s = `${day.getUTCFullYear()}-${p2(day.getUTCMonth() + 1)}-${p2(day.getUTCDate())}`;
    out.push(backup(`${s} ${hhmm}`, extra));
    if (s === to) return out;
  }
}

function run(backups: RetentionCandidate[], policy: RetentionPolicy, zone: TimeZone = berlin) {
  const decisions = planRetention(backups, policy, { now: NOW, zone });
  const sorted = [...decisions].sort((a, b) => b.backup.time.getTime() - a.backup.time.getTime());
  return {
    keep: sorted.filter((d) => d.keep).map((d) => label(d.backup.time)),
    delete: sorted.filter((d) => !d.keep).map((d) => label(d.backup.time)),
    reasons: new Map(sorted.map((d) => [label(d.backup.time), d.reasons])),
  };
}

/** The two-year set: one backup a day at 02:00 local, 2024-03-01 … 2026-02-28 (730 backups, leap day included). */
const twoYears = daily('2024-03-01', '2026-02-28');

describe('retention (restic forget rules, local time)', () => {
  it('the two-year set has 730 daily backups (2024-03-01 … 2026-02-28)', () => {
    assert.equal(twoYears.length, 730);
  });

  it('keep-last keeps exactly the N newest', () => {
    const r = run(twoYears, { last: 3 });
    assert.deepEqual(r.keep, ['2026-02-28 02:00', '2026-02-27 02:00', '2026-02-26 02:00']);
    assert.equal(r.delete.length, 727);
    assert.deepEqual(r.reasons.get('2026-02-26 02:00'), ['last 3']);
  });

  it("the runbook's policy (30 daily, 12 monthly) keeps the last 30 days and each month's last backup for a year", () => {
    const r = run(twoYears, { daily: 30, monthly: 12 });
    const days = daily('2026-01-30', '2026-02-28').map((b) => label(b.time)).reverse();
    const months = ['2025-12-31', '2025-11-30', '2025-10-31', '2025-09-30', '2025-08-31', '2025-07-31', '2025-06-30', '2025-05-31', '2025-04-30', '2025-03-31'].map((d) => `${d} 02:00`);
    assert.deepEqual(r.keep, [...days, ...months]);
    assert.equal(r.delete.length, 730 - 40);
    assert.deepEqual(r.reasons.get('2026-02-28 02:00'), ['daily 2026-02-28', 'monthly 2026-02']);
    assert.deepEqual(r.reasons.get('2026-01-31 02:00'), ['daily 2026-01-31', 'monthly 2026-01']);
    assert.deepEqual(r.reasons.get('2025-03-31 02:00'), ['monthly 2025-03']);
  });

  it('keep-weekly keeps the newest of each ISO week (Sunday), keep-yearly the newest of each year', () => {
    assert.deepEqual(run(twoYears, { weekly: 4 }).keep, ['2026-02-28 02:00', '2026-02-22 02:00', '2026-02-15 02:00', '2026-02-08 02:00']);
    assert.deepEqual(run(twoYears, { yearly: 2 }).keep, ['2026-02-28 02:00', '2025-12-31 02:00']);
  });

  it('a rule that finds fewer periods than asked keeps the oldest backup as well (restic 0.17)', () => {
    const r = run(twoYears, { yearly: 5 });
    assert.deepEqual(r.keep, ['2026-02-28 02:00', '2025-12-31 02:00', '2024-12-31 02:00', '2024-03-01 02:00']);
    assert.deepEqual(r.reasons.get('2024-03-01 02:00'), ['oldest of a group with fewer yearly periods than 5']);
    // within one day: two backups a day for three days, 5 daily asked
    const set = [backup('2026-01-03 10:00'), backup('2026-01-02 10:00'), backup('2026-01-02 08:00'), backup('2026-01-01 10:00'), backup('2026-01-01 08:00')];
    assert.deepEqual(run(set, { daily: 5 }).keep, ['2026-01-03 10:00', '2026-01-02 10:00', '2026-01-01 10:00', '2026-01-01 08:00']);
    // enough periods: no extra
    assert.deepEqual(run(set, { daily: 3 }).keep, ['2026-01-03 10:00', '2026-01-02 10:00', '2026-01-01 10:00']);
  });

  it('daily counts only days that have backups', () => {
    const set = [backup('2026-05-08 09:00'), backup('2026-05-05 09:00'), backup('2026-05-03 18:00'), backup('2026-05-03 06:00'), backup('2026-05-02 09:00'), backup('2026-04-20 09:00')];
    const r = run(set, { daily: 4 });
    assert.deepEqual(r.keep, ['2026-05-08 09:00', '2026-05-05 09:00', '2026-05-03 18:00', '2026-05-02 09:00']);
    assert.deepEqual(r.delete, ['2026-05-03 06:00', '2026-04-20 09:00']);
  });

  it('hourly keeps the newest backup of each of the N most recent hours', () => {
    const set = ['10:40', '10:20', '10:00', '09:40', '09:00', '07:59', '07:10', '06:00'].map((t) => backup(`2026-06-01 ${t}`));
    assert.deepEqual(run(set, { hourly: 3 }).keep, ['2026-06-01 10:40', '2026-06-01 09:40', '2026-06-01 07:59']);
  });

  it('ISO week 53: 2020-12-28 … 2021-01-03 is one week (2020-W53)', () => {
    assert.deepEqual(isoWeek(2020, 12, 31), { year: 2020, week: 53 });
    assert.deepEqual(isoWeek(2021, 1, 3), { year: 2020, week: 53 });
    assert.deepEqual(isoWeek(2021, 1, 4), { year: 2021, week: 1 });
    assert.deepEqual(isoWeek(2024, 12, 30), { year: 2025, week: 1 });
    const set = ['2021-01-11', '2021-01-10', '2021-01-04', '2021-01-03', '2020-12-31', '2020-12-28', '2020-12-27'].map((d) => backup(`${d} 12:00`));
    const r = run(set, { weekly: 3 });
    assert.deepEqual(r.keep, ['2021-01-11 12:00', '2021-01-10 12:00', '2021-01-03 12:00']);
    assert.deepEqual(r.reasons.get('2021-01-03 12:00'), ['weekly 2020-W53']);
    assert.deepEqual(r.delete, ['2021-01-04 12:00', '2020-12-31 12:00', '2020-12-28 12:00', '2020-12-27 12:00']);
  });

  it('months are local: a backup at 00:30 on the 1st belongs to the new month, not to the UTC one', () => {
    // 00:30 Berlin on the 1st is 22:30/23:30 UTC on the last day of the month before
    const set = ['2026-04-01 00:30', '2026-03-31 12:00', '2026-03-01 00:30', '2026-02-28 12:00', '2026-02-01 00:30', '2026-01-31 12:00'].map((d) => backup(d));
    assert.deepEqual(run(set, { monthly: 3 }).keep, ['2026-04-01 00:30', '2026-03-31 12:00', '2026-02-28 12:00']);
    // read in UTC the same files fall into other months: proof that the zone is really used
    assert.deepEqual(run(set, { monthly: 3 }, utc).keep, ['2026-04-01 00:30', '2026-03-01 00:30', '2026-02-01 00:30']);
  });

  it('leap day 2024-02-29 is a day of its own, and 1y before it is 2023-03-01', () => {
    const days = daily('2024-02-27', '2024-03-02', '12:00');
    assert.deepEqual(run(days, { daily: 3 }).keep, ['2024-03-02 12:00', '2024-03-01 12:00', '2024-02-29 12:00']);
    const set = [backup('2024-02-29 12:00'), backup('2023-03-01 13:00'), backup('2023-03-01 12:00'), backup('2023-02-28 12:00')];
    const r = run(set, { within: parseRetentionDuration('1y') });
    assert.deepEqual(r.keep, ['2024-02-29 12:00', '2023-03-01 13:00']);
    assert.deepEqual(r.reasons.get('2023-03-01 13:00'), ['within 1y']);
  });

  it('DST end: 02:30 CEST and 02:30 CET are the same local hour, so hourly keeps only the later one', () => {
    const set = ['2026-10-25T02:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T00:30:00Z', '2026-10-24T23:30:00Z'].map((iso) => ({
      path: `/b/${iso}`,
      time: new Date(iso),
      container: 'db1',
      database: 'app',
    }));
    const kept = (zone: TimeZone) => planRetention(set, { hourly: 3 }, { now: NOW, zone }).filter((d) => d.keep).map((d) => d.backup.time.toISOString());
    assert.deepEqual(kept(berlin), ['2026-10-25T02:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-24T23:30:00.000Z']);
    assert.deepEqual(kept(utc), ['2026-10-25T02:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T00:30:00.000Z']);
  });

  it('DST start: --keep-within 1d goes back one calendar day (23 h), 24h goes back 24 hours', () => {
    // 2026-03-29 has 23 hours in Berlin; newest at 12:00 CEST = 10:00Z
    const set = [backup('2026-03-29 12:00'), backup('2026-03-28 11:30'), backup('2026-03-28 12:30')];
    assert.deepEqual(run(set, { within: parseRetentionDuration('1d') }).keep, ['2026-03-29 12:00', '2026-03-28 12:30']);
    assert.deepEqual(run(set, { within: parseRetentionDuration('24h') }).keep, ['2026-03-29 12:00', '2026-03-28 12:30', '2026-03-28 11:30']);
  });

  it('keep-within months subtracts on the calendar as restic (Go AddDate) does: 2026-03-31 minus 1m is 2026-03-03', () => {
    const set = daily('2026-02-25', '2026-03-31', '12:00');
    const r = run(set, { within: parseRetentionDuration('1m') });
    assert.deepEqual(r.keep, daily('2026-03-04', '2026-03-31', '12:00').map((b) => label(b.time)).reverse());
    assert.equal(r.delete[0], '2026-03-03 12:00');
    // from the 30th: 2026-02-30 is 2026-03-02
    const r2 = run(daily('2026-02-25', '2026-03-30', '12:00'), { within: parseRetentionDuration('1m') });
    assert.equal(r2.keep.at(-1), '2026-03-03 12:00');
    // 1y2m from 2026-05-15 12:00 is 2025-03-15 12:00
    const r3 = run([backup('2026-05-15 12:00'), backup('2025-03-15 12:30'), backup('2025-03-15 11:30')], { within: parseRetentionDuration('2m1y') });
    assert.deepEqual(r3.keep, ['2026-05-15 12:00', '2025-03-15 12:30']);
    assert.deepEqual(r3.reasons.get('2025-03-15 12:30'), ['within 1y2m']);
  });

  it('keep-within measures from the newest backup that is not in the future', () => {
    const set = [backup('2031-01-01 12:00'), backup('2026-01-10 12:00'), backup('2026-01-08 12:00'), backup('2026-01-05 12:00')];
    assert.deepEqual(run(set, { within: parseRetentionDuration('3d') }).keep, ['2031-01-01 12:00', '2026-01-10 12:00', '2026-01-08 12:00']);
  });

  it('one backup may satisfy several rules, and is listed once with every reason', () => {
    const r = run(twoYears, { last: 1, daily: 1, weekly: 1, monthly: 1, yearly: 1, within: parseRetentionDuration('1d') });
    // within is strictly newer than newest − 1d: the backup exactly one day older goes
    assert.deepEqual(r.keep, ['2026-02-28 02:00']);
    assert.deepEqual(r.reasons.get('2026-02-28 02:00'), ['last 1', 'daily 2026-02-28', 'weekly 2026-W09', 'monthly 2026-02', 'yearly 2026', 'within 1d']);
  });

  it('groups (container + database) never affect each other', () => {
    const a = daily('2026-01-01', '2026-02-09', '02:00');
    const b = [backup('2025-11-01 02:00', { database: 'other' })];
    const c = [backup('2025-10-01 02:00', { container: 'db2' }), backup('2025-09-01 02:00', { container: 'db2' })];
    const decisions = planRetention([...a, ...b, ...c], { daily: 30 }, { now: NOW, zone: berlin });
    const keptOf = (pred: (x: RetentionCandidate) => boolean) => decisions.filter((d) => d.keep && pred(d.backup)).map((d) => label(d.backup.time));
    assert.equal(keptOf((x) => x.container === 'db1' && x.database === 'app').length, 30);
    assert.deepEqual(keptOf((x) => x.database === 'other'), ['2025-11-01 02:00']);
    assert.deepEqual(keptOf((x) => x.container === 'db2'), ['2025-10-01 02:00', '2025-09-01 02:00']);
    // the same set planned alone gives the same answer for `app` in db1
    assert.deepEqual(run(a, { daily: 30 }).keep, keptOf((x) => x.container === 'db1' && x.database === 'app').reverse());
  });

  it('the newest backup that passed verification is kept even when no rule keeps it', () => {
    const set = [
      backup('2026-01-05 02:00'),
      backup('2026-01-04 02:00', { verifiedOk: false }),
      backup('2026-01-03 02:00', { verifiedOk: true }),
      backup('2026-01-02 02:00'),
      backup('2026-01-01 02:00', { verifiedOk: true }),
    ];
    const r = run(set, { last: 1 });
    assert.deepEqual(r.keep, ['2026-01-05 02:00', '2026-01-03 02:00']);
    assert.deepEqual(r.reasons.get('2026-01-03 02:00'), ['newest verified backup']);
  });

  it('a non-backup file, a symlink, a .partial and a file of unknown database are never deleted nor counted', () => {
    const set = [
      backup('2026-01-09 02:00', { symlink: true }),
      backup('2026-01-08 02:00', { unrecognised: true }),
      backup('2026-01-07 02:00', { partial: true }),
      backup('2026-01-06 02:00', { database: undefined }),
      backup('2026-01-05 02:00'),
      backup('2026-01-04 02:00'),
    ];
    const r = run(set, { last: 1 });
    assert.deepEqual(r.keep, ['2026-01-09 02:00', '2026-01-08 02:00', '2026-01-07 02:00', '2026-01-06 02:00', '2026-01-05 02:00']);
    assert.deepEqual(r.delete, ['2026-01-04 02:00']);
    assert.deepEqual(r.reasons.get('2026-01-09 02:00'), ['reached through a symlink']);
    assert.deepEqual(r.reasons.get('2026-01-08 02:00'), ['not a backup this tool recognises']);
  });

  it('no rule at all is refused with the runbook policy as the suggestion', () => {
    for (const policy of [{}, { daily: 0 }, { within: parseRetentionDuration('0d') }]) {
      assert.throws(
        () => planRetention(twoYears, policy, { now: NOW, zone: berlin }),
        (e: unknown) => isPgBackupError(e, 'refused') && /--keep-daily 30 --keep-monthly 12/.test(e.message),
      );
    }
  });

  it("parses restic's durations in any order and rejects anything else", () => {
    assert.deepEqual(parseRetentionDuration('1y2m3d4h'), { years: 1, months: 2, days: 3, hours: 4 });
    assert.deepEqual(parseRetentionDuration('4h3d'), { years: 0, months: 0, days: 3, hours: 4 });
    assert.equal(formatRetentionDuration(parseRetentionDuration('5d1y')), '1y5d');
    for (const bad of ['', '1w', '5', 'd', '1d1d', '-1d', '1.5d', '1 d']) {
      assert.throws(() => parseRetentionDuration(bad), (e: unknown) => isPgBackupError(e, 'usage'), bad);
    }
  });

  it('the local zone reads the calendar the way Date does', () => {
    const d = new Date('2026-07-01T12:34:56.789Z');
    const f = localZone.fields(d);
    assert.equal(localZone.toDate(f).getTime(), d.getTime());
    assert.equal(berlin.toDate(berlin.fields(d)).getTime(), d.getTime());
    assert.equal(berlin.fields(d).hour, 14);
  });
});
