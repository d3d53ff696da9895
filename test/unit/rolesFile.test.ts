import * as assert from 'node:assert/strict';
import { PgBackupError } from '../../src/core/errors';
import { createRoleSql } from '../../src/core/restore/missingRoles';
import { dangerousAttributes, parseRolesFile } from '../../src/core/restore/rolesFile';
import { databasesToBackUp } from '../../src/core/backup/backupAll';
import { createdRoles } from '../../src/core/backup/backupRoles';
import { listRolesFiles, rolesDir } from '../../src/core/roles/rolesStore';
import { listBackups } from '../../src/core/store/backupStore';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** pg_dumpall 17 --roles-only output, as captured from the test image (passwords shortened). */
const PG17 = `--
-- PostgreSQL database cluster dump
--

\\restrict Fvvg1YSsoBNk1aC3PSDIlH6SbtE4DLCyU8dhqlNj3fCf0xis72u9Pbsa09RI1lS

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE "Mixed Role";
ALTER ROLE "Mixed Role" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 PASSWORD 'SCRAM-SHA-256$4096:nOxC6T9e==$UCMo=:Ulvp=' VALID UNTIL '2030-01-01 00:00:00+00';
COMMENT ON ROLE app IS 'the app''s role';
CREATE ROLE boss;
ALTER ROLE boss WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE rep;
ALTER ROLE rep WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN REPLICATION NOBYPASSRLS;

--
-- User Configurations
--

--
-- User Config "app"
--

ALTER ROLE app SET search_path TO 'public', 'x';


--
-- Role memberships
--

GRANT app TO "Mixed Role" WITH INHERIT TRUE GRANTED BY boss;




\\unrestrict Fvvg1YSsoBNk1aC3PSDIlH6SbtE4DLCyU8dhqlNj3fCf0xis72u9Pbsa09RI1lS

--
-- PostgreSQL database cluster dump complete
--

`;

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseRolesFile(text, 'evil.sql'),
    (e: unknown) => e instanceof PgBackupError && e.kind === 'refused' && pattern.test(e.message),
  );
}

