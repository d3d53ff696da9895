import { createHash } from 'node:crypto';
import { CONTAINER_NAME } from '../postgres/discovery';
import type { Schedule } from './scheduler';

/** An entry as a settings file holds it: anything may be missing or of the wrong type. */
export interface ScheduleEntry {
  cron?: unknown;
  container?: unknown;
  database?: unknown;
  format?: unknown;
  pruneAfter?: unknown;
  uploadAfter?: unknown;
}

/**
 * Checks the entries of a schedules setting and gives each a stable id (from what it does, so reordering
 * the list keeps each schedule's last run; two identical entries are one schedule). An entry that cannot be
 * one is left out with a reason; an invalid cron expression is kept (the runner shows its problem).
 */
export function schedulesFromEntries(entries: readonly ScheduleEntry[], defaultFormat: 'sql' | 'custom'): { schedules: Schedule[]; problems: string[] } {
  const schedules: Schedule[] = [];
  const problems: string[] = [];
  entries.forEach((e, i) => {
    const where = `schedule ${i + 1}`;
    if (!e || typeof e !== 'object') return void problems.push(`${where} is not an object`);
    if (typeof e.cron !== 'string' || !e.cron.trim()) return void problems.push(`${where} has no cron expression`);
    const container = e.container === undefined ? '*' : e.container;
    const database = e.database === undefined ? '*' : e.database;
    if (typeof container !== 'string' || (container !== '*' && !CONTAINER_NAME.test(container))) return void problems.push(`${where}: container must be "*" or a container name`);
    if (typeof database !== 'string' || !database) return void problems.push(`${where}: database must be "*" or a database name`);
    const format = e.format === undefined ? defaultFormat : e.format;
    if (format !== 'sql' && format !== 'custom') return void problems.push(`${where}: format must be "sql" or "custom"`);
    const schedule: Omit<Schedule, 'id'> = { cron: e.cron.trim(), container, database, format, pruneAfter: e.pruneAfter === true, uploadAfter: e.uploadAfter === true ? true : undefined };
    const id = createHash('sha256').update(JSON.stringify([schedule.cron, container, database, format, schedule.pruneAfter])).digest('hex').slice(0, 12);
    if (!schedules.some((s) => s.id === id)) schedules.push({ id, ...schedule });
  });
  return { schedules, problems };
}

/** `nightly: every database of every container` style words for a schedule's target. */
export function describeTarget(s: Pick<Schedule, 'container' | 'database'>): string {
  const db = s.database === '*' ? 'every database' : s.database;
  return s.container === '*' ? `${db}${s.database === '*' ? ' of every container' : ' in every container'}` : `${s.container}/${s.database === '*' ? '*' : s.database}`;
}
