import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { createDockerClient } from '../../src/core/docker/client';
import { generateIdentity } from '../../src/core/pipeline/keys';
import { runSql } from '../../src/core/postgres/client';
import type { ExtensionApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/nodes';
import { Prompts } from './prompts';

const EXTENSION_ID = 'pg-docker-backup.pg-docker-backup';
const DB = process.env.PGDB_HOST_TEST_DB ?? '';
const APP = process.env.PGDB_HOST_TEST_APP ?? '';
const PASSWORD = process.env.PGDB_HOST_TEST_PASSWORD ?? '';
const docker = createDockerClient();
const target = { container: DB, containerName: DB, user: 'shop', password: PASSWORD };
const sql = (db: string, text: string) => runSql(docker, target, db, text, 'host test SQL');

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('the extension inside VS Code', function () {
  let api: ExtensionApi;
  const prompts = new Prompts();
  afterEach(() => prompts.restore());

  async function tree(): Promise<{ db: Node & { kind: 'database' }; backups: (Node & { kind: 'backup' })[] }> {
    await api.model.refresh();
    const p = api.trees.containersProvider;
    const roots = await p.getChildren();
    const project = roots.find((n) => n.kind === 'project' && n.project === 'hostshop');
    assert.ok(project, `the compose project is a root: ${roots.map((r) => r.kind).join(', ')}`);
    const container = (await p.getChildren(project)).find((n) => n.kind === 'container' && n.container.name === DB);
    assert.ok(container);
    const db = (await p.getChildren(container)).find((n) => n.kind === 'database' && n.database.name === 'chinook') as Node & { kind: 'database' };
    assert.ok(db);
    const backups = (await p.getChildren(db)) as (Node & { kind: 'backup' })[];
    return { db, backups };
  }

  it('activates without a Docker call, and registers every contributed command', async function () {
    const ext = vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID);
    assert.ok(ext, 'the extension is installed');
    const t0 = Date.now();
    api = await ext.activate();
    console.log(`activation took ${Date.now() - t0} ms (including loading the bundle)`);
    assert.equal(api.model.state, 'idle', 'nothing was loaded before a view asked');
    const all = await vscode.commands.getCommands(true);
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(contributed.length >= 14);
    for (const c of contributed) assert.ok(all.includes(c), `${c} is registered`);
  });

  it('the containers tree shows the compose project, the container with its version, the database and its backup', async function () {
    const { db, backups } = await tree();
    const p = api.trees.containersProvider;
    const dbItem = p.getTreeItem(db);
    assert.equal(dbItem.label, 'chinook');
    assert.equal(dbItem.contextValue, 'pgDatabase');
    assert.match(String(dbItem.description), /MB/);
    const containerItem = p.getTreeItem({ kind: 'container', container: db.container });
    assert.match(String(containerItem.description), /PostgreSQL 1\d\./);
    assert.equal(containerItem.contextValue, 'pgContainer.running');
    assert.ok(backups.length >= 1, 'the backup made before the test is listed');
    const item = p.getTreeItem(backups[0]);
    assert.equal(item.contextValue, 'backup.local');
    assert.match(String(item.description), /(ago|just now) · .* · sql\.gz/);
    assert.ok(item.id && new Set([item.id, dbItem.id, containerItem.id]).size === 3, 'stable distinct ids');
  });

  it('Back Up Database on a database row asks for the format and writes the backup the tree then shows', async function () {
    const before = (await tree()).backups.length;
    prompts.answer('showQuickPick', async (items) => (items as unknown as { format: string }[]).find((i) => i.format === 'custom'));
    prompts.answer('showInformationMessage', async () => undefined);
    const { db } = await tree();
    const config = vscode.workspace.getConfiguration('pgDockerBackup');
    await config.update('backupEncoding', 'UTF8', vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('pgDockerBackup.backupDatabase', db);
    } finally {
      await config.update('backupEncoding', undefined, vscode.ConfigurationTarget.Global);
    }
    const after = (await tree()).backups;
    const manifest = JSON.parse(await fs.readFile(`${after[0].backup.path}.json`, 'utf8')) as { options: { encoding?: string } };
    assert.equal(manifest.options.encoding, 'UTF8', 'the backupEncoding setting reached pg_dump -E and the manifest');
    assert.equal(after.length, before + 1);
    assert.match(after[0].backup.fileName, /^chinook_\d{8}_\d{6}(_\d+)?\.dump$/);
    await fs.access(after[0].backup.path);
    assert.ok(prompts.seen.some((s) => s.fn === 'showInformationMessage' && /^Backed up chinook/.test(s.message)));
  });

  it('a schedule due in the next minute runs a real backup, encrypted to the recipients setting, and the tree shows it in words with its last and next run', async function () {
    this.timeout(300_000);
    const before = new Set((await tree()).backups.map((b) => b.backup.path));
    const now = new Date();
    const at = new Date(now.getTime() + (now.getSeconds() > 50 ? 120_000 : 60_000));
    const cron = `${at.getMinutes()} ${at.getHours()} * * *`;
    const config = vscode.workspace.getConfiguration('pgDockerBackup');
    const { recipient } = await generateIdentity();
    await config.update('encryption.recipients', [recipient], vscode.ConfigurationTarget.Global);
    await config.update('schedules', [{ cron, container: DB, database: 'chinook', format: 'custom' }], vscode.ConfigurationTarget.Global);
    try {
      const p = api.trees.containersProvider;
      const row = async () => {
        const section = (await p.getChildren()).find((n) => n.kind === 'schedules');
        const first = section ? (await p.getChildren(section))[0] : undefined;
        return first?.kind === 'schedule' ? first : undefined;
      };
      const pending = await waitFor('the schedule row', row, 10_000);
      const item = p.getTreeItem(pending);
      assert.match(String(item.label), new RegExp(`^At ${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}: ${DB}/chinook$`));
      assert.match(String(item.description), /^next in \S+ · last never$/);
      const ran = await waitFor('the scheduled run to finish', async () => ((await row())?.view?.lastOk !== undefined ? row() : undefined), 240_000);
      assert.equal(ran!.view!.lastOk, true, ran!.view!.lastError);
      assert.match(String(p.getTreeItem(ran!).description), /^next in \S+ · last \S+ ago ✓$/);
      const made = (await tree()).backups.filter((b) => !before.has(b.backup.path));
      assert.equal(made.length, 1, 'one real backup was written by the schedule');
      assert.match(made[0].backup.fileName, /^chinook_\d{8}_\d{6}(_\d+)?\.dump\.age$/, 'encrypted like Back Up would');
      assert.equal((await fs.readFile(made[0].backup.path)).subarray(0, 21).toString(), 'age-encryption.org/v1');
      assert.ok(made[0].backup.sizeBytes > 100_000, 'a whole database');
      const roles = await fs.readdir(`${process.env.PG_DOCKER_BACKUP_DIR}/${DB}/.roles`);
      assert.ok(roles.some((f) => /^roles_\d{8}_\d{6}\.sql$/.test(f)), 'the roles were saved too');
    } finally {
      await config.update('schedules', undefined, vscode.ConfigurationTarget.Global);
      await config.update('encryption.recipients', undefined, vscode.ConfigurationTarget.Global);
      // the later tests restore and verify the newest backups without a key: take the encrypted one away
      for (const b of (await tree()).backups.filter((x) => !before.has(x.backup.path))) {
        await fs.rm(b.backup.path, { force: true });
        await fs.rm(`${b.backup.path}.json`, { force: true });
      }
      await api.model.refresh();
    }
  });

  it('a database whose newest backup is older than maxBackupAge gets a warning icon and says why', async function () {
    const config = vscode.workspace.getConfiguration('pgDockerBackup');
    const icon = async () => {
      const { db } = await tree();
      const item = api.trees.containersProvider.getTreeItem(db);
      return { id: (item.iconPath as vscode.ThemeIcon).id, tooltip: String(item.tooltip), description: String(item.description) };
    };
    assert.equal((await icon()).id, 'symbol-field', 'a fresh backup: no warning');
    await config.update('maxBackupAge', '1s', vscode.ConfigurationTarget.Global);
    try {
      const stale = await waitFor('the stale mark', async () => ((await icon()).id === 'warning' ? icon() : undefined), 10_000);
      assert.match(stale!.tooltip, /Stale: the newest backup is \S+ old, more than 1s/);
      assert.match(stale!.description, /stale$/);
    } finally {
      await config.update('maxBackupAge', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the mark to go', async () => (await icon()).id === 'symbol-field', 10_000);
  });


  it('Verify Backup on two selected backups passes both, then a damaged copy fails; the tree shows verified / failed / never verified', async function () {
    const { backups } = await tree();
    assert.ok(backups.length >= 2);
    const p = api.trees.containersProvider;
    const good = backups.slice(0, 2);
    // a damaged copy beside them, never verified yet
    const copy = good[0].backup.path.replace(/(\.sql\.gz|\.dump)$/, '_9$1');
    const bytes = await fs.readFile(good[0].backup.path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x20;
    await fs.writeFile(copy, bytes);
    await fs.copyFile(good[0].backup.path + '.json', copy + '.json');
    try {
      const fresh = (await tree()).backups.find((b) => b.backup.path === copy)!;
      assert.ok(fresh, 'the copy is listed');
      assert.equal((p.getTreeItem(fresh).iconPath as vscode.ThemeIcon).id, 'archive');
      assert.match(String((p.getTreeItem(fresh).tooltip as vscode.MarkdownString).value), /Never verified/);
      prompts.answer('showInformationMessage', async () => undefined);
      prompts.answer('showErrorMessage', async () => undefined);
      const ok = (await vscode.commands.executeCommand('pgDockerBackup.verifyBackup', good[0], good)) as { status: string }[];
      assert.deepEqual(ok.map((r) => r.status), ['ok', 'ok']);
      assert.ok(prompts.seen.some((s) => s.fn === 'showInformationMessage' && /^2 backups verified/.test(s.message) && s.items.includes('Deep Verify')));
      const after = (await tree()).backups.find((b) => b.backup.path === good[1].backup.path)!;
      const item = p.getTreeItem(after);
      assert.match(String(item.description), /✓ verified/);
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass');
      assert.match(String((item.tooltip as vscode.MarkdownString).value), /Verified: quick verify/);

      const bad = (await vscode.commands.executeCommand('pgDockerBackup.verifyBackup', fresh)) as { status: string }[];
      assert.deepEqual(bad.map((r) => r.status), ['bad']);
      assert.ok(prompts.seen.some((s) => s.fn === 'showErrorMessage' && /is BAD: .*sha256|damaged/.test(s.message) && s.items.includes('Show Log')));
      const failedItem = p.getTreeItem((await tree()).backups.find((b) => b.backup.path === copy)!);
      assert.match(String(failedItem.description), /✗ verify failed/);
      assert.equal((failedItem.iconPath as vscode.ThemeIcon).id, 'error');
    } finally {
      await fs.rm(copy, { force: true });
      await fs.rm(copy + '.json', { force: true });
    }
  });

  it('Restore Backup on a backup row shows the plan in one modal and brings the content back', async function () {
    const { backups } = await tree();
    const tracks = (await sql('chinook', 'SELECT count(*) FROM playlist_track')).trim();
    await sql('chinook', 'DELETE FROM playlist_track');
    prompts.answer('showWarningMessage', async () => 'Restore');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.restoreBackup', backups[0]);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.ok(modal, 'a modal asked first');
    assert.match(modal.message, /^Restore chinook_.* into "chinook" in /);
    assert.match(modal.detail ?? '', new RegExp(`Stop ${APP}`));
    assert.equal((await sql('chinook', 'SELECT count(*) FROM playlist_track')).trim(), tracks, 'the rows are back');
    const done = prompts.seen.find((s) => s.fn === 'showInformationMessage');
    assert.ok(done && /^Restored "chinook"/.test(done.message) && done.items.includes('Undo Restore'));
  });

  it('declining the modal changes nothing', async function () {
    const { backups } = await tree();
    await sql('chinook', `UPDATE artist SET name = 'declined' WHERE artist_id = 1`);
    prompts.answer('showWarningMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.restoreBackup', backups[0]);
    assert.equal((await sql('chinook', 'SELECT name FROM artist WHERE artist_id = 1')).trim(), 'declined');
  });

  it('on a protected container, Reset needs the database name typed, and a wrong name changes nothing', async function () {
    await vscode.workspace.getConfiguration('pgDockerBackup').update('protectedContainers', [DB], vscode.ConfigurationTarget.Global);
    try {
      const { db } = await tree();
      assert.match(String(api.trees.containersProvider.getTreeItem({ kind: 'container', container: db.container }).description), /protected/);
      prompts.answer('showWarningMessage', async () => 'Reset');
      prompts.answer('showInputBox', async () => 'not-the-name');
      await vscode.commands.executeCommand('pgDockerBackup.resetDatabase', db);
      const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
      assert.match(modal?.detail ?? '', new RegExp(`These app containers are stopped and started again.*${APP}`));
      assert.ok(prompts.seen.some((s) => s.fn === 'showInputBox'), 'asked to type the name');
      assert.notEqual((await sql('chinook', 'SELECT count(*) FROM track')).trim(), '0', 'nothing was reset');
    } finally {
      await vscode.workspace.getConfiguration('pgDockerBackup').update('protectedContainers', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('Terminate Connections says how many sessions end, then ends them', async function () {
    const { db } = await tree();
    prompts.answer('showWarningMessage', async () => 'Terminate');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.terminateConnections', db);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Terminate \d+ sessions? of "chinook"/);
    assert.ok(prompts.seen.some((s) => s.fn === 'showInformationMessage' && /^Terminated \d+ session/.test(s.message)));
  });

  it('Delete Backup asks, then deletes the file and its manifest', async function () {
    const { backups } = await tree();
    const victim = backups[0].backup.path;
    prompts.answer('showWarningMessage', async () => 'Delete');
    await vscode.commands.executeCommand('pgDockerBackup.deleteBackup', backups[0], [backups[0]]);
    await assert.rejects(fs.access(victim));
    await assert.rejects(fs.access(victim + '.json'));
    assert.ok(!(await tree()).backups.some((b) => b.backup.path === victim));
  });

  it('Prune Backups on a Backup Folder group shows the deletions grouped, then deletes exactly those with their manifests', async function () {
    // 35 daily backups of a container that is not running (its folder is enough), one every day at 02:00Z
    const dir = `${process.env.PG_DOCKER_BACKUP_DIR}/prunehost/app`;
    await fs.mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (let i = 0; i < 35; i++) {
      const created = new Date(Date.UTC(2026, 0, 1 + i, 2, 0, 0));
      const file = `${dir}/app_${created.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15)}.sql.gz`;
      await fs.writeFile(file, 'x');
      const manifest = { manifestVersion: 2, tool: 't', file, container: 'prunehost', containerId: 'x', image: 'postgres:17', database: 'app', serverVersion: '17', pgDumpVersion: '17', format: 'sql', stages: [], options: { tables: [], schemas: [], noOwner: false }, bytes: 1, sha256: '', created: created.toISOString(), durationMs: 1, rowCounts: 'exact', tables: [] };
      await fs.writeFile(file + '.json', JSON.stringify(manifest));
      files.push(file);
    }
    await api.model.refresh();
    const top = await api.trees.folderProvider.getChildren();
    const folder = top.find((n) => n.kind === 'folder' && n.label === 'prunehost');
    assert.ok(folder, 'the Backup Folder view has the container group');
    // default policy 30 daily + 12 monthly: Jan 6 … Feb 4 daily, Jan 31 and Feb 4 monthly, and, as there
    // are only 2 months of the 12, the oldest (Jan 1) too: Jan 2 … Jan 5 go
    const doomed = files.slice(1, 5);
    prompts.answer('showWarningMessage', async () => 'Delete');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.pruneBackups', folder);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Delete 4 old backups .* in prunehost\?$/);
    assert.match(modal?.detail ?? '', /^prunehost \/ app: 4 to delete, 31 kept\n/);
    for (const f of doomed) assert.ok(modal?.detail?.includes(f.split('/').pop()!), `the modal lists ${f}`);
    for (const f of doomed) {
      await assert.rejects(fs.access(f));
      await assert.rejects(fs.access(f + '.json'));
    }
    for (const f of files.filter((x) => !doomed.includes(x))) await fs.access(f);
    assert.ok(prompts.seen.some((s) => s.fn === 'showInformationMessage' && /^Deleted 4 backups/.test(s.message)));
    await fs.rm(`${process.env.PG_DOCKER_BACKUP_DIR}/prunehost`, { recursive: true, force: true });
  });

  it('errors are one sentence with a Show Log button', async function () {
    prompts.answer('showErrorMessage', async () => undefined);
    prompts.answer('showWarningMessage', async () => 'Restore');
    prompts.answer('showQuickPick', async (items) => (items as unknown as { label: string }[]).find((i) => i.label === DB));
    prompts.answer('showInputBox', async () => 'chinook');
    const garbage = `${process.env.PG_DOCKER_BACKUP_DIR}/garbage_20261101_000000.dump`;
    await fs.writeFile(garbage, 'definitely not a dump');
    await api.model.refresh();
    const node = (await api.trees.folderProvider.getChildren()).find((n) => n.kind === 'backup' && n.backup.path === garbage);
    assert.ok(node, 'the folder view lists the loose file');
    await vscode.commands.executeCommand('pgDockerBackup.restoreBackup', node);
    const err = prompts.seen.find((s) => s.fn === 'showErrorMessage');
    assert.match(err?.message ?? '', /is not a PostgreSQL backup/);
    assert.deepEqual(err?.items, ['Show Log']);
  });
});
