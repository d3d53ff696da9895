/**
 * Issue 8, faults: the CLI killed (-9) during a backup and during a parallel restore, two operations on
 * one database at once, the container's disk filling during a parallel restore's copy, an app container
 * that does not come back after the swap, and, on a second Docker engine (scripts/docker2.sh) so that the
 * main engine is never disturbed, dockerd restarting and the database container stopping mid-operation.
 * Each test asserts what the user sees: the live database's content, the files left, the containers'
 * states and the message.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DockerClient } from '../../src/core/docker/client';
import { startPostgresContainer } from '../../src/core/docker/postgresContainer';
import { DOCKER2_HOST, docker2, docker2Env, restartDocker2, startDocker2, stopDocker2IfStartedHere } from './docker2';
import {
  cleanup,
  cli,
  databases,
  docker,
  fingerprint,
  loadChinook,
  requireDocker,
  sql,
  startPostgres,
  tempDir,
  track,
  uniqueName,
  waitFor,
  IMAGE_NEW,
  type CliRun,
  type PgTestContainer,
} from './harness';

/** The docker CLI, for the few `docker create` / `docker update` options the product's client has no need of. */
async function dockerCli(args: string[], host?: string): Promise<string> {
  const { stdout } = await promisify(execFile)('docker', [...(host ? ['--host', host] : []), ...args]);
  return stdout.trim();
}

const engineOf = (pg: PgTestContainer): DockerClient => pg.engine ?? docker();

async function sh(pg: PgTestContainer, script: string, ...args: string[]): Promise<string> {
  const r = await engineOf(pg).exec(pg.name, ['sh', '-c', script, 'sh', ...args]);
  if (r.exitCode !== 0) throw new Error(`${script} in ${pg.name} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** `pgbench -i -s scale` into a new database (about 15 MB per unit of scale). */
async function pgbenchInit(pg: PgTestContainer, database: string, scale: number): Promise<void> {
  await sql(pg, 'postgres', `CREATE DATABASE ${database}`);
  await sh(pg, 'pgbench -i -q -s "$1" -U "$2" "$3" 2>&1', String(scale), pg.user, database);
}

async function scratchDatabases(pg: PgTestContainer): Promise<string[]> {
  return (await databases(pg)).filter((d) => d.includes('__restoring_'));
}

async function copiedArchives(pg: PgTestContainer, dir = '/tmp'): Promise<string[]> {
  return (await sh(pg, 'ls -1 "$1" | grep "^pg-docker-backup-restore-" || true', dir)).split('\n').filter(Boolean);
}

/** Sessions in the scratch databases (a running pg_restore's). */
/** Whether a pg_restore process still runs in the container (a killed CLI's orphan). */
async function pgRestoreRunning(pg: PgTestContainer): Promise<boolean> {
  const r = await engineOf(pg).exec(pg.name, ['sh', '-c', 'for c in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$c" 2>/dev/null | grep -q "^pg_restore" && echo yes; done; true']);
  return r.stdout.includes('yes');
}

async function scratchSessions(pg: PgTestContainer): Promise<number> {
  return Number((await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname LIKE '%\\_\\_restoring\\_%'`)).trim());
}

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).sort();
}

/** Starts the CLI; resolves its pid at once and its run when it ends. */
function startCli(args: string[], env: Record<string, string | undefined> = {}): { pid: Promise<number>; done: Promise<CliRun> } {
  let pidOf: (p: number) => void = () => undefined;
  const pid = new Promise<number>((r) => (pidOf = r));
  const done = cli(args, env, { onSpawn: pidOf });
  return { pid, done };
}

async function kill9(run: { pid: Promise<number>; done: Promise<CliRun> }): Promise<CliRun> {
  process.kill(await run.pid, 'SIGKILL');
  return run.done;
}

const oneLine = (r: CliRun) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/**
 * Waits (busy) for the copied archive to appear in /tmp (the restore has checked there is room), pauses the
 * copying process, allocates all the free space there and lets the copy go on into a full disk.
 */
