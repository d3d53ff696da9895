import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgBackupError } from '../../src/core/errors';
import { createRoleSql } from '../../src/core/restore/missingRoles';
import { decideRoles, rolesToCreate, type RolesFacts } from '../../src/core/restore/roles';
import { parseRolesFile } from '../../src/core/restore/rolesFile';
import { decideRoleDefinitions, findRolesFile, readRolesFileFacts, type RolesFileFacts } from '../../src/core/restore/rolesFromFile';

/** A roles file as pg_dumpall 15 writes it (no \restrict; verifiers shortened). */
const ROLES = `SET default_transaction_read_only = off;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';
CREATE ROLE boss;
ALTER ROLE boss WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE reader;
ALTER ROLE reader WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
ALTER ROLE reader SET search_path TO 'x';
GRANT app TO reader GRANTED BY boss;
`;

const facts = (text: string, file = '/b/c/.roles/roles_20260101_000000.sql'): RolesFileFacts => ({ path: file, lookedIn: [], ...parseRolesFile(text) });
const rolesFacts = (over: Partial<RolesFacts>): RolesFacts => ({ fileName: 'shop.dump', format: 'custom', container: 'db2', targetUser: 'postgres', needed: ['app', 'boss'], source: 'manifest', existing: ['postgres'], ...over });

