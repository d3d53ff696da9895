import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backupAll } from '../../src/core/backup/backupAll';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { createDockerClient } from '../../src/core/docker/client';
import { runSql } from '../../src/core/postgres/client';
import { describeBackup } from '../../src/core/store/backupStore';
import type { ExtensionApi } from '../../src/extension/extension';
import { Prompts } from './prompts';

// Restore Tables… (the table picker) on a directory-format backup, and the missing-roles modal creating the
// roles from the roles file Back Up All wrote, against the compose-like stack test/host/run.ts starts.
const EXTENSION_ID = 'pg-docker-backup.pg-docker-backup';
const DB = process.env.PGDB_HOST_TEST_DB ?? '';
const PASSWORD = process.env.PGDB_HOST_TEST_PASSWORD ?? '';
const DIR = process.env.PG_DOCKER_BACKUP_DIR ?? '';
const docker = createDockerClient();
const sql = (db: string, text: string) => runSql(docker, { container: DB, containerName: DB, user: 'shop', password: PASSWORD }, db, text, 'host test SQL');

describe('Restore Tables… and the missing-roles modal', function () {
  const prompts = new Prompts();
  let api: ExtensionApi;
  const made: string[] = [];
  before(async () => {
    api = await vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID)!.activate();
    await api.model.refresh();
  });
  afterEach(() => prompts.restore());
  after(async () => {
    for (const f of made) for (const p of [f, `${f}.json`]) await fs.rm(p, { force: true });
    await sql('postgres', 'DROP DATABASE IF EXISTS host_two_tables WITH (FORCE)').catch(() => undefined);
    await sql('postgres', 'DROP DATABASE IF EXISTS rolesdb WITH (FORCE)').catch(() => undefined);
    await sql('postgres', 'DROP ROLE IF EXISTS host_owner; DROP ROLE IF EXISTS host_admin').catch(() => undefined);
    await api.model.refresh();
  });
  const node = async (file: string) => ({ kind: 'backup' as const, backup: await describeBackup(file, DIR) });

  it('Restore Tables… on a directory backup: the picker shows the tables with their row counts; the two picked are all the new database has', async function () {
    this.timeout(180_000);
    const backup = await backupDatabase(docker, { container: DB, database: 'chinook', dir: DIR, format: 'directory' });
    made.push(backup.path);
    const tableItems: { label: string; description?: string }[] = [];
    prompts.answer('showQuickPick', async (items) => {
      const list = items as unknown as { label: string; description?: string; table?: string }[];
      if (list.some((i) => i.table !== undefined)) {
        tableItems.push(...list);
        return list.filter((i) => i.table === 'album' || i.table === 'artist');
      }
      return list.find((i) => i.label.includes('Into a New Database'));
    });
    prompts.answer('showInputBox', async () => 'host_two_tables');
    prompts.answer('showWarningMessage', async () => 'Restore');
    prompts.answer('showInformationMessage', async () => undefined);
    prompts.answer('showErrorMessage', async (m) => assert.fail(`an error was shown: ${m}`));
    await vscode.commands.executeCommand('pgDockerBackup.restoreTables', await node(backup.path));
    assert.ok(tableItems.some((i) => i.label.endsWith(' album') && i.description === '347 rows'), 'the picker shows the row counts from the manifest');
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Restore 2 tables of chinook_.*\.dir\.tar into "host_two_tables"/);
    const tables = (await sql('host_two_tables', `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`)).trim();
    assert.equal(tables, 'album,artist', 'exactly the two tables picked');
    for (const t of ['album', 'artist']) {
      assert.equal((await sql('host_two_tables', `SELECT count(*) FROM ${t}`)).trim(), (await sql('chinook', `SELECT count(*) FROM ${t}`)).trim(), `${t} has every row`);
    }
  });

  it('a backup whose owner roles are missing: Create Missing Roles makes them from the roles file (LOGIN and password; SUPERUSER only on its own yes)', async function () {
    this.timeout(180_000);
    await sql('postgres', `CREATE ROLE host_owner LOGIN PASSWORD 'owner pw'; CREATE ROLE host_admin SUPERUSER NOLOGIN`);
    await sql('postgres', 'CREATE DATABASE rolesdb');
    await sql('rolesdb', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2); ALTER TABLE t OWNER TO host_owner; CREATE TABLE a (x int); ALTER TABLE a OWNER TO host_admin');
    const all = await backupAll(docker, { dir: DIR, containers: [DB], databases: ['rolesdb'], format: 'custom', withRolePasswords: true });
    assert.ok(all.ok, JSON.stringify(all.items));
    made.push(...all.items.filter((i) => i.path).map((i) => i.path!));
    const backup = all.items.find((i) => i.database === 'rolesdb')!.path!;
    await sql('postgres', 'DROP DATABASE rolesdb WITH (FORCE)');
    await sql('postgres', 'DROP ROLE host_owner; DROP ROLE host_admin');
    await api.model.refresh();
    prompts.answer('showWarningMessage', async (message) => {
      if (/needs roles/.test(message)) return 'Create Missing Roles';
      if (/privileged roles/.test(message)) return 'Create Without Them';
      return 'Restore';
    });
    prompts.answer('showInformationMessage', async () => undefined);
    prompts.answer('showErrorMessage', async (m) => assert.fail(`an error was shown: ${m}`));
    await vscode.commands.executeCommand('pgDockerBackup.restoreBackup', await node(backup));
    const modals = prompts.seen.filter((s) => s.fn === 'showWarningMessage');
    assert.match(modals[0]?.message ?? '', /needs roles that .* lacks: (host_admin, host_owner|host_owner, host_admin)/);
    assert.match(modals[1]?.detail ?? '', /host_admin: SUPERUSER/);
    assert.match(modals[2]?.detail ?? '', new RegExp(`from the roles file ${path.basename(all.items.find((i) => i.kind === 'roles')!.path!)}`));
    const roles = (await sql('postgres', `SELECT string_agg(rolname || '=' || rolcanlogin::int || rolsuper::int, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'host\\_%'`)).trim();
    assert.equal(roles, 'host_admin=00,host_owner=10', 'host_owner can log in; host_admin was made without SUPERUSER');
    assert.equal((await sql('rolesdb', `SELECT tableowner FROM pg_tables WHERE tablename = 't'`)).trim(), 'host_owner');
    const login = await docker.exec(DB, ['psql', '-X', '-w', '-h', '127.0.0.1', '-U', 'host_owner', '-d', 'rolesdb', '-Atc', 'SELECT count(*) FROM t'], { env: { PGPASSWORD: 'owner pw' } });
    assert.equal(login.exitCode, 0, login.stderr);
    assert.equal(login.stdout.trim(), '2', 'host_owner logs in with the password from the roles file');
  });
});