const FILL_WHEN_COPY_BEGINS = [
  'end=$(( $(date +%s) + 60 ))',
  'until ls /tmp/pg-docker-backup-restore-* >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || { echo "no copy began" >&2; exit 1; }; done',
  'pkill -STOP -x cat',
  'avail=$(df -Pk /tmp | awk \'NR==2 {print $4}\')',
  'fallocate -l "$(( (avail - 256) * 1024 ))" /tmp/filler',
  'pkill -CONT -x cat',
  'df -Pk /tmp | awk \'NR==2 {print "free after filling: " $4 " KiB"}\'',
].join('\n');

describe('faults: the CLI killed, two operations at once, a full disk (main engine)', function () {
  let pg: PgTestContainer;
  let dir: string;
  let archive: string;
  let restoredState: Awaited<ReturnType<typeof fingerprint>>;
  let liveState: Awaited<ReturnType<typeof fingerprint>>;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('faults-db');
    await pgbenchInit(pg, 'bench', 8);
    dir = await tempDir('faults');
    // An uncompressed custom archive (~125 MB): slow enough to be caught mid-restore.
    const b = await cli(['backup', pg.name, '--database', 'bench', '--format', 'custom', '--compression', '0', '--dir', dir, '--json']);
    assert.equal(b.code, 0, oneLine(b));
    archive = String(b.json!.path);
    restoredState = await fingerprint(pg, 'bench');
    // The live database moves on after the backup: a restore that went through would show.
    await sql(pg, 'bench', 'UPDATE pgbench_branches SET bbalance = bbalance + 42; INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES (1, 1, 1, 42)');
    liveState = await fingerprint(pg, 'bench');
    assert.notDeepEqual(liveState, restoredState);
  });
  after(cleanup);

  it('kill -9 during a backup leaves only a .partial, which a listing and the next backup remove', async function () {
    const out = await tempDir('faults-kill-backup');
    const hasPartial = async () => (await filesUnder(out)).filter((f) => f.endsWith('.partial'));
    let run = startCli(['backup', pg.name, '--database', 'bench', '--dir', out]);
    await waitFor('the backup to write its partial file', async () => (await hasPartial()).length > 0, 30000);
    let r = await kill9(run);
    assert.notEqual(r.code, 0);
    const left = await filesUnder(out);
    assert.equal(left.length, 1, `only the partial file is left: ${left.join(', ')}`);
    assert.match(left[0], new RegExp(`\\.${await run.pid}@[^/]+\\.partial$`), 'named after the killed process and host');

    const listing = await cli(['backups', '--dir', out, '--json']);
    assert.equal(listing.code, 0, oneLine(listing));
    assert.deepEqual((listing.json!.backups as unknown[]).length, 0, 'a partial file is not listed as a backup');
    assert.deepEqual(await hasPartial(), [], 'the listing removed the dead backup’s partial file');

    run = startCli(['backup', pg.name, '--database', 'bench', '--dir', out]);
    await waitFor('the second backup’s partial file', async () => (await hasPartial()).length > 0, 30000);
    r = await kill9(run);
    assert.equal((await hasPartial()).length, 1);
    const next = await cli(['backup', pg.name, '--database', 'bench', '--dir', out, '--json']);
    assert.equal(next.code, 0, oneLine(next));
    const files = await filesUnder(out);
    assert.deepEqual(files.filter((f) => f.endsWith('.partial')), [], 'the next backup into that folder removed the partial file');
    assert.deepEqual(files.map((f) => path.basename(f)).sort(), [path.basename(String(next.json!.path)), `${path.basename(String(next.json!.path))}.json`].sort());
  });

  it('kill -9 during a parallel restore: live database intact; cleanup leaves the scratch database and archive while pg_restore runs, removes them after', async function () {
    const run = startCli(['restore', archive, '--to', pg.name, '--database', 'bench', '--jobs', '2', '--yes']);
    await waitFor('pg_restore to work in the scratch database', async () => (await scratchSessions(pg)) >= 2, 60000);
    // Hold pgbench_accounts (the biggest table) so that the orphaned pg_restore cannot finish before cleanup
    // looks: however fast the machine, it still runs then. Released further down.
    const [loading] = await scratchDatabases(pg);
    const holdInput = new PassThrough();
    const holder = docker().exec(pg.name, ['psql', '-X', '-q', '-U', pg.user, '-d', loading], { stdin: holdInput, env: { PGPASSWORD: pg.password, PGAPPNAME: 'test-holder' } });
    holdInput.write('BEGIN;\nLOCK TABLE public.pgbench_accounts IN ACCESS EXCLUSIVE MODE;\n');
    await waitFor('the test to hold pgbench_accounts', async () => (await sql(pg, 'postgres', `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = 'test-holder' AND l.mode = 'AccessExclusiveLock' AND l.granted`)).trim() !== '0', 60000);
    await kill9(run);
    const [scratch] = await scratchDatabases(pg);
    assert.ok(scratch, 'the killed restore left its scratch database');
    const [copied] = await copiedArchives(pg);
    assert.ok(copied, 'and its copied archive');
    assert.ok((await scratchSessions(pg)) > 0, 'the orphaned pg_restore still runs (else this test proves nothing)');

    const busy = await cli(['cleanup', pg.name, '--database', 'bench', '--yes', '--json']);
    assert.equal(busy.code, 0, oneLine(busy));
    const stillRunning = (await scratchSessions(pg)) > 0;
    assert.ok(stillRunning, 'pg_restore was still running during cleanup (raise the scale if this fails)');
    assert.deepEqual(await scratchDatabases(pg), [scratch], 'cleanup left the scratch database in use');
    assert.deepEqual(await copiedArchives(pg), [copied], 'cleanup left the archive in use');
    assert.ok(JSON.stringify(busy.json).includes(scratch), `cleanup says the scratch database is in use: ${busy.stdout}`);
    assert.deepEqual(await fingerprint(pg, 'bench'), liveState, 'the live database is intact');

    holdInput.end(); // the held table goes; the orphaned pg_restore runs to its end
    await holder;
    await waitFor('the orphaned pg_restore to end', async () => (await scratchSessions(pg)) === 0 && !(await pgRestoreRunning(pg)), 120000);
    const done = await cli(['cleanup', pg.name, '--database', 'bench', '--yes', '--json']);
    assert.equal(done.code, 0, oneLine(done));
    assert.deepEqual(await scratchDatabases(pg), [], 'cleanup dropped the scratch database');
    assert.deepEqual(await copiedArchives(pg), [], 'cleanup removed the copied archive');
    const removed = (done.json!.removed as string[]).join(' ');
    assert.ok(removed.includes(scratch) && removed.includes(copied), `cleanup names what it removed: ${done.stdout}`);
    assert.deepEqual(await fingerprint(pg, 'bench'), liveState, 'the live database is still intact');
  });

  it('the next restore removes what a killed one left; a second restore and a reset meanwhile are refused naming the first', async function () {
    const killed = startCli(['restore', archive, '--to', pg.name, '--database', 'bench', '--jobs', '2', '--yes']);
    await waitFor('pg_restore to work in the scratch database', async () => (await scratchSessions(pg)) >= 2, 60000);
    await kill9(killed);
    const [leftScratch] = await scratchDatabases(pg);
    const [leftArchive] = await copiedArchives(pg);
    assert.ok(leftScratch && leftArchive);
    await waitFor('the orphaned pg_restore to end', async () => (await scratchSessions(pg)) === 0 && !(await pgRestoreRunning(pg)), 120000);

    const first = startCli(['restore', archive, '--to', pg.name, '--database', 'bench', '--jobs', '2', '--yes', '--json']);
    const firstPid = await first.pid;
    await waitFor('the new restore to hold its lock', async () => (await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg-docker-backup: restore%'`)).trim() === '1', 30000);
    const second = await cli(['restore', archive, '--to', pg.name, '--database', 'bench', '--yes']);
    assert.equal(second.code, 2, oneLine(second));
    assert.match(second.stderr, /restore of "bench"/, `the refusal names the running restore: ${second.stderr}`);
    assert.match(second.stderr, new RegExp(`pid ${firstPid}\\b`), 'and its process');
    const reset = await cli(['reset', pg.name, '--database', 'bench', '--no-safety-backup', '--yes']);
    assert.equal(reset.code, 2, oneLine(reset));
    assert.match(reset.stderr, /restore of "bench"/, `the reset’s refusal names the running restore: ${reset.stderr}`);

    const r = await first.done;
    assert.equal(r.code, 0, oneLine(r));
    assert.deepEqual(await fingerprint(pg, 'bench'), restoredState, 'the first restore went through');
    const dbs = await databases(pg);
    assert.ok(!dbs.includes(leftScratch), `the killed restore’s scratch database was dropped by the next restore: ${oneLine(r)}`);
    assert.deepEqual(await scratchDatabases(pg), []);
    assert.deepEqual(await copiedArchives(pg), [], 'no copied archive is left');
    // Back to the state the other tests expect.
    const back = await cli(['restore', '--undo', pg.name, '--database', 'bench', '--yes']);
    assert.equal(back.code, 0, oneLine(back));
    assert.deepEqual(await fingerprint(pg, 'bench'), liveState);
  });

  describe('the container’s disk fills during a parallel restore’s copy', function () {
    async function tmpfsContainer(base: string, sizeBytes: number): Promise<PgTestContainer> {
      const name = uniqueName(base);
      const [user, password] = ['agent_eval', 'secret'];
      track(name);
      await dockerCli(['create', '--name', name, '--tmpfs', `/tmp:size=${sizeBytes}`, '-e', `POSTGRES_USER=${user}`, '-e', `POSTGRES_PASSWORD=${password}`, IMAGE_NEW]);
      const { id } = await startPostgresContainer(docker(), { name, image: IMAGE_NEW, reuse: true });
      const c: PgTestContainer = { name, id, user, password, target: { container: id, containerName: name, user, password } };
      await pgbenchInit(c, 'bench', 1);
      return c;
    }

    it('a /tmp too small for the archive: streams with one job instead and says so', async function () {
      const small = await tmpfsContainer('faults-tmp20m', 20 * 1024 * 1024);
      const r = await cli(['restore', archive, '--to', small.name, '--database', 'bench', '--jobs', '2', '--yes', '--json']);
      assert.equal(r.code, 0, oneLine(r));
      assert.match(JSON.stringify(r.json!.warnings), /one job|stream/i, 'the fallback is reported');
      assert.deepEqual(await fingerprint(small, 'bench'), restoredState, 'the backup was restored');
      assert.deepEqual(await copiedArchives(small), []);
      assert.deepEqual(await scratchDatabases(small), []);
    });

    it('/tmp fills up while the archive is being copied: falls back or fails clearly, live database intact, nothing left', async function () {
      const size = (await fs.stat(archive)).size;
      const c = await tmpfsContainer('faults-tmpfill', size + 1024 * 1024 * 1024 + 64 * 1024 * 1024);
      const before = await fingerprint(c, 'bench');
      // Another process in the container takes all the free space the moment the copy has begun (after the
      // restore checked there was room).
      const filler = engineOf(c).exec(c.name, ['sh', '-c', FILL_WHEN_COPY_BEGINS]);
      const r = await cli(['restore', archive, '--to', c.name, '--database', 'bench', '--jobs', '2', '--yes', '--json']);
      const filled = await filler;
      assert.equal(filled.exitCode, 0, `the disk was filled during the copy: ${filled.stdout} ${filled.stderr}`);
      await engineOf(c).exec(c.name, ['rm', '-f', '/tmp/filler']);
      console.log(`      ${filled.stdout.trim()}; the restore: exit ${r.code} ${r.code === 0 ? JSON.stringify(r.json?.warnings) : r.stderr.trim()}`);
      if (r.code === 0) {
        assert.deepEqual(await fingerprint(c, 'bench'), restoredState, 'fell back and restored the backup');
        assert.match(JSON.stringify(r.json!.warnings), /one job|stream/i, 'and said it fell back');
      } else {
        assert.equal(r.code, 1, oneLine(r));
        assert.match(r.stderr, /space|full|No space/i, `the error says the disk is full: ${r.stderr}`);
        assert.deepEqual(await fingerprint(c, 'bench'), before, 'the live database is intact');
      }
      assert.deepEqual(await copiedArchives(c), [], 'no copied archive is left');
      assert.deepEqual(await scratchDatabases(c), [], 'no scratch database is left');
    });
  });
});

