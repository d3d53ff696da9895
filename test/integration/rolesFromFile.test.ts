import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { IMAGE_NEW, IMAGE_OLD, cleanup, cli, databases, docker, fingerprint, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';

/**
 * `restore --create-roles` with the roles file `backup --all` wrote: a PostgreSQL 15 cluster whose tables are
 * owned by a LOGIN role (with a password) and by a SUPERUSER role, backed up with --all, restored into a fresh
 * PostgreSQL 17 container that has neither role.
 */
describe('restore --create-roles from the roles file of backup --all (15 → 17)', function () {
  let source: PgTestContainer;
  let target: PgTestContainer;
  let dir: string;
  let backup: string;
  const appPassword = "app pw 'quoted' 1";

  before(async function () {
    await requireDocker();
    [source, target] = await Promise.all([startPostgres('rf-src', { image: IMAGE_OLD }), startPostgres('rf-dst', { image: IMAGE_NEW })]);
    await sql(source, 'postgres', `CREATE ROLE shop_app LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD 'app pw ''quoted'' 1'; CREATE ROLE power_owner SUPERUSER NOLOGIN`);
    await sql(source, 'postgres', 'CREATE DATABASE shop');
    await sql(source, 'shop', `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g; ALTER TABLE items OWNER TO shop_app;
      CREATE TABLE audit (at timestamptz DEFAULT now(), what text); INSERT INTO audit (what) VALUES ('x'); ALTER TABLE audit OWNER TO power_owner`);
    dir = await tempDir('rolesfile');
    const r = await cli(['backup', '--all', '--container', source.name, '--dir', dir, '--format', 'custom', '--with-role-passwords', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const items = (r.json as { results: { database: string | null; kind: string; path: string }[] }).results;
    backup = items.find((i) => i.database === 'shop')!.path;
    assert.ok(items.some((i) => i.kind === 'roles'), 'the roles file was written');
  });
  after(cleanup);

  const role = async (name: string) => (await sql(target, 'postgres', `SELECT concat_ws(',', rolcanlogin::int, rolsuper::int, rolcreatedb::int, rolconnlimit) FROM pg_roles WHERE rolname = '${name}'`)).trim();
  const owners = async (db: string) => (await sql(target, db, `SELECT string_agg(tablename || '=' || tableowner, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`)).trim();
  /** A password login over TCP (connections over the socket are trusted without one). */
  const login = (user: string, password: string, db: string) =>
    docker().exec(target.name, ['psql', '-X', '-w', '-h', '127.0.0.1', '-U', user, '-d', db, '-Atc', 'SELECT current_user'], { env: { PGPASSWORD: password } });
  const restore = (...flags: string[]) => cli(['restore', backup, '--to', target.name, '--yes', '--no-checks', ...flags]);

  it('--dry-run shows the roles from the file with their attributes, and SUPERUSER withheld', async function () {
    const r = await restore('--create-roles', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Create the missing roles in \S+ from the roles file roles_\d{8}_\d{6}\.sql .*"power_owner" [^;]*NOLOGIN[^;]*; "shop_app" [^;]*CREATEDB LOGIN[^;]*CONNECTION LIMIT 7 and its password from the file/);
    assert.match(r.stdout, /The roles file gives "power_owner" SUPERUSER: it is created WITHOUT it \(--allow-privileged-roles keeps it\)/);
    assert.doesNotMatch(r.stdout, /SCRAM-SHA-256/, 'no password verifier in the plan');
    assert.equal(await role('shop_app'), '', 'nothing was created');
    // the same backup where no roles file is beside it: NOLOGIN, and the plan says why
    const alone = path.join(await tempDir('rolesfile-alone'), source.name, 'shop');
    await fs.mkdir(alone, { recursive: true });
    for (const f of [backup, `${backup}.json`]) await fs.copyFile(f, path.join(alone, path.basename(f)));
    const bare = await cli(['restore', path.join(alone, path.basename(backup)), '--to', target.name, '--create-roles', '--dry-run', '--dir', alone]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stdout, /No roles file of the backup's container in .+ \(backup --all writes one\): create "power_owner", "shop_app" in \S+ as NOLOGIN/);
  });

  it('a hostile --roles-file is refused naming its line, with nothing created', async function () {
    const evil = path.join(dir, 'evil.sql');
    await fs.writeFile(evil, "CREATE ROLE shop_app;\nALTER ROLE shop_app WITH LOGIN;\nCREATE ROLE x; DROP DATABASE postgres;\n");
    const r = await restore('--roles-file', evil);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /evil\.sql cannot be used .*line 3: "DROP DATABASE postgres;" is not a statement pg_dumpall writes/);
    assert.match(r.stderr, /--create-roles=nologin/);
    assert.equal(await role('shop_app'), '');
    assert.ok(!(await databases(target)).some((d) => d.includes('shop')), 'no database was created');
  });

  it('creates the missing roles from the file: shop_app can log in with its password, power_owner is no superuser', async function () {
    const r = await restore('--create-roles', '--json');
    assert.equal(r.code, 0, r.stderr);
    const roles = (r.json as { roles: { created: string[]; definitions: { name: string; withheld: string[] }[] } }).roles;
    assert.deepEqual(roles.created.sort(), ['power_owner', 'shop_app']);
    assert.deepEqual(roles.definitions.find((d) => d.name === 'power_owner')?.withheld, ['superuser']);
    assert.doesNotMatch(r.stdout, /SCRAM-SHA-256/);
    assert.equal(await role('shop_app'), '1,0,1,7', 'LOGIN, CREATEDB and the connection limit from the file');
    assert.equal(await role('power_owner'), '0,0,0,-1', 'created without SUPERUSER');
    assert.equal(await owners('shop'), 'audit=power_owner,items=shop_app');
    assert.deepEqual(await fingerprint(target, 'shop'), await fingerprint(source, 'shop'));
    const ok = await login('shop_app', appPassword, 'shop');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'shop_app');
    const wrong = await login('shop_app', 'not the password', 'shop');
    assert.notEqual(wrong.exitCode, 0, 'a wrong password is refused');
    assert.match(wrong.stderr, /password authentication failed/);
  });

  it('--allow-privileged-roles keeps SUPERUSER; an existing role is never altered', async function () {
    await sql(target, 'postgres', 'DROP DATABASE shop WITH (FORCE)');
    await sql(target, 'postgres', 'DROP ROLE power_owner; ALTER ROLE shop_app NOCREATEDB CONNECTION LIMIT 2');
    const r = await restore('--create-roles', '--allow-privileged-roles');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /"power_owner" gets SUPERUSER from the roles file \(--allow-privileged-roles\)/);
    assert.equal(await role('power_owner'), '0,1,0,-1', 'SUPERUSER kept');
    assert.equal(await role('shop_app'), '1,0,0,2', 'the existing role kept its own attributes');
  });
});
