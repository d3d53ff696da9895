import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planRuns, type RunState, type Schedule } from '../../src/core/schedule/scheduler';
import { RunnerLock } from '../../src/core/schedule/runnerLock';
import { ScheduleRunner, type Clock } from '../../src/core/schedule/scheduleRunner';

const daily: Schedule = { id: 'nightly', cron: '0 2 * * *', container: '*', database: '*', format: 'sql', pruneAfter: true };
const hourly: Schedule = { id: 'hourly', cron: '15 * * * *', container: 'db', database: 'app', format: 'custom', pruneAfter: false };

/** Local-time dates, as cron reads them. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);

class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.current.getTime() + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** When the pending timers are due. */
  pending(): number[] {
    return this.timers.map((t) => t.at);
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pgdb-sched-'));
}

describe('schedule planner (pure, plain dates)', () => {
  it('does not run a schedule the moment it is added, then runs it at its slot, once', () => {
    let plan = planRuns([daily], {}, at(2026, 3, 10, 1, 0));
    assert.deepEqual(plan.due, []);
    assert.equal(plan.wakeAt?.getTime(), at(2026, 3, 10, 2, 0).getTime());
    plan = planRuns([daily], plan.state, at(2026, 3, 10, 2, 0, 1));
    assert.equal(plan.due.length, 1);
    assert.equal(plan.due[0].slot.getTime(), at(2026, 3, 10, 2, 0).getTime());
    assert.equal(plan.due[0].missed, false);
    const state: RunState = { ...plan.state, nightly: { ...plan.state.nightly, lastSlot: plan.due[0].slot.toISOString() } };
    assert.deepEqual(planRuns([daily], state, at(2026, 3, 10, 2, 0, 30)).due, []);
    assert.deepEqual(planRuns([daily], state, at(2026, 3, 11, 1, 59)).due, []);
    assert.equal(planRuns([daily], state, at(2026, 3, 11, 2, 0)).due.length, 1);
  });

  it('runs a schedule missed while VS Code was closed once at start, not once per missed slot', () => {
    const state: RunState = { nightly: { cron: daily.cron, since: at(2026, 3, 1).toISOString(), lastSlot: at(2026, 3, 2, 2).toISOString() } };
    // five nights missed
    const plan = planRuns([daily, hourly], state, at(2026, 3, 7, 9, 30));
    const due = plan.due.filter((d) => d.schedule.id === 'nightly');
    assert.equal(due.length, 1);
    assert.equal(due[0].missed, true);
    assert.equal(due[0].slot.getTime(), at(2026, 3, 7, 2, 0).getTime(), 'the run stands for the latest missed slot');
    // hourly was never seen before: it starts counting now
    assert.equal(plan.due.some((d) => d.schedule.id === 'hourly'), false);
  });

  it('starts afresh when the cron expression changes, and reports invalid expressions without running them', () => {
    const state: RunState = { nightly: { cron: '0 3 * * *', since: at(2026, 1, 1).toISOString(), lastSlot: at(2026, 3, 1, 3).toISOString() } };
    const plan = planRuns([daily, { ...hourly, cron: '61 * * * *' }], state, at(2026, 3, 5, 12));
    assert.deepEqual(plan.due, []);
    assert.equal(plan.state.nightly.cron, '0 2 * * *');
    const bad = plan.views.find((v) => v.id === 'hourly');
    assert.match(bad?.problem ?? '', /minute 61 is outside 0-59/);
  });
});