describe('restore --create-roles from a roles file (the decision)', () => {
  it('creates the missing roles with the file’s attributes and password; privileged attributes are withheld and said so', () => {
    const d = decideRoleDefinitions(['app', 'boss', 'ghost'], facts(ROLES), { container: 'db2', allowPrivileged: false });
    assert.deepEqual(d.views.map((v) => [v.name, v.from, v.hasPassword]), [['app', 'file', true], ['boss', 'file', false], ['ghost', 'nologin', false]]);
    assert.deepEqual(d.views[1].withheld, ['superuser', 'replication', 'bypassrls', 'createrole']);
    assert.equal(createRoleSql(d.roles[1]), 'CREATE ROLE "boss" WITH INHERIT CREATEDB LOGIN', 'no SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS');
    assert.equal(createRoleSql(d.roles[2]), 'CREATE ROLE "ghost" WITH NOLOGIN');
    assert.match(createRoleSql(d.roles[0]), /^CREATE ROLE "app" WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 PASSWORD 'SCRAM-SHA-256\$4096:c2FsdA==\$a:b'$/);
    const text = d.steps.join('\n');
    assert.match(text, /from the roles file roles_20260101_000000\.sql .*"app" .*CREATEDB LOGIN.* and its password from the file; "boss" .*; "ghost" \(not in the file\) as NOLOGIN/);
    assert.match(text, /The roles file gives "boss" SUPERUSER, REPLICATION, BYPASSRLS, CREATEROLE: it is created WITHOUT them \(--allow-privileged-roles keeps them\)/);
    assert.match(text, /"boss" can log in only once given a password/);
    assert.doesNotMatch(text, /SCRAM/, 'no verifier in the plan');
  });

  it('keeps the privileged attributes only when allowed', () => {
    const d = decideRoleDefinitions(['boss'], facts(ROLES), { container: 'db2', allowPrivileged: true });
    assert.equal(createRoleSql(d.roles[0]), 'CREATE ROLE "boss" WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS');
    assert.match(d.steps.join('\n'), /"boss" gets SUPERUSER, REPLICATION, BYPASSRLS, CREATEROLE from the roles file \(--allow-privileged-roles\)/);
  });

  it('names what is not applied for the created roles (settings, memberships)', () => {
    const d = decideRoleDefinitions(['reader'], facts(ROLES), { container: 'db2', allowPrivileged: false });
    assert.match(d.steps.join('\n'), /Not applied from the roles file: setting of reader, membership of app → reader/);
  });

  it('without a roles file: NOLOGIN, and the plan says where it looked', () => {
    const d = decideRoleDefinitions(['app'], { lookedIn: ['/backups/db1/.roles'] }, { container: 'db2', allowPrivileged: false });
    assert.equal(createRoleSql(d.roles[0]), 'CREATE ROLE "app" WITH NOLOGIN');
    assert.match(d.steps[0], /^No roles file of the backup's container in \/backups\/db1\/\.roles \(backup --all writes one\): create "app" in db2 as NOLOGIN/);
  });

  it('a roles file that cannot be used is refused, with the ways out', () => {
    assert.throws(
      () => decideRoleDefinitions(['app'], { path: '/x/evil.sql', lookedIn: [], error: 'evil.sql line 2: "DROP DATABASE shop;" is not a statement pg_dumpall writes for roles' }, { container: 'db2', allowPrivileged: false }),
      (e: unknown) => e instanceof PgBackupError && e.kind === 'refused' && /evil\.sql cannot be used to create "app": .*line 2.*--create-roles=nologin/.test(e.message),
    );
  });

  it('only the missing roles are created (an existing one is never touched), and the plan’s JSON has no password', () => {
    const plan = decideRoles(rolesFacts({ existing: ['postgres', 'boss'], rolesFile: facts(ROLES) }), { createRoles: 'file' });
    assert.deepEqual(plan.create, ['app']);
    assert.deepEqual(rolesToCreate(plan).map((r) => r.name), ['app']);
    assert.equal(rolesToCreate(plan)[0].password, 'SCRAM-SHA-256$4096:c2FsdA==$a:b');
    assert.equal(plan.rolesFile, '/b/c/.roles/roles_20260101_000000.sql');
    assert.doesNotMatch(JSON.stringify(plan), /SCRAM/);
  });

  it('a broken roles file does not matter when no role is missing; --roles-file needs --create-roles (not =nologin)', () => {
    const plan = decideRoles(rolesFacts({ existing: ['app', 'boss'], rolesFile: { path: '/x', lookedIn: [], error: 'bad' } }), { createRoles: 'file' });
    assert.deepEqual(plan.create, []);
    assert.throws(() => decideRoles(rolesFacts({}), { createRoles: 'nologin', rolesFile: '/x' }), /--roles-file goes with --create-roles/);
  });

  it('NOLOGIN roles and stand-ins still come out of rolesToCreate as NOLOGIN', () => {
    const plan = decideRoles(rolesFacts({}), { createRoles: 'nologin' });
    assert.deepEqual(rolesToCreate(plan).map(createRoleSql), ['CREATE ROLE "app" WITH NOLOGIN', 'CREATE ROLE "boss" WITH NOLOGIN']);
  });
});

describe('restore --create-roles from a roles file (hostile files)', () => {
  let dir: string;
  before(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdbt-rff-'))));
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const hostile: [string, string, RegExp][] = [
    ['a second statement after CREATE ROLE', 'CREATE ROLE x; DROP DATABASE y;\n', /line 1: "DROP DATABASE y;"/],
    ['a shell escape', 'CREATE ROLE x;\n\\! touch /tmp/owned\n', /line 2: the psql meta-command "\\! touch \/tmp\/owned" would run outside the database/],
    ['COPY … PROGRAM', "CREATE ROLE x;\nCOPY t FROM PROGRAM 'id';\n", /line 2: "COPY t FROM PROGRAM 'id';"/],
    ['COPY … TO PROGRAM after the attributes', "ALTER ROLE x WITH LOGIN; COPY (SELECT 1) TO PROGRAM 'sh';\n", /character "\("/],
    ['an ALTER ROLE … WITH that runs a function', "ALTER ROLE x WITH LOGIN PASSWORD pg_read_file('/etc/passwd');\n", /character "\("|not a statement/],
    ['a DO block', "DO $$ BEGIN PERFORM 1; END $$;\n", /character "\$"/],
  ];
  for (const [what, text, pattern] of hostile) {
    it(`refuses ${what}: the file is not used, naming the line`, async () => {
      const file = path.join(dir, 'roles_20260101_000000.sql');
      await fs.writeFile(file, text);
      const f = await readRolesFileFacts(file);
      assert.equal(f.roles, undefined);
      assert.match(f.error ?? '', pattern);
      assert.throws(() => decideRoleDefinitions(['x'], f, { container: 'db2', allowPrivileged: false }), (e: unknown) => e instanceof PgBackupError && e.kind === 'refused');
    });
  }

  it('a password that tries to end the statement stays one quoted literal', () => {
    const d = decideRoleDefinitions(['x'], facts(`CREATE ROLE x;\nALTER ROLE x WITH LOGIN PASSWORD 'a'';DROP ROLE postgres;--';\n`), { container: 'db2', allowPrivileged: false });
    assert.equal(createRoleSql(d.roles[0]), `CREATE ROLE "x" WITH LOGIN PASSWORD 'a'';DROP ROLE postgres;--'`);
  });

  it('a roles file whose bytes do not match its manifest is not used', async () => {
    const file = path.join(dir, 'roles_20260102_000000.sql');
    await fs.writeFile(file, ROLES);
    await fs.writeFile(`${file}.json`, JSON.stringify({ kind: 'roles', sha256: '0'.repeat(64) }));
    assert.match((await readRolesFileFacts(file)).error ?? '', /does not match its manifest's sha256/);
  });

  it('finds the newest roles file in the .roles folder beside the backup’s database folder', async () => {
    const roles = path.join(dir, 'db1', '.roles');
    await fs.mkdir(path.join(dir, 'db1', 'shop'), { recursive: true });
    await fs.mkdir(roles, { recursive: true });
    for (const n of ['roles_20260101_000000.sql', 'roles_20260301_000000.sql', 'roles_20260201_000000.sql']) await fs.writeFile(path.join(roles, n), ROLES);
    const found = await findRolesFile(path.join(dir, 'db1', 'shop', 'shop_20260302_000000.dump'), 'db1', dir);
    assert.equal(found.path, path.join(roles, 'roles_20260301_000000.sql'));
    assert.deepEqual(await findRolesFile(path.join(dir, 'other', 'shop', 'x.dump'), 'other', dir), { lookedIn: [path.join(dir, 'other', '.roles')] });
  });
});