describe('faults: an app container that does not come back after the swap', function () {
  let pg: PgTestContainer;
  let backup: string;
  let original: Awaited<ReturnType<typeof fingerprint>>;
  const project = { 'com.docker.compose.project': uniqueName('appfail') };

  before(async function () {
    await requireDocker();
    pg = await startPostgres('appfail-db', { labels: { ...project, 'com.docker.compose.service': 'db' } });
    await loadChinook(pg);
    const dir = await tempDir('appfail');
    const b = await cli(['backup', pg.name, '--database', 'chinook', '--dir', dir, '--json']);
    assert.equal(b.code, 0, oneLine(b));
    backup = String(b.json!.path);
    original = await fingerprint(pg, 'chinook');
  });
  after(cleanup);

  async function app(base: string, script: string, bindFrom?: string): Promise<string> {
    const name = uniqueName(base);
    track(name);
    await docker().createContainer({
      name,
      image: IMAGE_NEW,
      entrypoint: ['sh', '-c', script],
      labels: { ...project, 'com.docker.compose.service': base, 'pg-docker-backup.enable': 'false' },
      network: 'none',
      mounts: bindFrom ? [{ type: 'bind', source: bindFrom, target: '/data' }] : [],
    });
    await docker().startContainer(name);
    return name;
  }

  async function restoreStopping(appName: string): Promise<CliRun> {
    await sql(pg, 'chinook', `UPDATE track SET name = 'changed'`);
    const r = await cli(['restore', backup, '--to', pg.name, '--database', 'chinook', '--stop', appName, '--yes']);
    // 3: the restore is done and the after-restore checks found the app down (0 would hide that)
    assert.equal(r.code, 3, `the restore is reported done, the checks failing: ${oneLine(r)}`);
    assert.match(r.stderr, new RegExp(`${appName}`), 'the checks name the app');
    assert.deepEqual(await fingerprint(pg, 'chinook'), original, 'and was done');
    return r;
  }

  it('its bind-mounted folder is gone, so Docker cannot start it: restored, with a warning naming the app and offering undo', async function () {
    const hostDir = await tempDir('appfail-bind');
    const name = await app('app-bind', 'trap "exit 0" TERM; while :; do sleep 1; done', hostDir);
    await fs.rm(hostDir, { recursive: true });
    const r = await restoreStopping(name);
    const out = r.stdout + r.stderr;
    assert.match(out, new RegExp(`warning:.*${name}`), `a warning names the app: ${out}`);
    assert.match(out, /restore --undo/, 'and offers undo');
  });

  it('its entrypoint exits at once when started again: restored, with a warning naming the app and offering undo', async function () {
    const name = await app('app-once', 'if [ -e /started ]; then echo "refusing to start twice" >&2; exit 1; fi; touch /started; trap "exit 0" TERM; while :; do sleep 1; done');
    const r = await restoreStopping(name);
    const out = r.stdout + r.stderr;
    assert.notEqual((await docker().inspectContainer(name)).state, 'running', 'the app really did not come back');
    assert.match(out, new RegExp(`warning:.*${name}`), `a warning names the app that exited: ${out}`);
    assert.match(out, /restore --undo/, 'and offers undo');
  });
});