describe('runner lock (temp dirs, fake clock)', () => {
  it('lets one holder in; a second waits; release frees it', async () => {
    const dir = tempDir();
    let now = at(2026, 3, 1, 12);
    const a = new RunnerLock({ dir, now: () => now, pid: process.pid });
    const b = new RunnerLock({ dir, now: () => now, pid: process.pid });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(await a.acquire(), true, 'taking it again is fine for the holder');
    const info = JSON.parse(fs.readFileSync(a.file, 'utf8'));
    assert.equal(info.pid, process.pid);
    assert.equal(info.hostname, os.hostname());
    assert.equal(fs.statSync(a.file).mode & 0o777, 0o600);
    now = new Date(now.getTime() + 30_000);
    assert.equal(await a.heartbeat(), true);
    assert.equal(JSON.parse(fs.readFileSync(a.file, 'utf8')).heartbeat, now.toISOString());
    await a.release();
    assert.equal(fs.existsSync(a.file), false);
    assert.equal(await b.acquire(), true);
  });

  it('takes over a lock whose process is dead, and one whose heartbeat is old', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    let now = at(2026, 3, 1, 12);
    const gone = new RunnerLock({ dir, now: () => now, pid: dead });
    assert.equal(await gone.acquire(), true);
    const next = new RunnerLock({ dir, now: () => now });
    assert.equal(await next.acquire(), true, 'the holder process is gone');
    assert.equal(await gone.heartbeat(), false, 'the old holder learns it lost the lock');
    // a live holder (this process, other token) on another machine: only its heartbeat can make it stale
    const remote = new RunnerLock({ dir, now: () => now, hostname: 'other-host', pid: 1 });
    await next.release();
    assert.equal(await remote.acquire(), true);
    const local = new RunnerLock({ dir, now: () => now, staleAfterMs: 90_000 });
    assert.equal(await local.acquire(), false);
    now = new Date(now.getTime() + 89_000);
    assert.equal(await local.acquire(), false);
    now = new Date(now.getTime() + 2_000);
    assert.equal(await local.acquire(), true, 'heartbeat older than 90 s');
    assert.deepEqual(fs.readdirSync(dir), ['runner.lock'], 'nothing left aside');
  });

  it('of many contenders for a stale lock, exactly one wins', async () => {
    const dir = tempDir();
    const now = () => at(2026, 3, 1, 12);
    fs.writeFileSync(path.join(dir, 'runner.lock'), JSON.stringify({ pid: 1, hostname: 'x', heartbeat: at(2026, 3, 1, 11).toISOString(), token: 't' }));
    const locks = Array.from({ length: 8 }, () => new RunnerLock({ dir, now }));
    const won = await Promise.all(locks.map((l) => l.acquire()));
    assert.equal(won.filter(Boolean).length, 1);
  });
});

describe('ScheduleRunner (fake clock, temp state and lock)', () => {
  function setup(start: Date) {
    const dir = tempDir();
    const clock = new FakeClock(start);
    const ran: { id: string; slot: string; missed: boolean }[] = [];
    let fail = false;
    const runner = new ScheduleRunner({
      clock,
      lockDir: dir,
      stateFile: path.join(dir, 'state.json'),
      run: async (s, c) => {
        ran.push({ id: s.id, slot: c.slot.toISOString(), missed: c.missed });
        if (fail) throw new Error('Container db is not running');
      },
    });
    return { dir, clock, ran, runner, failNext: (v: boolean) => (fail = v) };
  }

  it('runs at the slot, records last run and error, and a second window does not run it again', async () => {
    const { dir, clock, ran, runner, failNext } = setup(at(2026, 3, 10, 1, 59));
    runner.setSchedules([daily]);
    runner.start();
    await runner.tick();
    assert.deepEqual(ran, []);
    assert.ok(clock.pending().includes(at(2026, 3, 10, 2, 0).getTime()), 'it wakes at the next slot');
    assert.ok(clock.pending().includes(at(2026, 3, 10, 1, 59, 30).getTime()), 'and renews its lock every 30 s');
    clock.current = at(2026, 3, 10, 2, 0, 0);
    failNext(true);
    await runner.tick();
    assert.deepEqual(ran, [{ id: 'nightly', slot: at(2026, 3, 10, 2).toISOString(), missed: false }]);
    let view = (await runner.views())[0];
    assert.equal(view.lastOk, false);
    assert.equal(view.lastError, 'Container db is not running');
    assert.equal(view.next?.getTime(), at(2026, 3, 11, 2).getTime());

    const other = new ScheduleRunner({ clock, lockDir: dir, stateFile: path.join(dir, 'state.json'), run: async () => assert.fail('the second window must not run') });
    other.setSchedules([daily]);
    await other.tick();
    assert.equal(await other.isLeader(), false);

    clock.current = at(2026, 3, 11, 2, 0, 1);
    failNext(false);
    await runner.tick();
    assert.equal(ran.length, 2);
    view = (await other.views())[0];
    assert.equal(view.lastOk, true);
    assert.equal(view.lastError, undefined);
    await runner.stop();
    await other.tick();
    assert.equal(await other.isLeader(), true, 'the other window takes over once the first stopped');
    await other.stop();
  });

  it('after VS Code was closed for days, runs the missed schedule once at start', async () => {
    const first = setup(at(2026, 3, 10, 12));
    first.runner.setSchedules([daily]);
    await first.runner.tick(); // first seen at noon
    await first.runner.stop();
    // closed for four days
    first.clock.current = at(2026, 3, 14, 9, 0);
    const reopened = new ScheduleRunner({
      clock: first.clock,
      lockDir: first.dir,
      stateFile: path.join(first.dir, 'state.json'),
      run: async (s, c) => {
        first.ran.push({ id: s.id, slot: c.slot.toISOString(), missed: c.missed });
      },
    });
    reopened.setSchedules([daily]);
    reopened.start();
    await reopened.tick();
    await reopened.tick();
    assert.deepEqual(first.ran, [{ id: 'nightly', slot: at(2026, 3, 14, 2).toISOString(), missed: true }]);
    await reopened.stop();
  });
});
