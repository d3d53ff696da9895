import * as assert from 'node:assert/strict';
import { cleanup, cli, databases, fingerprint, IMAGE_NEW, IMAGE_OLD, loadChinook, requireDocker, startPostgres, tempDir, type PgTestContainer } from './harness';

describe('across PostgreSQL majors (old and new image)', function () {
  let old: PgTestContainer;
  let neu: PgTestContainer;
  let dir: string;

  before(async function () {
    await requireDocker();
    [old, neu] = await Promise.all([startPostgres('v-old', { image: IMAGE_OLD }), startPostgres('v-new', { image: IMAGE_NEW })]);
    await Promise.all([loadChinook(old), loadChinook(neu)]);
    dir = await tempDir('versions');
  });
  after(cleanup);

  it('restores a backup of the old server into the new one, content equal', async function () {
    const expected = await fingerprint(old, 'chinook');
    for (const format of ['sql', 'custom']) {
      const b = await cli(['backup', old.name, '--database', 'chinook', '--format', format, '--dir', dir, '--json']);
      assert.equal(b.code, 0, b.stderr);
      const r = await cli(['restore', (b.json as { path: string }).path, '--to', neu.name, '--database', `from_old_${format}`, '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await fingerprint(neu, `from_old_${format}`), expected);
    }
  });

  it('refuses a backup of the new server for the old one before anything changes', async function () {
    const before = await fingerprint(old, 'chinook');
    const dbsBefore = await databases(old);
    for (const format of ['sql', 'custom']) {
      const b = await cli(['backup', neu.name, '--database', 'chinook', '--format', format, '--dir', dir, '--json']);
      assert.equal(b.code, 0, b.stderr);
      const r = await cli(['restore', (b.json as { path: string }).path, '--to', old.name, '--database', 'chinook', '--yes']);
      assert.equal(r.code, 2, 'refused');
      assert.match(r.stderr, /made by pg_dump 17[.\d]*, newer than PostgreSQL 15 in \S+: a dump from a newer pg_dump cannot be restored into an older server/);
      assert.match(r.stderr, /Nothing was changed/);
    }
    assert.deepEqual(await databases(old), dbsBefore, 'no database was created or renamed');
    assert.deepEqual(await fingerprint(old, 'chinook'), before);
  });
});
