import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { RunnerLock, type RunnerLockOptions } from './runnerLock';
import { markFinished, markStarted, planRuns, type RunState, type Schedule, type ScheduleView } from './scheduler';

/** Time and timers, injectable so tests run schedules under a fake clock. */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunContext {
  slot: Date;
  missed: boolean;
  signal: AbortSignal;
}

export interface ScheduleRunnerOptions {
  /** Where the lock file lives (one runner across all VS Code windows of this user). */
  lockDir: string;
  /** JSON file with each schedule's last run (shared by the windows; written by the lock holder only). */
  stateFile: string;
  run: (schedule: Schedule, context: RunContext) => Promise<void>;
  clock?: Clock;
  logger?: Logger;
  /** Called after the state changed (a run started or finished): refresh the tree. */
  onChange?: () => void;
  /** Longest wait between two looks (the clock may jump: sleep, a changed time zone). Default 60 s. */
  maxSleepMs?: number;
  heartbeatMs?: number;
  lock?: Omit<RunnerLockOptions, 'dir' | 'now'>;
}

/**
 * Runs schedules in whichever window holds the lock. `start()` looks at once (so a run missed while VS
 * Code was closed runs now, once) and then wakes at the next slot, or every `maxSleepMs`; a window that
 * does not hold the lock keeps looking, and takes over when the holder's lock goes stale.
 */
export class ScheduleRunner {
  private schedules: Schedule[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly lock: RunnerLock;
  private timer: unknown;
  private heartbeatTimer: unknown;
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private abort = new AbortController();

  constructor(private readonly options: ScheduleRunnerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.lock = new RunnerLock({ ...options.lock, dir: options.lockDir, now: () => this.clock.now() });
  }

  setSchedules(schedules: readonly Schedule[]): void {
    this.schedules = [...schedules];
    if (!this.stopped) this.wake(0);
  }

  start(): void {
    this.stopped = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.wake(0);
  }

  /** Stops timers, cancels a running backup (through its signal) and gives the lock up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.heartbeatTimer);
    this.abort.abort();
    await this.ticking?.catch(() => undefined);
    await this.lock.release().catch(() => undefined);
  }

  async isLeader(): Promise<boolean> {
    return this.lock.held();
  }

  /** Each schedule's next run, last run and last error, from the shared state file (any window). */
  async views(): Promise<ScheduleView[]> {
    return planRuns(this.schedules, await this.readState(), this.clock.now()).views;
  }

  /** One look: take or keep the lock, run what is due, one after the other. Exposed for tests. */
  tick(): Promise<void> {
    this.ticking ??= this.look().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private wake(ms: number): void {
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      void this.tick();
    }, Math.max(0, ms));
  }

  private async look(): Promise<void> {
    let wakeAt: Date | undefined;
    try {
      if (await this.lock.acquire()) {
        this.keepHeartbeat();
        wakeAt = await this.runDue();
      } else {
        wakeAt = planRuns(this.schedules, await this.readState(), this.clock.now()).wakeAt;
      }
    } catch (e) {
      this.log.warn(`schedules: ${errorMessage(e)}`);
    }
    if (this.stopped) return;
    const maxSleep = this.options.maxSleepMs ?? 60_000;
    const ms = wakeAt ? wakeAt.getTime() - this.clock.now().getTime() : maxSleep;
    this.wake(Math.min(maxSleep, ms));
  }

  private keepHeartbeat(): void {
    this.clock.clearTimeout(this.heartbeatTimer);
    if (this.stopped) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      void this.lock.heartbeat().then(
        (ok) => (ok ? this.keepHeartbeat() : this.log.warn('schedules: another window took over the schedule runner')),
        (e) => this.log.warn(`schedules: heartbeat failed: ${errorMessage(e)}`),
      );
    }, this.options.heartbeatMs ?? 30_000);
  }

  private async runDue(): Promise<Date | undefined> {
    const plan = planRuns(this.schedules, await this.readState(), this.clock.now());
    let state = plan.state;
    await this.writeState(state);
    for (const due of plan.due) {
      if (this.stopped || !(await this.lock.held())) break;
      const id = due.schedule.id;
      this.log.info(`schedule ${id}: running the ${due.missed ? 'missed ' : ''}run of ${due.slot.toISOString()}`);
      state = { ...state, [id]: markStarted(state[id], due.slot, this.clock.now()) };
      await this.writeState(state);
      this.options.onChange?.();
      let error: string | undefined;
      try {
        await this.options.run(due.schedule, { slot: due.slot, missed: due.missed, signal: this.abort.signal });
      } catch (e) {
        error = errorMessage(e);
        this.log.warn(`schedule ${id}: ${error}`);
      }
      state = { ...(await this.readState()), [id]: markFinished(state[id], this.clock.now(), error) };
      await this.writeState(state);
      this.options.onChange?.();
    }
    return planRuns(this.schedules, state, this.clock.now()).wakeAt;
  }

  private async readState(): Promise<RunState> {
    try {
      return JSON.parse(await fs.readFile(this.options.stateFile, 'utf8')) as RunState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`schedules: cannot read ${this.options.stateFile}, starting afresh: ${errorMessage(e)}`);
      return {};
    }
  }

  private async writeState(state: RunState): Promise<void> {
    await fs.mkdir(path.dirname(this.options.stateFile), { recursive: true });
    const tmp = `${this.options.stateFile}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    await fs.rename(tmp, this.options.stateFile);
  }
}
