import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { cleanup, cli, containerState, databases, docker, fingerprint, requireDocker, sql, startPostgres, tempDir, uniqueName, waitFor, type PgTestContainer } from './harness';

/**
 * Point-in-time recovery against a real PostgreSQL 17 container with WAL archiving on a named volume: base
 * backup, rows at t1/t2/t3 (each followed by a WAL switch), recovery to a time between t2 and t3 and to a
 * named restore point, refusals before anything starts, a broken archive, a cancelled recovery.
 */
const ARCHIVE = '/var/lib/postgresql/archive';
const LABEL = 'pg-docker-backup.pitr-recovery';

describe('point-in-time recovery (pitr)', function () {
  this.timeout(180_000);
  let pg: PgTestContainer;
  let dir: string;
  let volume: string;
  let env: Record<string, string>;
  let betweenT2AndT3: string;
  let otherBefore: Awaited<ReturnType<typeof fingerprint>>;
  let startedAt: string;

  const rows = async (db = 'shop') => (await sql(pg, db, 'SELECT string_agg(label, \',\' ORDER BY id) FROM item')).trim();
  const switchWal = () => sql(pg, 'postgres', 'SELECT pg_switch_wal()');
  const recoveryContainers = async () => (await docker().listContainers()).filter((c) => c.labels[LABEL] === pg.name).map((c) => c.name);
  const recoveryVolumes = () => docker().listVolumes(`${LABEL}=${pg.name}`);
  const serverStart = async () => (await sql(pg, 'postgres', 'SELECT pg_postmaster_start_time()')).trim();

  /** Inserts a row and switches WAL, so the segment holding it is archived. */
  async function insert(label: string): Promise<void> {
    await sql(pg, 'shop', `INSERT INTO item (label) VALUES ('${label}')`);
    await switchWal();
  }

  before(async function () {
    await requireDocker();
    try {
      await fs.access(path.join(__dirname, '..', '..', 'dist', 'cli.js'));
    } catch {
      throw new Error('dist/cli.js is missing: run `node esbuild.js` first.');
    }
    volume = uniqueName('wal-archive');
    pg = await startPostgres('pitr-db', {
      db: 'shop',
      serverArgs: ['-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=test ! -f ${ARCHIVE}/%f && cp %p ${ARCHIVE}/%f`],
      mounts: [{ type: 'volume', source: volume, target: ARCHIVE }],
    });
    // A new volume belongs to root (the step `pitr enable` prints).
    const chown = await docker().exec(pg.name, ['chown', 'postgres:postgres', ARCHIVE], { user: 'root' });
    assert.equal(chown.exitCode, 0, chown.stderr);
    await sql(pg, 'shop', 'CREATE TABLE item (id serial PRIMARY KEY, label text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    await sql(pg, 'postgres', 'CREATE DATABASE other');
    await sql(pg, 'other', "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, md5(g::text) FROM generate_series(1, 500) g");
    await switchWal();
    dir = await tempDir('pitr');
    env = { PG_DOCKER_BACKUP_DIR: dir, TZ: 'Europe/Berlin' };
    const base = await cli(['pitr', 'base-backup', pg.name, '--json'], env);
    assert.equal(base.code, 0, base.stderr);
    assert.equal(base.json?.kind, 'base');
    assert.ok((base.json?.walFiles as string[]).length >= 1);
    await insert('t1');
    await insert('t2');
    betweenT2AndT3 = (await sql(pg, 'postgres', "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '+00'")).trim();
    await new Promise((r) => setTimeout(r, 300));
    await insert('t3');
    otherBefore = await fingerprint(pg, 'other');
    startedAt = await serverStart();
  });
  after(async function () {
    await cleanup();
    await docker().removeVolume(volume, { force: true }).catch(() => undefined);
    for (const v of await docker().listVolumes(LABEL).catch(() => [] as string[])) if (v.startsWith('pgdbt-')) await docker().removeVolume(v, { force: true }).catch(() => undefined);
  });

  it('status: archiving on, the archive on its volume, the archiver working, a window from the base backup to the last commit', async function () {
    const s = await cli(['pitr', 'status', pg.name, '--json'], env);
    assert.equal(s.code, 0, s.stderr);
    const j = s.json as { enabled: boolean; archive: { dir: string; description: string; segments: number; missing: string[] }; archiver: { failingNow: boolean }; baseBackups: unknown[]; window: { from: string; to: string } };
    assert.equal(j.enabled, true);
    assert.equal(j.archive.dir, ARCHIVE);
    assert.match(j.archive.description, new RegExp(`volume ${volume}`));
    assert.deepEqual(j.archive.missing, []);
    assert.equal(j.archiver.failingNow, false);
    assert.equal(j.baseBackups.length, 1);
    assert.ok(Date.parse(j.window.to) > Date.parse(j.window.from), 'the window ends after it starts');
    assert.ok(Date.parse(j.window.to) >= Date.parse(betweenT2AndT3.replace(' ', 'T').replace('+00', 'Z')), 'the window reaches t3');
    // The base backup is no dump: listing and prune pass it by.
    const list = await cli(['backups', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.doesNotMatch(list.stdout, /_base/);
    const prune = await cli(['prune', '--keep-last', '1', '--dry-run', '--json'], env);
    assert.equal(prune.code, 0, prune.stderr);
    assert.doesNotMatch(prune.stdout, /_base/);
  });

  it('refuses a target outside the window before anything starts (before the base backup; in the future)', async function () {
    const before = await databases(pg);
    const early = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', '2020-01-01 00:00:00+00', '--yes'], env);
    assert.equal(early.code, 2, early.stderr);
    assert.match(early.stderr, /before the recoverable window/);
    const future = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', '2999-01-01 00:00', '--yes'], env);
    assert.equal(future.code, 2, future.stderr);
    assert.match(future.stderr, /in the future/);
    const noPoint = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--restore-point', 'never-made', '--yes'], env);
    assert.equal(noPoint.code, 2, noPoint.stderr);
    assert.match(noPoint.stderr, /no restore point "never-made"/);
    assert.deepEqual(await databases(pg), before, 'no database was created');
    assert.deepEqual(await recoveryContainers(), [], 'no recovery container was started');
    assert.equal(await rows(), 't1,t2,t3');
  });

  it('recovers to a time between t2 and t3: t1 and t2 are there, t3 is not; the live server kept running, other databases untouched', async function () {
    const dry = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', betweenT2AndT3, '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /UTC \(local .*\+01:00\)/, 'the plan shows the time in UTC and local time');
    const r = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', betweenT2AndT3, '--yes', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await rows(), 't1,t2');
    assert.match(String(r.json?.stoppedAt), /recovery stopping before commit/);
    assert.deepEqual(r.json?.tables, [{ schema: 'public', name: 'item', rows: 2 }]);
    assert.ok(r.json?.keptPrevious, 'the replaced database is kept for undo');
    assert.ok((await databases(pg)).includes(String(r.json?.keptPrevious)));
    assert.equal(await rows(String(r.json?.keptPrevious)), 't1,t2,t3', 'the kept database is the one before');
    assert.equal(await containerState(pg.name), 'running');
    assert.equal(await serverStart(), startedAt, 'the live server was never restarted');
    assert.deepEqual(await fingerprint(pg, 'other'), otherBefore, 'the other database is untouched');
    assert.deepEqual(await recoveryContainers(), [], 'the recovery container is gone');
    assert.deepEqual(await recoveryVolumes(), [], 'its volume is gone');
  });

  it('recovers to a named restore point made with pitr mark', async function () {
    await insert('t4');
    const mark = await cli(['pitr', 'mark', pg.name, 'before-t5', '--json'], env);
    assert.equal(mark.code, 0, mark.stderr);
    await insert('t5');
    const r = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--restore-point', 'before-t5', '--yes', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await rows(), 't1,t2,t4');
    assert.deepEqual(await fingerprint(pg, 'other'), otherBefore);
    assert.deepEqual(await recoveryContainers(), []);
  });

  it('a cancelled recovery removes the recovery container and its volume; the live database is untouched', async function () {
    const before = await rows();
    assert.deepEqual(await recoveryContainers(), []);
    let pid = 0;
    const run = cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', betweenT2AndT3, '--yes'], env, { onSpawn: (p) => (pid = p) });
    // Cancelled while the recovery server replays (its container runs).
    await waitFor('the recovery container', async () => {
      const names = await recoveryContainers();
      return names.some((n) => !n.endsWith('-unpack')) && (await containerState(names.find((n) => !n.endsWith('-unpack'))!)) === 'running';
    }, 60_000);
    process.kill(pid, 'SIGINT');
    const r = await run;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cancelled/i);
    assert.deepEqual(await recoveryContainers(), [], 'the recovery container is gone');
    assert.deepEqual(await recoveryVolumes(), [], 'its volume is gone');
    assert.equal(await rows(), before);
    assert.deepEqual((await databases(pg)).filter((d) => d.includes('__restoring_')), []);
  });

  it('a broken archive (a needed segment deleted) fails in the recovery container with a clear message; live untouched', async function () {
    const before = await rows();
    const names = (await docker().exec(pg.name, ['ls', ARCHIVE])).stdout.split('\n').filter((n) => /^[0-9A-F]{24}$/.test(n));
    const baseDir = path.join(dir, pg.name, '_base');
    const manifest = (await fs.readdir(baseDir)).find((f) => f.endsWith('.json'))!;
    const base = JSON.parse(await fs.readFile(path.join(baseDir, manifest), 'utf8')) as { walFiles: string[] };
    const lastOfBase = base.walFiles[base.walFiles.length - 1];
    const needed = names.find((n) => n > lastOfBase)!;
    const rm = await docker().exec(pg.name, ['rm', '-f', `${ARCHIVE}/${needed}`], { user: 'root' });
    assert.equal(rm.exitCode, 0, rm.stderr);
    const r = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--time', betweenT2AndT3, '--yes'], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`has no segment ${needed}`));
    assert.match(r.stderr, /live database was not touched/);
    assert.equal(await rows(), before);
    assert.deepEqual(await recoveryContainers(), []);
    assert.deepEqual(await recoveryVolumes(), []);
  });

  it('pitr prune on an archive volume deletes the WAL before the base backup through the container; the base backup and later WAL stay', async function () {
    const ls = async () => (await docker().exec(pg.name, ['ls', ARCHIVE])).stdout.split('\n').filter(Boolean);
    const before = await ls();
    const r = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--yes', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as { keep: string[]; delete: string[]; wal: { cutoff: string; archive: { via: string } }; walDeleted: string[] };
    assert.equal(j.wal.archive.via, 'container');
    assert.deepEqual([j.keep.length, j.delete], [1, []], 'the only (newest) base backup stays');
    assert.ok(j.walDeleted.length >= 1, 'the segments written before the base backup went');
    assert.ok(j.walDeleted.every((n) => n.slice(8) < j.wal.cutoff.slice(8)));
    assert.deepEqual(await ls(), before.filter((n) => !j.walDeleted.includes(n)));
  });
});
