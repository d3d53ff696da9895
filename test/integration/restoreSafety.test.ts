import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { isPgBackupError } from '../../src/core/errors';
import { executeRestore } from '../../src/core/restore/execute';
import { planRestore } from '../../src/core/restore/plan';
import {
  cleanup,
  cli,
  containerState,
  createNetwork,
  databases,
  docker,
  fingerprint,
  loadChinook,
  requireDocker,
  sql,
  startApp,
  startPostgres,
  tempDir,
  waitFor,
  type PgTestContainer,
} from './harness';

const PROJECT = { 'com.docker.compose.project': 'agent-eval' };

describe('restore is safe by default (live database, app container, held connection)', function () {
  let pg: PgTestContainer;
  let app: string;
  let dir: string;
  let good: { sql: string; custom: string };
  let original: Awaited<ReturnType<typeof fingerprint>>;

  before(async function () {
    await requireDocker();
    const net = await createNetwork('safety');
    pg = await startPostgres('safety-db', { network: net, labels: { ...PROJECT, 'com.docker.compose.service': 'db' } });
    await loadChinook(pg);
    app = await startApp('safety-backend', net, pg, 'chinook', { ...PROJECT, 'com.docker.compose.service': 'backend' });
    await waitFor('the app to hold a connection', async () => (await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'demo-app'`)).trim() === '1');
    dir = await tempDir('safety');
    good = {
      sql: (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir })).path,
      custom: (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir, format: 'custom' })).path,
    };
    original = await fingerprint(pg, 'chinook');
  });
  after(cleanup);

  /** Archives a parallel restore copied into the container and left there. */
  async function copiedArchives(): Promise<string[]> {
    const r = await docker().exec(pg.name, ['sh', '-c', 'ls /tmp | grep pg-docker-backup-restore || true']);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** The live database is exactly as before, the app runs, no scratch database is left. */
  async function assertNothingChanged(expected = original) {
    assert.deepEqual(await fingerprint(pg, 'chinook'), expected, 'the live database is unchanged');
    assert.equal(await containerState(app), 'running', 'the app container runs');
    assert.deepEqual((await databases(pg)).filter((d) => d.includes('__restoring_')), [], 'no scratch database is left');
  }

  it('plans from discovery: the compose project’s backend is stopped, nothing else', async function () {
    const plan = await planRestore(docker(), { backupPath: good.sql });
    assert.deepEqual(plan.stopContainers.map((c) => c.name), [app]);
    assert.equal(plan.database, 'chinook');
    assert.ok(plan.liveExists);
    const dry = await cli(['restore', good.sql, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`Stop ${app}`));
    await assertNothingChanged();
  });

  it('restores while the app holds a connection: stops the app, swaps, starts it again', async function () {
    await sql(pg, 'chinook', `DELETE FROM playlist_track; UPDATE track SET name = 'changed'`);
    const psql = docker().exec(pg.name, ['psql', '-U', pg.user, '-d', 'chinook', '-c', 'SELECT pg_sleep(600)'], { env: { PGAPPNAME: 'held-client' } });
    await waitFor('the held client', async () => (await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'held-client'`)).trim() === '1');
    const plan = await planRestore(docker(), { backupPath: good.custom, jobs: 2 });
    assert.equal(plan.jobs, 2);
    assert.match(plan.steps[0], /with 2 parallel jobs/);
    const stateDuringSwap: string[] = [];
    const r = await executeRestore(docker(), plan, {
      onProgress: (p) => {
        if (p.phase === 'swap' && p.message.startsWith('Swapping')) void containerState(app).then((s) => stateDuringSwap.push(s));
      },
    });
    const held = await psql;
    assert.notEqual(held.exitCode, 0, 'the held session was terminated');
    assert.match(held.stderr, /terminat/i);
    assert.ok(r.downtimeMs > 0 && r.downtimeMs < 5000, `apps were down ${r.downtimeMs} ms`);
    await waitFor('the app to settle', async () => stateDuringSwap.length > 0);
    assert.notEqual(stateDuringSwap[0], 'running', 'the app was stopped during the swap');
    await assertNothingChanged();
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(await copiedArchives(), [], 'the archive copied for pg_restore -j is removed');
    await waitFor('the app to reconnect', async () => (await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'demo-app' AND datname = 'chinook'`)).trim() === '1');
  });

  it('a parallel restore whose archive cannot be copied into the container restores from a stream instead, and says so', async function () {
    await sql(pg, 'chinook', `DELETE FROM playlist_track`);
    const plan = await planRestore(docker(), { backupPath: good.custom, jobs: 2 });
    const r = await executeRestore(docker(), plan, { containerTempDir: '/no/such/dir' });
    assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
    assert.match(r.warnings[0], /Could not copy \S+\.dump into \S+ for a parallel restore \(.*\/no\/such\/dir\/.*\): restored it from a stream with one job instead/);
    await assertNothingChanged();
    // /dev/shm is a 64 MB tmpfs: less than the archive plus the 1 GiB kept free, so nothing is written there.
    await sql(pg, 'chinook', `DELETE FROM playlist_track`);
    const short = await executeRestore(docker(), await planRestore(docker(), { backupPath: good.custom, jobs: 2 }), { containerTempDir: '/dev/shm' });
    assert.match(short.warnings.join('\n'), /for a parallel restore \(only \d+ KiB free in \/dev\/shm, \d+ KiB wanted\)/);
    await assertNothingChanged();
    const shm = await docker().exec(pg.name, ['ls', '/dev/shm']);
    assert.doesNotMatch(shm.stdout, /pg-docker-backup-restore/);
  });

  it('the restored database is made like the live one: owner, per-database settings, comment', async function () {
    await sql(pg, 'postgres', `CREATE ROLE "shop owner"; ALTER DATABASE chinook OWNER TO "shop owner"; ALTER DATABASE chinook SET work_mem = '7MB'; COMMENT ON DATABASE chinook IS 'the shop; don''t drop'`);
    const describe = `SELECT pg_get_userbyid(d.datdba) || ' | ' || coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0), '') || ' | ' || shobj_description(d.oid, 'pg_database') FROM pg_database d WHERE datname = 'chinook'`;
    const before = (await sql(pg, 'postgres', describe)).trim();
    assert.equal(before, `shop owner | work_mem=7MB | the shop; don't drop`);
    const r = await cli(['restore', good.sql, '--yes', '--drop-previous']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sql(pg, 'postgres', describe)).trim(), before, 'the restored database has the live one’s owner, settings and comment');
    await assertNothingChanged();
  });

  it('undo swaps the previous database back, and the undo can itself be undone', async function () {
    await sql(pg, 'chinook', 'DELETE FROM invoice_line; DELETE FROM invoice');
    const broken = await fingerprint(pg, 'chinook');
    const r = await cli(['restore', good.sql, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    await assertNothingChanged();
    const undo = await cli(['restore', '--undo', pg.name, '--database', 'chinook', '--yes', '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(await fingerprint(pg, 'chinook'), broken, 'the database from before the restore is back');
    assert.equal(await containerState(app), 'running');
    const redo = await cli(['restore', '--undo', pg.name, '--database', 'chinook', '--yes']);
    assert.equal(redo.code, 0, redo.stderr);
    await assertNothingChanged();
  });

  async function corrupt(name: string, make: (bytes: Buffer) => Buffer, source = good.sql): Promise<string> {
    const file = path.join(dir, name);
    await fs.writeFile(file, make(await fs.readFile(source)));
    return file;
  }

  const cases: [string, () => Promise<string>, RegExp, string[]?][] = [
    ['a .sql.gz cut in half', () => corrupt('cut_20261101_000000.sql.gz', (b) => b.subarray(0, b.length >> 1)), /damaged: its gzip data ends early/],
    ['a .dump cut in half', () => corrupt('cut_20261101_000000.dump', (b) => b.subarray(0, b.length >> 1), good.custom), /pg_restore stopped at an error/],
    ['a .dump cut in half, restored with --jobs 2', () => corrupt('cut2_20261101_000000.dump', (b) => b.subarray(0, b.length >> 1), good.custom), /pg_restore stopped at an error/, ['--jobs', '2']],
    [
      'a plain .sql cut at a statement boundary (psql alone would commit it)',
      () => corrupt('cut_20261101_000000.sql', (b) => {
        const text = zlib.gunzipSync(b).toString('utf8');
        return Buffer.from(text.slice(0, text.indexOf('CREATE INDEX')));
      }),
      /incomplete: it does not end with pg_dump's/,
    ],
    ['random bytes named .dump', () => corrupt('garbage_20261101_000000.dump', () => randomBytes(100000)), /is not a PostgreSQL backup/],
    ['a .sql.gz whose SQL fails half-way', () => corrupt('bad_20261101_000000.sql.gz', (b) => {
      const text = zlib.gunzipSync(b).toString('utf8');
      const i = text.indexOf('CREATE INDEX');
      return zlib.gzipSync(text.slice(0, i) + 'CREATE INDEX oops ON no_such_table (x);\n' + text.slice(i));
    }), /ERROR: relation "no_such_table" does not exist/],
    [
      // psql quits at once and leaves ~40 MB of SQL unread: the restore once waited on that input for
      // good, and Node, with nothing left to do, exited 0 with the scratch database still there.
      'a .sql.gz that fails at its first statement with most of it unread',
      () => corrupt('early_20261101_000000.sql.gz', (b) => zlib.gzipSync('SELECT 1/0;\n' + '-- padding\n'.repeat(4_000_000) + zlib.gunzipSync(b).toString('utf8'))),
      /psql stopped at an error: ERROR: division by zero/,
    ],
    [
      'a plain .sql that fails at its first statement with most of it unread',
      () => corrupt('early_20261101_000000.sql', (b) => Buffer.from('SELECT 1/0;\n' + '-- padding\n'.repeat(4_000_000) + zlib.gunzipSync(b).toString('utf8'))),
      /psql stopped at an error: ERROR: division by zero/,
    ],
  ];
  for (const [what, make, message, extra = []] of cases) {
    it(`refuses ${what}: clear error, live database unchanged, app running, no scratch database`, async function () {
      const file = await make();
      const r = await cli(['restore', file, '--to', pg.name, '--database', 'chinook', '--yes', ...extra]);
      // 2: refused before anything started (not a backup at all); 1: the restore failed.
      assert.equal(r.code, /not a PostgreSQL backup/.test(r.stderr) ? 2 : 1, r.stderr);
      assert.match(r.stderr, message);
      if (!/not a PostgreSQL backup/.test(r.stderr)) assert.match(r.stderr, /nothing was changed: "chinook" in \S+ is untouched/i);
      await assertNothingChanged();
      assert.deepEqual(await copiedArchives(), []);
    });
  }

  it('a cancelled restore leaves the live database untouched and drops the scratch database', async function () {
    const controller = new AbortController();
    const plan = await planRestore(docker(), { backupPath: good.sql });
    const running = executeRestore(docker(), plan, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'restore') controller.abort();
      },
    });
    await assert.rejects(running, (e: unknown) => isPgBackupError(e, 'cancelled') && /untouched/.test((e as Error).message));
    await assertNothingChanged();
  });

  it('a parallel restore cancelled while pg_restore runs leaves the live database untouched, no scratch database and no copied archive', async function () {
    const controller = new AbortController();
    const plan = await planRestore(docker(), { backupPath: good.custom, jobs: 2 });
    const running = executeRestore(docker(), plan, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'restore' && /parallel jobs/.test(p.message)) setTimeout(() => controller.abort(), 150);
      },
    });
    await assert.rejects(running, (e: unknown) => isPgBackupError(e, 'cancelled') && /untouched/.test((e as Error).message));
    await assertNothingChanged();
    assert.deepEqual(await copiedArchives(), []);
  });
});

describe('a .sql.gz restores into a container without gunzip (decompressed on this machine instead)', function () {
  let pg: PgTestContainer;
  before(async function () {
    await requireDocker();
    pg = await startPostgres('nogunzip-db');
    await loadChinook(pg);
  });
  after(cleanup);

  it('restores every row after falling back from in-container gunzip', async function () {
    const dir = await tempDir('nogunzip');
    const backup = await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir });
    const before = await fingerprint(pg, 'chinook');
    const rm = await docker().exec(pg.name, ['sh', '-c', 'while g=$(command -v gunzip); do rm -f "$g" || exit 1; done']);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.notEqual((await docker().exec(pg.name, ['sh', '-c', 'command -v gunzip'])).exitCode, 0, 'gunzip is gone');
    await sql(pg, 'chinook', 'DELETE FROM invoice_line');
    const r = await cli(['restore', backup.path, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fingerprint(pg, 'chinook'), before);
  });
});