describe('roles file parser', () => {
  it("reads pg_dumpall's roles output: names (quoted and folded), attributes, password kept apart", () => {
    const r = parseRolesFile(PG17);
    assert.deepEqual(r.roles.map((x) => x.name), ['Mixed Role', 'app', 'boss', 'rep']);
    const app = r.roles.find((x) => x.name === 'app')!;
    assert.deepEqual(app.attributes, { superuser: false, inherit: true, createrole: false, createdb: false, login: true, replication: false, bypassrls: false, connectionLimit: 5, validUntil: '2030-01-01 00:00:00+00' });
    assert.equal(app.password, 'SCRAM-SHA-256$4096:nOxC6T9e==$UCMo=:Ulvp=');
    assert.deepEqual(dangerousAttributes(r.roles.find((x) => x.name === 'boss')!.attributes), ['superuser', 'replication', 'bypassrls', 'createrole']);
    assert.deepEqual(dangerousAttributes(r.roles.find((x) => x.name === 'rep')!.attributes), ['replication']);
    assert.deepEqual(r.notApplied.map((n) => n.kind), ['comment', 'setting', 'membership']);
    assert.deepEqual(createdRoles(PG17), ['Mixed Role', 'app', 'boss', 'rep'], 'the manifest names the same roles');
  });

  it('reads the PG 15 membership form and a file without passwords', () => {
    const r = parseRolesFile(PG17.replace(' WITH INHERIT TRUE', '').replace(/ PASSWORD '[^']*'/, ''));
    assert.equal(r.roles.find((x) => x.name === 'app')!.password, undefined);
    assert.equal(r.notApplied.length, 3);
  });

  it('builds CREATE ROLE from the parsed data, quoting the name and the literals', () => {
    const r = parseRolesFile(`CREATE ROLE "we""ird";\nALTER ROLE "we""ird" WITH LOGIN CONNECTION LIMIT -1 PASSWORD 'it''s';\n`);
    assert.equal(createRoleSql(r.roles[0]), `CREATE ROLE "we""ird" WITH LOGIN CONNECTION LIMIT -1 PASSWORD 'it''s'`);
  });

  const hostile: [string, string, RegExp][] = [
    ['a shell escape', "CREATE ROLE app;\n\\! rm -rf /\n", /line 2: the psql meta-command/],
    ['\\connect', 'CREATE ROLE app;\n\\connect postgres\n', /line 2: the psql meta-command/],
    ['a second statement on the CREATE line', 'CREATE ROLE app; DROP DATABASE shop;\n', /line 1: .*DROP DATABASE/],
    ['DROP ROLE', 'DROP ROLE app;\n', /line 1: "DROP ROLE app;"/],
    ['a function call', "CREATE ROLE app;\nSELECT pg_read_file('/etc/passwd');\n", /line 2/],
    ['an unknown attribute', 'ALTER ROLE app WITH LOGIN ADMIN boss;\n', /"admin" is not a role attribute/],
    ['an ALTER ROLE RENAME', 'ALTER ROLE app RENAME TO boss;\n', /line 1/],
    ['a SET that turns off standard strings', "SET standard_conforming_strings = off;\nCREATE ROLE app;\n", /not one of the SET lines/],
    ['a SET of another setting', "SET session_authorization = 'boss';\n", /not one of the SET lines/],
    ['an E string', "ALTER ROLE app WITH PASSWORD E'x\\\\';\n", /prefixed string literals/],
    ['dollar quoting', 'ALTER ROLE app WITH PASSWORD $$x$$;\n', /character "\$"/],
    ['a missing semicolon', 'CREATE ROLE app\n', /does not end with ";"/],
    ['an unclosed string', "ALTER ROLE app WITH PASSWORD 'x;\n", /not closed|does not end/],
    ['a reserved role', 'CREATE ROLE pg_monitor;\n', /reserved role name/],
    ['a GRANT of privileges', 'GRANT ALL ON DATABASE shop TO app;\n', /line 1/],
    ['a parenthesis', 'CREATE ROLE app (x);\n', /character "\("/],
    ['a NUL byte', 'CREATE ROLE app;\n\u0000\n', /NUL/],
  ];
  for (const [what, text, pattern] of hostile) {
    it(`refuses ${what}`, () => refused(text, pattern));
  }
});

describe('backup --all choices', () => {
  it('takes every connectable database but the ones kept for undo or being restored', () => {
    const dbs = [
      { name: 'shop', allowConnections: true },
      { name: 'shop__before_restore_20260101_000000', allowConnections: true },
      { name: 'shop__restoring_20260101_000000', allowConnections: true },
      { name: 'closed', allowConnections: false },
      { name: 'postgres', allowConnections: true },
    ];
    assert.deepEqual(databasesToBackUp(dbs), ['shop', 'postgres']);
    assert.deepEqual(databasesToBackUp(dbs, ['postgres']), ['postgres']);
  });

  it('roles files are not listed as backups (the .roles folder), and are found newest first', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdbt-roles-'));
    try {
      const folder = rolesDir(dir, 'db');
      await fs.mkdir(folder, { recursive: true });
      await fs.writeFile(path.join(folder, 'roles_20260101_000000.sql'), PG17);
      await fs.writeFile(path.join(folder, 'roles_20260102_000000.sql'), PG17);
      await fs.writeFile(path.join(folder, 'roles_20260102_000000.sql.json'), JSON.stringify({ kind: 'roles' }));
      assert.deepEqual(await listBackups(dir), []);
      assert.deepEqual((await listRolesFiles(dir, 'db')).map((f) => path.basename(f.path)), ['roles_20260102_000000.sql', 'roles_20260101_000000.sql']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
