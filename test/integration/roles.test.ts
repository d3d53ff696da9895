import * as assert from 'node:assert/strict';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { cleanup, cli, databases, docker, fingerprint, loadChinook, requireDocker, sql, startPostgres, tempDir, type Fingerprint, type PgTestContainer } from './harness';

/**
 * A dump whose objects are owned by `app_owner`, restored into a container whose superuser is another role
 * and which has no `app_owner`: refused with the ways out, then each way out.
 */
describe('roles a dump refers to that the target lacks', function () {
  let source: PgTestContainer;
  let target: PgTestContainer;
  let custom: string;
  let plain: string;
  let original: Fingerprint;

  before(async function () {
    await requireDocker();
    [source, target] = await Promise.all([startPostgres('roles-src'), startPostgres('roles-dst', { user: 'boss' })]);
    await loadChinook(source);
    await sql(source, 'postgres', 'CREATE ROLE app_owner');
    await sql(source, 'chinook', `DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP EXECUTE format('ALTER TABLE public.%I OWNER TO app_owner', t); END LOOP; END $$`);
    const dir = await tempDir('roles');
    custom = (await backupDatabase(docker(), { container: source.name, database: 'chinook', dir, format: 'custom' })).path;
    plain = (await backupDatabase(docker(), { container: source.name, database: 'chinook', dir })).path;
    original = await fingerprint(source, 'chinook');
    await sql(target, 'postgres', 'CREATE ROLE app');
  });
  after(cleanup);

  const owners = async (db: string) => (await sql(target, db, `SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'`)).trim();
  const roles = async () => (await sql(target, 'postgres', `SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname !~ '^pg_'`)).trim();
  const restore = (file: string, db: string, ...flags: string[]) => cli(['restore', file, '--to', target.name, '--database', db, '--yes', '--no-checks', ...flags]);

  it('refuses before anything starts, naming the missing role and the flags', async function () {
    for (const file of [custom, plain]) {
      const r = await restore(file, 'refused');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /refers to role "app_owner" that .* lacks/);
      assert.match(r.stderr, /--create-roles .*--no-owner .*--role-map app_owner=/);
    }
    assert.ok(!(await databases(target)).some((d) => d.startsWith('refused')), 'no database was created');
    assert.equal(await roles(), 'app,boss');
  });

  it('--no-owner: the target’s user owns everything (custom and plain), no role is left behind', async function () {
    for (const [file, db] of [[custom, 'no_owner_custom'], [plain, 'no_owner_plain']]) {
      const r = await restore(file, db, '--no-owner');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await owners(db), 'boss');
      assert.deepEqual((await fingerprint(target, db)).tables, original.tables);
    }
    assert.equal(await roles(), 'app,boss', 'the plain restore’s stand-in was dropped');
  });

  it('--role-map app_owner=app: the mapped role owns everything (custom and plain)', async function () {
    for (const [file, db] of [[custom, 'mapped_custom'], [plain, 'mapped_plain']]) {
      const r = await restore(file, db, '--role-map', 'app_owner=app');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await owners(db), 'app');
      assert.deepEqual((await fingerprint(target, db)).tables, original.tables);
    }
    assert.equal(await roles(), 'app,boss', 'the stand-in was dropped');
  });

  it('--create-roles: app_owner is created (NOLOGIN) and owns what it owned', async function () {
    const r = await restore(plain, 'created', '--create-roles=nologin');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await owners('created'), 'app_owner');
    assert.equal((await sql(target, 'postgres', `SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_owner'`)).trim(), 'f');
    assert.deepEqual((await fingerprint(target, 'created')).tables, original.tables);
  });
});
