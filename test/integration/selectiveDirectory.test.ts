import * as assert from 'node:assert/strict';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { cleanup, cli, docker, fingerprint, loadChinook, requireDocker, sql, startPostgres, tempDir, type Fingerprint, type PgTestContainer } from './harness';

/** Selective restore of two Chinook tables from a directory-format backup (a tar of pg_dump -Fd). */
describe('selective restore (--table) from a directory backup', function () {
  let pg: PgTestContainer;
  let backup: string;
  let original: Fingerprint;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('seldir-db');
    await loadChinook(pg);
    const dir = await tempDir('seldir');
    backup = (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir, format: 'directory', jobs: 2 })).path;
    assert.match(backup, /\.dir\.tar$/);
    original = await fingerprint(pg, 'chinook');
  });
  after(cleanup);

  const pick = (fp: Fingerprint, names: string[]) => Object.fromEntries(names.map((n) => [n, fp.tables[n]]));
  const leftovers = async () => (await docker().exec(pg.name, ['sh', '-c', 'ls /tmp | grep pg-docker-backup || true'])).stdout.trim();

  it('restores two tables into a new database: equal content, their indexes and keys, every other table absent', async function () {
    const r = await cli(['restore', backup, '--database', 'dir_two', '--table', 'album', '--table', 'public.artist', '--yes', '--no-checks']);
    assert.equal(r.code, 0, r.stderr);
    const fp = await fingerprint(pg, 'dir_two');
    assert.deepEqual(Object.keys(fp.tables).sort(), ['public.album', 'public.artist']);
    assert.deepEqual(pick(fp, ['public.album', 'public.artist']), pick(original, ['public.album', 'public.artist']));
    const idx = (await sql(pg, 'dir_two', `SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'album'`)).trim();
    assert.equal(idx, 'album_artist_id_idx,album_pkey');
    assert.equal(await leftovers(), '', 'the unpacked dump was removed from the container');
  });

  it('--replace-tables: the two tables are as in the backup, every other table untouched', async function () {
    await sql(pg, 'chinook', `UPDATE album SET title = 'changed'; UPDATE genre SET name = 'kept'; DELETE FROM artist WHERE artist_id NOT IN (SELECT artist_id FROM album)`);
    const before = await fingerprint(pg, 'chinook');
    const dry = await cli(['restore', backup, '--database', 'chinook', '--table', 'album', '--table', 'artist', '--replace-tables', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Replace the rows of public\.album \(347 rows in the backup\), public\.artist \(275 rows in the backup\)/);
    const r = await cli(['restore', backup, '--database', 'chinook', '--table', 'album', '--table', 'artist', '--replace-tables', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const after = await fingerprint(pg, 'chinook');
    for (const t of Object.keys(original.tables)) {
      if (t === 'public.album' || t === 'public.artist') assert.deepEqual(after.tables[t], original.tables[t], `${t} is as in the backup`);
      else assert.deepEqual(after.tables[t], before.tables[t], `${t} is untouched`);
    }
    assert.notEqual(after.tables['public.genre'].md5, original.tables['public.genre'].md5, 'the changed genre table kept its change');
    assert.equal(await leftovers(), '', 'the unpacked dump was removed from the container');
  });
});
