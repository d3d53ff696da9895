import * as assert from 'node:assert/strict';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { cleanup, cli, databases, docker, fingerprint, loadChinook, requireDocker, sql, startPostgres, tempDir, type Fingerprint, type PgTestContainer } from './harness';

/** Selective restore of two Chinook tables from a custom backup: into a new database, and replacing them in the live one. */
describe('selective restore (--table) from a custom backup', function () {
  let pg: PgTestContainer;
  let backup: string;
  let original: Fingerprint;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('selective-db');
    await loadChinook(pg);
    const dir = await tempDir('selective');
    backup = (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir, format: 'custom' })).path;
    original = await fingerprint(pg, 'chinook');
  });
  after(cleanup);

  const pick = (fp: Fingerprint, names: string[]) => Object.fromEntries(names.map((n) => [n, fp.tables[n]]));

  it('restores two tables into a new database: their content equal, their indexes and keys there, every other table absent', async function () {
    const r = await cli(['restore', backup, '--database', 'two_tables', '--table', 'album', '--table', 'public.artist', '--yes', '--no-checks']);
    assert.equal(r.code, 0, r.stderr);
    const fp = await fingerprint(pg, 'two_tables');
    assert.deepEqual(Object.keys(fp.tables).sort(), ['public.album', 'public.artist']);
    assert.deepEqual(pick(fp, ['public.album', 'public.artist']), pick(original, ['public.album', 'public.artist']));
    const idx = (await sql(pg, 'two_tables', `SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'album'`)).trim();
    assert.equal(idx, 'album_artist_id_idx,album_pkey', 'the indexes and the primary key came along');
    const fk = (await sql(pg, 'two_tables', `SELECT string_agg(conname, ',') FROM pg_constraint WHERE contype = 'f'`)).trim();
    assert.equal(fk, 'album_artist_id_fkey', 'the foreign key between the two restored tables came along');
  });

  it('refuses a pattern that matches nothing, naming it, with nothing created', async function () {
    const r = await cli(['restore', backup, '--database', 'nothing_here', '--table', 'album', '--table', 'no_such_*', '--yes', '--no-checks']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--table "no_such_\*" matches no table/);
    assert.ok(!(await databases(pg)).some((d) => d.startsWith('nothing_here')));
  });

  it('replaces two tables in the live database: only those two change back, every other table untouched', async function () {
    await sql(pg, 'chinook', `UPDATE album SET title = 'changed'; UPDATE genre SET name = 'kept'; INSERT INTO artist VALUES (9001, 'new artist')`);
    const before = await fingerprint(pg, 'chinook');
    const dry = await cli(['restore', backup, '--database', 'chinook', '--table', 'album', '--table', 'artist', '--replace-tables', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Replace the rows of public\.album \(347 rows in the backup\), public\.artist \(275 rows in the backup\)/);
    assert.match(dry.stdout, /Tables that reference them: public\.track \(track_album_id_fkey → public\.album\)/);
    const r = await cli(['restore', backup, '--database', 'chinook', '--table', 'album', '--table', 'artist', '--replace-tables', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const after = await fingerprint(pg, 'chinook');
    for (const t of Object.keys(original.tables)) {
      if (t === 'public.album' || t === 'public.artist') assert.deepEqual(after.tables[t], original.tables[t], `${t} is as in the backup`);
      else assert.deepEqual(after.tables[t], before.tables[t], `${t} is untouched`);
    }
    assert.equal(after.tables['public.genre'].md5, before.tables['public.genre'].md5, 'the changed genre table kept its change');
  });

  it('rolls back when rows elsewhere would point at missing rows, naming the constraint, with nothing changed', async function () {
    await sql(pg, 'chinook', `INSERT INTO album VALUES (9999, 'only live', 1); INSERT INTO track (track_id, name, album_id, media_type_id, milliseconds, unit_price) VALUES (99999, 't', 9999, 1, 1, 0.99)`);
    const before = await fingerprint(pg, 'chinook');
    const r = await cli(['restore', backup, '--database', 'chinook', '--table', 'album', '--replace-tables', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rolled back/);
    assert.match(r.stderr, /foreign key constraint "track_album_id_fkey"/);
    assert.deepEqual(await fingerprint(pg, 'chinook'), before, 'nothing changed');
  });
});
