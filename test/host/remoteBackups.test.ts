import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { createDockerClient } from '../../src/core/docker/client';
import { runSql } from '../../src/core/postgres/client';
import type { ExtensionApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/nodes';
import { Prompts } from './prompts';

// The Remote Backups view and its commands against s3rver, started on loopback by test/host/run.ts.
const EXTENSION_ID = 'pg-docker-backup.pg-docker-backup';
const DB = process.env.PGDB_HOST_TEST_DB ?? '';
const PASSWORD = process.env.PGDB_HOST_TEST_PASSWORD ?? '';
const docker = createDockerClient();
const sql = (db: string, text: string) => runSql(docker, { container: DB, containerName: DB, user: 'shop', password: PASSWORD }, db, text, 'host test SQL');

describe('Remote Backups (s3rver on loopback)', function () {
  const REMOTE = 'hosts3';
  const prompts = new Prompts();
  let api: ExtensionApi;
  afterEach(() => prompts.restore());
  // machine-scoped like the backup folder: set through the API (code-server reads such settings from the
  // remote machine's settings, not the user settings file the runner writes)
  const remotesSetting = () => vscode.workspace.getConfiguration('pgDockerBackup');
  before(async () => {
    assert.ok(process.env.PGDB_HOST_S3_ENDPOINT, 'no S3 server: run this suite through test/host/run.ts, which starts s3rver (npm ci installs it)');
    api = await vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID)!.activate();
    const remote = { name: REMOTE, url: `s3://${process.env.PGDB_HOST_S3_BUCKET}/backups`, endpoint: process.env.PGDB_HOST_S3_ENDPOINT };
    await remotesSetting().update('remotes', [remote], vscode.ConfigurationTarget.Global);
    for (const deadline = Date.now() + 10_000; api.remotes.remotes.length === 0; ) {
      assert.ok(Date.now() < deadline, `the setting reached the extension: ${api.remotes.problem ?? 'no remotes'}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await remotesSetting().update('remotes', undefined, vscode.ConfigurationTarget.Global);
  });

  const s3Requests = async () => (await fs.readFile(process.env.PGDB_HOST_S3_LOG ?? '', 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('"method"')).length;

  async function remoteRow(): Promise<Node & { kind: 'remote' }> {
    const roots = await api.trees.remoteProvider.getChildren();
    const remote = roots.find((n) => n.kind === 'remote' && n.remote.name === REMOTE);
    assert.ok(remote, `the configured remote is a root: ${roots.map((r) => r.kind).join(', ')}`);
    return remote as Node & { kind: 'remote' };
  }

  /** Expands remote → container → database → backups. */
  async function remoteBackups(): Promise<(Node & { kind: 'remoteBackup' })[]> {
    const p = api.trees.remoteProvider;
    const out: (Node & { kind: 'remoteBackup' })[] = [];
    for (const c of await p.getChildren(await remoteRow())) {
      if (c.kind === 'remoteError') assert.fail(c.message);
      if (c.kind !== 'remoteContainer') continue;
      for (const d of await p.getChildren(c)) for (const b of await p.getChildren(d)) if (b.kind === 'remoteBackup') out.push(b);
    }
    return out;
  }

  async function localBackups(): Promise<(Node & { kind: 'backup' })[]> {
    await api.model.refresh();
    const all: Node[] = [];
    const walk = async (nodes: Node[]) => {
      for (const n of nodes) n.kind === 'folder' ? await walk(n.children) : all.push(n);
    };
    await walk(await api.trees.folderProvider.getChildren());
    return all.filter((n): n is Node & { kind: 'backup' } => n.kind === 'backup' && n.backup.container === DB && n.backup.database === 'chinook');
  }

  it('lists nothing before a remote is expanded; without keys the remote shows one sentence with Retry and Set Remote Credentials', async function () {
    assert.equal(await s3Requests(), 0, 'no request reached the server at activation or while the views were listed');
    const remote = await remoteRow();
    assert.equal(await s3Requests(), 0, 'the remote row alone lists nothing');
    assert.equal(api.trees.remoteProvider.getTreeItem(remote).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const children = await api.trees.remoteProvider.getChildren(remote);
    const error = children.find((n) => n.kind === 'remoteError');
    assert.ok(error && error.kind === 'remoteError', `an error row: ${children.map((c) => c.kind).join(', ')}`);
    assert.match(error.message, /^Listing on remote "hosts3" failed: the credentials were refused or none were found;/);
    assert.doesNotMatch(error.message, /\n/);
    const actions = children.map((c) => api.trees.remoteProvider.getTreeItem(c)).filter((i) => i.command).map((i) => i.command!.command);
    assert.deepEqual(actions, ['pgDockerBackup.refreshRemotes', 'pgDockerBackup.setRemoteCredentials']);
  });

  it('Set Remote Credentials keeps the keys in SecretStorage (not in settings); the remote then lists, empty', async function () {
    const answers = ['S3RVER', 'S3RVER'];
    prompts.answer('showInputBox', async () => answers.shift());
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.setRemoteCredentials', await remoteRow());
    const secretPrompt = prompts.seen.filter((s) => s.fn === 'showInputBox');
    assert.equal(secretPrompt.length, 2);
    assert.ok(!JSON.stringify(vscode.workspace.getConfiguration('pgDockerBackup').get('remotes')).includes('S3RVER'), 'no key in the settings');
    const children = await api.trees.remoteProvider.getChildren(await remoteRow());
    assert.deepEqual(children.map((c) => c.kind), ['message'], JSON.stringify(children));
  });

  it('Upload to Remote with two local backups selected sends both; the tree shows them under container and database', async function () {
    // the custom format, then what Back Up Database offers first (codec, level)
    prompts.answer('showQuickPick', async (items) => ((i) => i.find((x) => x.format === 'custom') ?? i[0])(items as unknown as { format?: string }[]));
    prompts.answer('showInformationMessage', async () => undefined);
    const { db } = await (async () => {
      await api.model.refresh();
      const roots = await api.trees.containersProvider.getChildren();
      const project = roots.find((n) => n.kind === 'project' && n.project === 'hostshop')!;
      const container = (await api.trees.containersProvider.getChildren(project)).find((n) => n.kind === 'container')!;
      return { db: (await api.trees.containersProvider.getChildren(container)).find((n) => n.kind === 'database' && n.database.name === 'chinook')! };
    })();
    await vscode.commands.executeCommand('pgDockerBackup.backupDatabase', db);
    prompts.restore();
    const local = await localBackups();
    assert.ok(local.length >= 2, `two local backups: ${local.map((b) => b.backup.fileName).join(', ')}`);
    const chosen = local.slice(0, 2);
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.uploadToRemote', chosen[0], chosen);
    const done = prompts.seen.find((s) => s.fn === 'showInformationMessage');
    assert.match(done?.message ?? '', /^Uploaded 2 backups to "hosts3" \(.* in .*, .*\/s\)\.$/);
    const remote = await remoteBackups();
    assert.deepEqual(remote.map((r) => r.row.file).sort(), chosen.map((c) => c.backup.fileName).sort());
    for (const r of remote) {
      assert.equal(r.row.url, `s3://pgdb-host/backups/${DB}/chinook/${r.row.file}`);
      assert.equal(r.row.bytes, chosen.find((c) => c.backup.fileName === r.row.file)!.backup.sizeBytes);
      const item = api.trees.remoteProvider.getTreeItem(r);
      assert.match(String(item.description), /^(just now|\d+ min ago) · [\d.]+ [KM]B$/, 'age and size, not encrypted');
      assert.equal(item.contextValue, 'remoteBackup');
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'cloud');
    }
    prompts.restore();
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.uploadToRemote', chosen[0], [chosen[0]]);
    assert.match(prompts.seen.find((s) => s.fn === 'showInformationMessage')?.message ?? '', /was already on "hosts3" \(same sha256\): not sent again\.$/);
  });

  it('Restore from Remote downloads the backup into the backup folder (checked) and restores it: the rows are back', async function () {
    const [target] = (await remoteBackups()).filter((r) => r.row.file.endsWith('.dump'));
    assert.ok(target, 'the custom-format backup is on the remote');
    const local = (await localBackups()).find((b) => b.backup.fileName === target.row.file)!;
    // this machine lost its copy: the restore must come from the bucket
    await fs.rm(local.backup.path);
    await fs.rm(local.backup.path + '.json');
    const invoices = (await sql('chinook', 'SELECT count(*) FROM invoice_line')).trim();
    await sql('chinook', 'DELETE FROM invoice_line');
    prompts.answer('showWarningMessage', async () => 'Restore');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.restoreFromRemote', target);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', new RegExp(`^Restore ${target.row.file.replace(/\./g, '\\.')} into "chinook" in ${DB}\\?$`));
    assert.equal((await sql('chinook', 'SELECT count(*) FROM invoice_line')).trim(), invoices, 'the rows are back');
    await fs.access(local.backup.path);
    const manifest = JSON.parse(await fs.readFile(local.backup.path + '.json', 'utf8'));
    assert.equal(manifest.database, 'chinook', 'the manifest came back from the sidecar');
    // the message after the checks (a warning when one of them failed)
    assert.ok(prompts.seen.some((s) => /^Restored "chinook"/.test(s.message)), prompts.seen.map((s) => s.message).join('\n'));
  });

  it('Delete Remote Backup names exactly the objects in a modal, then deletes them with their sidecars', async function () {
    const before = await remoteBackups();
    assert.equal(before.length, 2);
    prompts.answer('showWarningMessage', async () => 'Delete');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.deleteRemoteBackup', before[0], [before[0]]);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', new RegExp(`^Delete ${before[0].row.file.replace(/\./g, '\\.')} \\(.*\\) from remote "hosts3"\\?$`));
    assert.equal(modal?.detail?.split('\n\n')[0].split('\n').length, 1, 'one object named');
    assert.ok(modal?.detail?.startsWith(before[0].row.url));
    const after = await remoteBackups();
    assert.deepEqual(after.map((r) => r.row.key), [before[1].row.key]);
    await api.remotes.withStore(REMOTE, async (store) => {
      assert.equal(await store.head(before[0].row.key), undefined, 'the object is gone');
      assert.equal(await store.readSidecar(before[0].row.key), undefined, 'its sidecar is gone');
      assert.ok(await store.readSidecar(before[1].row.key), 'the other one keeps its sidecar');
    });
  });
  it('Prune Remote shows the same grouped modal as a local prune and deletes exactly what a local prune would', async function () {
    // 35 daily backups (as in the local prune test above), uploaded together, then pruned on the remote
    const dir = `${process.env.PG_DOCKER_BACKUP_DIR}/prunehost2/app`;
    await fs.mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (let i = 0; i < 35; i++) {
      const created = new Date(Date.UTC(2026, 0, 1 + i, 2, 0, 0));
      const file = `app_${created.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15)}.sql.gz`;
      await fs.writeFile(`${dir}/${file}`, `backup ${i}`);
      const manifest = { manifestVersion: 2, tool: 't', file, container: 'prunehost2', containerId: 'x', image: 'postgres:17', database: 'app', serverVersion: '17', pgDumpVersion: '17', format: 'sql', stages: [], options: { tables: [], schemas: [], noOwner: false }, bytes: 9, sha256: '', created: created.toISOString(), durationMs: 1, rowCounts: 'exact', tables: [] };
      await fs.writeFile(`${dir}/${file}.json`, JSON.stringify(manifest));
      files.push(file);
    }
    await api.model.refresh();
    const all: Node[] = [];
    const walk = async (nodes: Node[]) => {
      for (const n of nodes) n.kind === 'folder' ? await walk(n.children) : all.push(n);
    };
    await walk(await api.trees.folderProvider.getChildren());
    const selected = all.filter((n) => n.kind === 'backup' && n.backup.container === 'prunehost2');
    assert.equal(selected.length, 35);
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.uploadToRemote', selected[0], selected);
    await fs.rm(`${process.env.PG_DOCKER_BACKUP_DIR}/prunehost2`, { recursive: true, force: true });
    const onRemote = () => remoteBackups().then((rs) => rs.filter((r) => r.row.container === 'prunehost2').map((r) => r.row.file).sort());
    assert.deepEqual(await onRemote(), files);
    prompts.restore();
    prompts.answer('showWarningMessage', async () => 'Delete');
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.pruneRemote', await remoteRow());
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Delete 4 old backups \(.*\) on remote "hosts3"\?$/);
    assert.match(modal?.detail ?? '', /^prunehost2 \/ app: 4 to delete, 31 kept\n/);
    // the same four the local prune test deletes: Jan 2 … Jan 5
    const doomed = files.slice(1, 5);
    for (const f of doomed) assert.ok(modal?.detail?.includes(f), `the modal lists ${f}`);
    assert.deepEqual(await onRemote(), files.filter((f) => !doomed.includes(f)));
    assert.ok(prompts.seen.some((s) => s.fn === 'showInformationMessage' && /^Deleted 4 backups on remote "hosts3"\.$/.test(s.message)));
  });
  it('a schedule with uploadAfter uploads the backup it made to the remote', async function () {
    this.timeout(300_000);
    const onRemote = async () => new Set((await remoteBackups()).filter((r) => r.row.container === DB).map((r) => r.row.file));
    const before = await onRemote();
    const localBefore = new Set((await localBackups()).map((b) => b.backup.fileName));
    const now = new Date();
    const at = new Date(now.getTime() + (now.getSeconds() > 50 ? 120_000 : 60_000));
    const config = vscode.workspace.getConfiguration('pgDockerBackup');
    await config.update('schedules', [{ cron: `${at.getMinutes()} ${at.getHours()} * * *`, container: DB, database: 'chinook', format: 'custom', uploadAfter: true }], vscode.ConfigurationTarget.Global);
    try {
      const p = api.trees.containersProvider;
      const row = async () => {
        const section = (await p.getChildren()).find((n) => n.kind === 'schedules');
        const first = section ? (await p.getChildren(section))[0] : undefined;
        return first?.kind === 'schedule' && first.view?.lastOk !== undefined ? first : undefined;
      };
      let ran: Awaited<ReturnType<typeof row>>;
      for (const deadline = Date.now() + 240_000; !(ran = await row()); ) {
        assert.ok(Date.now() < deadline, 'the scheduled run finished within 4 minutes');
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.equal(ran.view!.lastOk, true, ran.view!.lastError);
      const made = (await localBackups()).filter((b) => !localBefore.has(b.backup.fileName));
      assert.equal(made.length, 1, 'the schedule wrote one backup');
      api.remotes.invalidate(REMOTE);
      const after = await onRemote();
      assert.deepEqual([...after].filter((f) => !before.has(f)), [made[0].backup.fileName], 'that backup, and only it, is now on the remote');
    } finally {
      await config.update('schedules', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
