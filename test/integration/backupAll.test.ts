import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { IMAGE_OLD, cleanup, cli, createNetwork, docker, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';

interface Result {
  container: string;
  database: string | null;
  kind: string;
  path?: string;
  error?: string;
}

async function roleNames(pg: PgTestContainer): Promise<string[]> {
  return (await sql(pg, 'postgres', "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1")).split('\n').filter(Boolean);
}

describe('backup --all and roles create-missing against real Postgres containers', function () {
  let a: PgTestContainer;
  let b: PgTestContainer;
  let stopped: PgTestContainer;
  let target: PgTestContainer;
  let dir: string;
  const hits: { url: string; body: Record<string, unknown> }[] = [];
  let monitor: http.Server;
  let notifyUrl: string;

  before(async function () {
    await requireDocker();
    const network = await createNetwork('all');
    [a, b, stopped, target] = await Promise.all([
      startPostgres('all-a', { network, alias: 'a', user: 'owner_a', password: 'pw-a', db: 'shop' }),
      startPostgres('all-b', { network, alias: 'b', image: IMAGE_OLD, user: 'owner_b', password: 'pw-b' }),
      startPostgres('all-stopped', { network, alias: 'c' }),
      startPostgres('all-target', { network, alias: 't', user: 'other', password: 'pw-t' }),
    ]);
    await sql(a, 'postgres', 'CREATE DATABASE crm');
    await sql(a, 'postgres', 'CREATE DATABASE "shop__before_restore_20260101_000000"');
    await sql(a, 'shop', 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g');
    await sql(a, 'postgres', `CREATE ROLE app LOGIN PASSWORD 'app-pw' CONNECTION LIMIT 7; CREATE ROLE "Report Readers" NOLOGIN; CREATE ROLE admin2 SUPERUSER LOGIN PASSWORD 'adm'; GRANT "Report Readers" TO app`);
    await docker().stopContainer(stopped.name);
    dir = await tempDir('backup-all');
    monitor = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hits.push({ url: req.url!, body: JSON.parse(body || '{}') });
        res.writeHead(200).end('OK');
      });
    });
    await new Promise<void>((r) => monitor.listen(0, '127.0.0.1', r));
    notifyUrl = `http://127.0.0.1:${(monitor.address() as AddressInfo).port}/ping/all-token`;
  });

  after(async function () {
    monitor?.closeAllConnections();
    monitor?.close();
    await cleanup();
  });

  it('backs up every database of the running containers, reports the stopped one as failed (exit 1), and writes roles files without passwords', async function () {
    const r = await cli(['backup', '--all', '--container', a.name, '--container', b.name, '--container', stopped.name, '--dir', dir, '--notify', notifyUrl, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const results = (r.json!.results as Result[]).map((x) => ({ ...x }));
    const dbs = results.filter((x) => x.kind === 'database').map((x) => `${x.container === a.name ? 'a' : 'b'}/${x.database}`).sort();
    assert.deepEqual(dbs, ['a/crm', 'a/postgres', 'a/shop', 'b/owner_b', 'b/postgres'], 'every database, none kept for undo, no templates');
    for (const x of results.filter((y) => y.kind !== 'container')) {
      assert.ok(x.path && !x.error, `${x.container}/${x.database} succeeded`);
      await fs.access(x.path!);
    }
    const failed = results.filter((x) => x.error);
    assert.equal(failed.length, 1);
    assert.equal(failed[0].container, stopped.name);
    assert.match(failed[0].error!, /is not running \(it is exited\)/);
    const roles = results.filter((x) => x.kind === 'roles');
    assert.equal(roles.length, 2);
    for (const x of roles) {
      assert.match(x.path!, new RegExp(`/${x.container}/\\.roles/roles_\\d{8}_\\d{6}\\.sql$`));
      const text = await fs.readFile(x.path!, 'utf8');
      assert.match(text, /CREATE ROLE/);
      assert.doesNotMatch(text, /PASSWORD|SCRAM-SHA-256\$/, 'no password in a default roles file');
      const manifest = JSON.parse(await fs.readFile(x.path! + '.json', 'utf8'));
      assert.equal(manifest.kind, 'roles');
      assert.equal(manifest.withPasswords, false);
      assert.equal(((await fs.stat(x.path!)).mode & 0o777).toString(8), '600');
    }
    const aRoles = JSON.parse(await fs.readFile(roles.find((x) => x.container === a.name)!.path! + '.json', 'utf8')).roles;
    assert.deepEqual([...aRoles].sort(), ['Report Readers', 'admin2', 'app', 'owner_a']);
    // listings do not take a roles file for a database backup
    const listed = await cli(['backups', '--dir', dir, '--json']);
    assert.ok(!listed.stdout.includes('.roles'), 'backups does not list roles files');
    // the monitor heard the failure, at /fail, with every result
    assert.equal(hits.length, 1);
    assert.equal(hits[0].url, '/ping/all-token/fail');
    assert.equal(hits[0].body.ok, false);
    assert.equal((hits[0].body.results as Result[]).length, results.length);
  });

  it('with --with-role-passwords the roles file carries the password verifiers (exit 0 when all succeed)', async function () {
    const r = await cli(['backup', '--all', '--container', a.name, '--dir', dir, '--with-role-passwords', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const roles = (r.json!.results as Result[]).find((x) => x.kind === 'roles')!;
    const text = await fs.readFile(roles.path!, 'utf8');
    assert.match(text, /ALTER ROLE app WITH .*PASSWORD 'SCRAM-SHA-256\$/);
    assert.ok(!r.stderr.includes('SCRAM'), 'no verifier in the output');
  });

  it('prune --notify reports the deletions, and never touches the roles files', async function () {
    const rolesFolder = path.join(dir, a.name, '.roles');
    const rolesBefore = (await fs.readdir(rolesFolder)).sort();
    hits.length = 0;
    const r = await cli(['prune', '--dir', dir, '--container', a.name, '--keep-last', '1', '--yes', '--notify', notifyUrl, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.json!.deleted as string[]).length, 3, 'the older backup of each of the 3 databases');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].url, '/ping/all-token');
    assert.equal(hits[0].body.command, 'prune');
    assert.equal((hits[0].body.deleted as string[]).length, 3);
    assert.deepEqual((await fs.readdir(rolesFolder)).sort(), rolesBefore);
  });

  describe('roles create-missing', function () {
    let rolesFile: string;
    before(async function () {
      const folder = path.join(dir, a.name, '.roles');
      const files = (await fs.readdir(folder)).filter((f) => f.endsWith('.sql')).sort();
      rolesFile = path.join(folder, files[files.length - 1]);
      assert.match(await fs.readFile(rolesFile, 'utf8'), /SCRAM-SHA-256/, 'the newest file has the passwords');
    });

    it('--dry-run shows the missing roles and their dangerous attributes, and creates nothing', async function () {
      const before = await roleNames(target);
      const r = await cli(['roles', 'create-missing', rolesFile, '--to', target.name, '--dry-run', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((r.json!.missing as { name: string }[]).map((m) => m.name).sort(), ['Report Readers', 'admin2', 'app', 'owner_a']);
      assert.deepEqual((r.json!.dangerous as { name: string; dangerous: string[] }[]).map((d) => d.name).sort(), ['admin2', 'owner_a']);
      assert.ok(!r.stdout.includes('SCRAM'), 'the plan never shows a password');
      assert.deepEqual(await roleNames(target), before);
    });

    it('refuses SUPERUSER without --allow-superuser, and creates nothing', async function () {
      const before = await roleNames(target);
      const r = await cli(['roles', 'create-missing', rolesFile, '--to', target.name, '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /admin2 \(SUPERUSER\); owner_a \(SUPERUSER, REPLICATION, BYPASSRLS, CREATEROLE\).*--allow-superuser/);
      assert.deepEqual(await roleNames(target), before);
    });

    it('creates exactly the missing roles named, with their attributes and password', async function () {
      const r = await cli(['roles', 'create-missing', rolesFile, '--to', target.name, '--role', 'app', '--role', 'Report Readers', '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((r.json!.created as string[]).sort(), ['Report Readers', 'app']);
      assert.deepEqual(await roleNames(target), ['Report Readers', 'app', 'other']);
      assert.equal((await sql(target, 'postgres', "SELECT rolcanlogin || ',' || rolconnlimit FROM pg_roles WHERE rolname = 'app'")).trim(), 'true,7');
      // the password verifier came along: app logs in over TCP (scram) with its old password
      const login = await docker().exec(target.name, ['psql', '-X', '-h', '127.0.0.1', '-U', 'app', '-d', 'postgres', '-tAc', 'SELECT current_user'], { env: { PGPASSWORD: 'app-pw' } });
      assert.equal(login.stdout.trim(), 'app', login.stderr);
    });

    it('with --allow-superuser creates the rest and leaves existing roles alone', async function () {
      const r = await cli(['roles', 'create-missing', rolesFile, '--to', target.name, '--allow-superuser', '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((r.json!.created as string[]).sort(), ['admin2', 'owner_a']);
      assert.deepEqual((r.json!.present as string[]).sort(), ['Report Readers', 'app']);
      assert.equal((await sql(target, 'postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'admin2'")).trim(), 't');
      const again = await cli(['roles', 'create-missing', rolesFile, '--to', target.name, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.json!.missing, []);
    });

    it('refuses a tampered roles file before touching the server', async function () {
      const evil = path.join(dir, 'evil_roles.sql');
      await fs.writeFile(evil, `CREATE ROLE mallory;\nALTER ROLE mallory WITH LOGIN;\nCOPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';\n`);
      const before = await roleNames(target);
      const r = await cli(['roles', 'create-missing', evil, '--to', target.name, '--yes']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /evil_roles\.sql line 3: .*COPY/);
      assert.deepEqual(await roleNames(target), before);
    });
  });
});
