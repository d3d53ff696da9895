import { nextRun, parseCron, previousRun } from './cronExpression';

/** One entry of `pgDockerBackup.schedules`. */
export interface Schedule {
  id: string;
  cron: string;
  /** A container name, or `*` for every discovered running Postgres container. */
  container: string;
  /** A database name, or `*` for every database of the container. */
  database: string;
  format: 'sql' | 'custom';
  /** Prune after the backup with the configured retention rules. */
  pruneAfter: boolean;
  uploadAfter?: boolean;
}

/** What the runner remembers about one schedule (kept in the state file, by schedule id). */
export interface RunRecord {
  /** The cron expression the record belongs to; a changed expression starts afresh. */
  cron: string;
  /** When the runner first saw this schedule: slots before it are not "missed". */
  since: string;
  /** The slot the last run was for (ISO). */
  lastSlot?: string;
  lastStarted?: string;
  lastFinished?: string;
  lastOk?: boolean;
  lastError?: string;
}

export type RunState = Record<string, RunRecord>;

export interface DueRun {
  schedule: Schedule;
  /** The scheduled time this run stands for. */
  slot: Date;
  /** The slot passed while no runner was there (VS Code closed, machine asleep): it runs once, late. */
  missed: boolean;
}

export interface ScheduleView {
  id: string;
  next?: Date;
  lastRun?: Date;
  lastOk?: boolean;
  lastError?: string;
  /** Why the schedule cannot run (an invalid cron expression). */
  problem?: string;
}

export interface Plan {
  due: DueRun[];
  /** State with records for new or changed schedules (the caller persists it). */
  state: RunState;
  views: ScheduleView[];
  /** When to look again: the earliest next slot (undefined: nothing scheduled). */
  wakeAt?: Date;
}

/** A slot later than this after its time counts as missed (the timer fires within a second or two). */
export const MISSED_AFTER_MS = 60_000;

/**
 * Decides which schedules are due at `now`. A schedule is due when its latest slot at or before `now`
 * is later than the slot of its last run (or than when it was first seen): however many slots passed
 * while nothing ran, that is one run, marked `missed` when it is late. A new or changed schedule only
 * starts counting from `now`; it does not run at once. Pure: no clock, no files.
 */
export function planRuns(schedules: readonly Schedule[], state: RunState, now: Date): Plan {
  const next: RunState = { ...state };
  const due: DueRun[] = [];
  const views: ScheduleView[] = [];
  let wakeAt: Date | undefined;
  for (const schedule of schedules) {
    let record = next[schedule.id];
    try {
      parseCron(schedule.cron);
    } catch (e) {
      views.push({ id: schedule.id, problem: (e as Error).message });
      continue;
    }
    if (!record || record.cron !== schedule.cron) {
      record = { ...(record ?? {}), cron: schedule.cron, since: now.toISOString(), lastSlot: undefined };
      next[schedule.id] = record;
    }
    const slot = previousRun(schedule.cron, now);
    const baseline = Math.max(Date.parse(record.since), record.lastSlot ? Date.parse(record.lastSlot) : -Infinity);
    if (slot && slot.getTime() > baseline) due.push({ schedule, slot, missed: now.getTime() - slot.getTime() > MISSED_AFTER_MS });
    const upcoming = nextRun(schedule.cron, now);
    if (upcoming && (!wakeAt || upcoming < wakeAt)) wakeAt = upcoming;
    views.push({
      id: schedule.id,
      next: upcoming,
      lastRun: record.lastStarted ? new Date(record.lastStarted) : undefined,
      lastOk: record.lastOk,
      lastError: record.lastError,
    });
  }
  return { due, state: next, views, wakeAt };
}

/** The record after a run of `slot` started. */
export function markStarted(record: RunRecord, slot: Date, at: Date): RunRecord {
  return { ...record, lastSlot: slot.toISOString(), lastStarted: at.toISOString(), lastFinished: undefined };
}

/** The record after the run finished (error: its one-line message). */
export function markFinished(record: RunRecord, at: Date, error?: string): RunRecord {
  return { ...record, lastFinished: at.toISOString(), lastOk: error === undefined, lastError: error };
}
