import * as assert from 'node:assert/strict';
import { executeCopy, planCopy } from '../../src/core/restore/copy';
import { isPgBackupError } from '../../src/core/errors';
import { DOCKER2_HOST, docker2, startDocker2, stopDocker2IfStartedHere } from './docker2';
import { IMAGE_NEW, IMAGE_OLD, cleanup, cli, containerState, createNetwork, databases, docker, fingerprint, loadChinook, requireDocker, sql, startApp, startPostgres, uniqueName, type Fingerprint, type PgTestContainer } from './harness';

/** `copy`: a database (or some tables) from one container into another, older to newer, on one or two engines. */
describe('copy between containers', function () {
  this.timeout(600000);
  let pg15: PgTestContainer;
  let pg17: PgTestContainer;
  let source: Fingerprint;

  before(async function () {
    await requireDocker();
    [pg15, pg17] = await Promise.all([startPostgres('copy-15', { image: IMAGE_OLD }), startPostgres('copy-17', { image: IMAGE_NEW })]);
    await Promise.all([loadChinook(pg15), loadChinook(pg17)]);
    // The target's copy differs from the source: every check below can tell them apart.
    await sql(pg17, 'chinook', `UPDATE album SET title = 'target only'; UPDATE genre SET name = 'target genre'; INSERT INTO artist VALUES (9001, 'target artist')`);
    source = await fingerprint(pg15, 'chinook');
  });
  after(cleanup);

  const sideDatabases = async (pg: PgTestContainer) => (await databases(pg)).filter((d) => d.includes('__'));

  it('--dry-run lists the plan and changes nothing', async function () {
    const before = await fingerprint(pg17, 'chinook');
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Copy "chinook" from "chinook" in .*copy-15 \(PostgreSQL 15\.[0-9]+\) .* into a new database "chinook__restoring_/);
    assert.match(r.stdout, /Keep "chinook__before_restore_[^"]+" for undo/);
    assert.deepEqual(await fingerprint(pg17, 'chinook'), before);
    assert.deepEqual(await sideDatabases(pg17), []);
  });

  it('refuses without --yes when stdin is not a terminal, changing nothing', async function () {
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /without confirmation/);
    assert.deepEqual(await sideDatabases(pg17), []);
  });

  it('refuses 17 → 15 before anything changes, saying why', async function () {
    const before = await fingerprint(pg15, 'chinook');
    const dbs = await databases(pg15);
    const r = await cli(['copy', pg17.name, pg15.name, '--database', 'chinook', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /runs PostgreSQL 17\.[0-9]+ and .* runs 15\.[0-9]+: a copy only goes from an older server to a newer one/);
    assert.deepEqual(await fingerprint(pg15, 'chinook'), before);
    assert.deepEqual(await databases(pg15), dbs);
  });

  it('copies the whole database 15 → 17 with equal content, keeping the previous one for undo', async function () {
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook', '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.mode, 'database');
    assert.match(String(r.json?.keptPrevious), /^chinook__before_restore_/);
    const rows = (r.json?.checks as { results: { check: string; status: string; detail: string }[] }).results.find((c) => c.check === 'rows');
    assert.equal(rows?.status, 'passed', 'the rows check compared the target with the source');
    assert.match(rows!.detail, /11 tables, [0-9]+ rows, as in "chinook" in .*copy-15/);
    assert.deepEqual(await fingerprint(pg17, 'chinook'), source);
    const kept = await fingerprint(pg17, String(r.json?.keptPrevious));
    assert.equal(kept.tables['public.album'].md5 === source.tables['public.album'].md5, false, 'the previous database is the target as it was');
    assert.deepEqual(await sideDatabases(pg17), [String(r.json?.keptPrevious)]);
  });

  it('stops the target’s app container only for the swap and starts it again', async function () {
    const net = await createNetwork('copy-net');
    const labels = { 'com.docker.compose.project': uniqueName('copyproj') };
    const db = await startPostgres('copy-17-app', { image: IMAGE_NEW, network: net, labels: { ...labels, 'com.docker.compose.service': 'db' } });
    await loadChinook(db);
    const app = await startApp('copy-app', net, db, 'chinook', { ...labels, 'com.docker.compose.service': 'app' });
    const r = await cli(['copy', pg15.name, db.name, '--database', 'chinook', '--yes', '--json', '--check-timeout', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.stopped, [app]);
    assert.ok(Number(r.json?.downtimeMs) > 0);
    assert.equal(await containerState(app), 'running');
    assert.deepEqual(await fingerprint(db, 'chinook'), source);
  });

  it('copies one table: its rows as in the source, every other table untouched, including the one that references it', async function () {
    await sql(pg17, 'chinook', `UPDATE album SET title = 'target only'; UPDATE genre SET name = 'target genre'; UPDATE track SET composer = 'target composer'`);
    const before = await fingerprint(pg17, 'chinook');
    const dry = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook', '--table', 'album', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Replace the rows of public\.album in "chinook"/);
    assert.match(dry.stdout, /Tables that reference them: public\.track \(track_album_id_fkey → public\.album\)/);
    assert.deepEqual(await fingerprint(pg17, 'chinook'), before, '--dry-run changed nothing');
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook', '--table', 'album', '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.tables, ['public.album']);
    const rows = (r.json?.checks as { results: { check: string; status: string; detail: string }[] }).results.find((c) => c.check === 'rows');
    assert.match(rows!.detail, /^1 tables, 347 rows, as in/);
    const after = await fingerprint(pg17, 'chinook');
    for (const t of Object.keys(before.tables)) {
      if (t === 'public.album') assert.deepEqual(after.tables[t], source.tables[t], 'album is as in the source');
      else assert.deepEqual(after.tables[t], before.tables[t], `${t} is untouched`);
    }
    assert.notEqual(after.tables['public.track'].md5, source.tables['public.track'].md5, 'track (it references album) kept its own rows');
  });

  it('rolls a copy of tables back when rows elsewhere would point at missing rows, naming the constraint', async function () {
    await sql(pg17, 'chinook', `INSERT INTO album VALUES (9999, 'only in the target', 1); INSERT INTO track (track_id, name, album_id, media_type_id, milliseconds, unit_price) VALUES (99999, 't', 9999, 1, 1, 0.99)`);
    const before = await fingerprint(pg17, 'chinook');
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'chinook', '--table', 'album', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rolled back/);
    assert.match(r.stderr, /foreign key constraint "track_album_id_fkey"/);
    assert.deepEqual(await fingerprint(pg17, 'chinook'), before);
  });

  it('refuses a whole copy whose objects belong to a role the target lacks, naming it; --no-owner copies it owned by the target user', async function () {
    await sql(pg15, 'postgres', 'CREATE ROLE reporter NOLOGIN');
    await sql(pg15, 'postgres', 'CREATE DATABASE owned');
    await sql(pg15, 'owned', 'CREATE TABLE report (id int PRIMARY KEY, title text); INSERT INTO report VALUES (1, $$a$$), (2, $$b$$); ALTER TABLE report OWNER TO reporter');
    const refusedRun = await cli(['copy', pg15.name, pg17.name, '--database', 'owned', '--yes']);
    assert.equal(refusedRun.code, 2, refusedRun.stderr);
    assert.match(refusedRun.stderr, /owned by \(or granted to\) role reporter, which .*copy-17 lacks: create it there first .* --no-owner\)\. Nothing was changed\./);
    assert.ok(!(await databases(pg17)).some((d) => d.startsWith('owned')), 'nothing was created');
    const r = await cli(['copy', pg15.name, pg17.name, '--database', 'owned', '--no-owner', '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.missingRoles, ['reporter']);
    assert.deepEqual((await fingerprint(pg17, 'owned')).tables, (await fingerprint(pg15, 'owned')).tables);
    assert.equal((await sql(pg17, 'owned', `SELECT tableowner FROM pg_tables WHERE tablename = 'report'`)).trim(), pg17.user);
  });

  it('cancelled (AbortSignal) while the dump streams: no scratch database left, the target untouched', async function () {
    await sql(pg15, 'postgres', 'CREATE DATABASE big');
    await sql(pg15, 'big', `CREATE TABLE t AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS pad FROM generate_series(1, 400000) g`);
    await sql(pg17, 'postgres', 'CREATE DATABASE big');
    await sql(pg17, 'big', 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    const before = await fingerprint(pg17, 'big');
    const controller = new AbortController();
    const plan = await planCopy({ source: docker(), target: docker() }, { from: pg15.name, to: pg17.name, database: 'big' });
    const err = await executeCopy({ source: docker(), target: docker() }, plan, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes !== undefined && p.bytes > 0) controller.abort();
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isPgBackupError(err, 'cancelled'), `cancelled, got ${String(err)}`);
    assert.match((err as Error).message, /cancelled before the swap: "big" in .* is untouched and the scratch database was dropped/);
    assert.ok(!(await databases(pg17)).some((d) => d.startsWith('big__')), 'no scratch database of "big"');
    assert.deepEqual(await fingerprint(pg17, 'big'), before);
  });

  describe('between two Docker engines', function () {
    let remote: PgTestContainer;
    before(async function () {
      await startDocker2();
      remote = await startPostgres('copy-d2', { image: IMAGE_NEW, engine: docker2(), network: 'none' });
    });
    after(stopDocker2IfStartedHere);

    it('copies a database from the main engine into a container on the second (--to-host), equal content', async function () {
      const r = await cli(['copy', pg15.name, remote.name, '--database', 'chinook', '--to-host', DOCKER2_HOST, '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.json?.target as { host: string }).host, DOCKER2_HOST);
      assert.deepEqual(await fingerprint(remote, 'chinook'), source);
      assert.equal((await docker2().inspectContainer(remote.name)).state, 'running');
    });

    it('copies one table from the second engine into the main one (--from-host): only that table changes', async function () {
      await sql(pg17, 'chinook', `UPDATE genre SET name = 'target genre'`);
      const before = await fingerprint(pg17, 'chinook');
      const r = await cli(['copy', remote.name, pg17.name, '--database', 'chinook', '--table', 'genre', '--from-host', DOCKER2_HOST, '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.json?.source as { host: string }).host, DOCKER2_HOST);
      const after = await fingerprint(pg17, 'chinook');
      for (const t of Object.keys(before.tables)) assert.deepEqual(after.tables[t], t === 'public.genre' ? source.tables[t] : before.tables[t], t);
    });

    it('refuses a --to-host that names no Docker context, changing nothing', async function () {
      const r = await cli(['copy', pg15.name, remote.name, '--database', 'chinook', '--to-host', 'no-such-context-xyz', '--yes']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /there is no Docker context "no-such-context-xyz"/);
    });
  });
});
