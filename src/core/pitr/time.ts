import { PgBackupError } from '../errors';

/**
 * A recovery target time as a person types it: `2026-11-25 14:03`, `2026-11-25T14:03:00.5`, with an
 * optional offset (`Z`, `+00`, `+0100`, `-05:30`). Without an offset it is this machine's local time
 * (the `zone` of a test can be fixed through TZ).
 */
export function parseTargetTime(text: string): Date {
  const m = /^\s*(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?\s*$/i.exec(text);
  if (!m) {
    throw new PgBackupError('usage', `"${text}" is not a time: write it as YYYY-MM-DD HH:MM[:SS] with an optional offset (e.g. "2026-11-25 14:03:00+00"); without one it is local time.`);
  }
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone] = m;
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new PgBackupError('usage', `"${text}" is not a valid time.`);
  }
  const ms = Number((frac + '000').slice(0, 3));
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
  let date: Date;
  if (!zone) date = new Date(...parts);
  else {
    const utc = Date.UTC(...parts);
    let offsetMin = 0;
    if (!/^(Z|UTC)$/i.test(zone)) {
      const z = /^([+-])(\d\d):?(\d\d)?$/.exec(zone)!;
      offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
    }
    date = new Date(utc - offsetMin * 60_000);
  }
  return date;
}

/** `2026-11-25 14:03:00.000 UTC` */
export function formatUtc(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

/** `2026-11-25 15:03:00.000 +01:00` in this machine's zone. */
export function formatLocal(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)} ${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}

/** Both, for plans: `2026-11-25 14:03:00.000 UTC (local 2026-11-25 15:03:00.000 +01:00)`. */
export function formatBoth(d: Date): string {
  return `${formatUtc(d)} (local ${formatLocal(d)})`;
}

/** The value for recovery_target_time: an ISO time with an explicit +00 offset, read the same in any server zone. */
export function recoveryTargetTime(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}
