import { PgBackupError } from '../errors';

const UNIT_MS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/**
 * A fixed duration such as `26h`, `2d`, `90m`, `1d12h` or `45s` (w weeks, d days, h hours, m minutes,
 * s seconds; each unit at most once, largest first). Unlike prune's --keep-within, `m` is minutes.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') {
    throw new PgBackupError('usage', `${what} must be a duration such as 26h, 2d, 90m or 1d12h (w, d, h, m = minutes, s; got "${text}")`);
  }
  const ms = ['w', 'd', 'h', 'm', 's'].reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * UNIT_MS[unit], 0);
  if (ms <= 0) throw new PgBackupError('usage', `${what} must be longer than zero (got "${text}")`);
  return ms;
}

/** 93784000 → "1d2h3m". */
export function formatAge(ms: number): string {
  const abs = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  const d = Math.floor(abs / 86_400);
  const h = Math.floor((abs % 86_400) / 3600);
  const min = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (min && d === 0) parts.push(`${min}m`);
  if (parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}