describe('faults on a second Docker engine: dockerd restarts, the database container stops', function () {
  this.timeout(600000);
  let pg: PgTestContainer;
  let appName: string;
  let archive: string;
  let liveState: Awaited<ReturnType<typeof fingerprint>>;
  const project = { 'com.docker.compose.project': uniqueName('d2') };

  before(async function () {
    await requireDocker();
    await startDocker2();
    pg = await startPostgres('d2-db', { engine: docker2(), network: 'none', labels: { ...project, 'com.docker.compose.service': 'db' } });
    await pgbenchInit(pg, 'bench', 8);
    appName = uniqueName('d2-app');
    track(appName, docker2());
    await docker2().createContainer({
      name: appName,
      image: IMAGE_NEW,
      entrypoint: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      labels: { ...project, 'com.docker.compose.service': 'backend', 'pg-docker-backup.enable': 'false' },
      network: 'none',
    });
    await docker2().startContainer(appName);
    const dir = await tempDir('d2');
    const b = await cli(['backup', pg.name, '--database', 'bench', '--format', 'custom', '--compression', '0', '--dir', dir, '--json'], docker2Env());
    assert.equal(b.code, 0, oneLine(b));
    archive = String(b.json!.path);
    await sql(pg, 'bench', 'UPDATE pgbench_branches SET bbalance = bbalance + 7');
    liveState = await fingerprint(pg, 'bench');
  });
  after(async function () {
    await cleanup();
    await stopDocker2IfStartedHere();
  });

  const state = async (name: string) => (await docker2().inspectContainer(name)).state;
  async function startAgain(name: string): Promise<void> {
    if ((await state(name)) !== 'running') await docker2().startContainer(name);
  }
  async function dbBack(): Promise<void> {
    await startAgain(pg.name);
    await waitFor('the database to answer again', async () => (await docker2().exec(pg.name, ['pg_isready', '-q', '-h', '/var/run/postgresql'])).exitCode === 0);
  }

  /** A backup that runs until `fault` strikes: exit 1, a clear message, no file at all. */
  async function backupWithFault(fault: () => Promise<void>, expected: RegExp): Promise<void> {
    const out = await tempDir('d2-backup');
    const run = startCli(['backup', pg.name, '--database', 'bench', '--dir', out], docker2Env());
    try {
      await waitFor('the backup to write', async () => (await filesUnder(out).catch(() => [])).some((f) => f.endsWith('.partial')), 30000);
      await fault();
      const r = await run.done;
      assert.equal(r.code, 1, oneLine(r));
      assert.match(r.stderr, expected, `a clear error: ${r.stderr}`);
      assert.ok(r.stderr.trim().split('\n').length <= 3, `one clear message, not a stack: ${r.stderr}`);
      assert.deepEqual(await filesUnder(out).catch(() => []), [], 'no file is left, not even a partial one');
    } finally {
      await run.done;
      await dbBack();
      await startAgain(appName);
    }
  }

  it('the database container stops during a backup: clear error, no file', async function () {
    await backupWithFault(() => docker2().stopContainer(pg.name, 10), new RegExp(`${pg.name}.*(stopped|not running|shut down)|(stopped|not running|shut down).*${pg.name}`, 'i'));
  });

  it('dockerd restarts during a backup: clear error, no file', async function () {
    await backupWithFault(restartDocker2, /docker/i);
  });

  it('dockerd restarts during a restore: clear error naming the containers to start (the database’s too), live database intact', async function () {
    await dbBack();
    await startAgain(appName);
    const run = startCli(['restore', archive, '--to', pg.name, '--database', 'bench', '--jobs', '1', '--yes'], docker2Env());
    await waitFor('the restore to load', async () => (await scratchSessions(pg)) >= 1, 60000);
    await restartDocker2();
    const r = await run.done;
    assert.equal(r.code, 1, oneLine(r));
    assert.match(r.stderr, /docker/i, r.stderr);
    assert.equal(await state(pg.name), 'exited', 'no restart policy: the database container came back stopped');
    assert.equal(await state(appName), 'exited');
    assert.ok(r.stderr.includes(pg.name), `the error names the database container to start: ${r.stderr}`);
    assert.ok(r.stderr.includes(appName), `and the app container: ${r.stderr}`);
    assert.match(r.stderr, /\bstart\b/i, 'and says to start them');
    assert.doesNotMatch(r.stderr, /scratch database was dropped/, 'it claims no clean-up that did not happen');
    await dbBack();
    await startAgain(appName);
    assert.deepEqual(await fingerprint(pg, 'bench'), liveState, 'the live database is intact');
    const c = await cli(['cleanup', pg.name, '--database', 'bench', '--yes'], docker2Env());
    assert.equal(c.code, 0, oneLine(c));
    assert.deepEqual(await scratchDatabases(pg), [], 'cleanup removed what was left');
  });

  it('dockerd restarts during a restore, containers with --restart unless-stopped: the app runs again once Docker answers, live database intact', async function () {
    await dbBack();
    await startAgain(appName);
    for (const n of [pg.name, appName]) await dockerCli(['update', '--restart', 'unless-stopped', n], DOCKER2_HOST);
    const run = startCli(['restore', archive, '--to', pg.name, '--database', 'bench', '--jobs', '1', '--yes'], docker2Env());
    await waitFor('the restore to load', async () => (await scratchSessions(pg)) >= 1, 60000);
    await restartDocker2();
    const r = await run.done;
    assert.equal(r.code, 1, oneLine(r));
    assert.match(r.stderr, /docker/i, r.stderr);
    await waitFor('the app container to run again', async () => (await state(appName)) === 'running', 60000);
    await waitFor('the database to answer again', async () => (await docker2().exec(pg.name, ['pg_isready', '-q', '-h', '/var/run/postgresql'])).exitCode === 0, 60000);
    assert.deepEqual(await fingerprint(pg, 'bench'), liveState, 'the live database is intact');
  });
});
