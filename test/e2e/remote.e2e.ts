/**
 * End to end, Remote Backups: the packaged extension (.vsix) in code-server (a real VS Code 1.100)
 * driven by Chromium through Playwright, against a real S3 API server on loopback (s3rver, started
 * here by test/integration/remoteServers.ts) configured in the `pgDockerBackup.remotes` setting.
 * What a person does: the view says the keys are missing -> Set Remote Credentials… (SecretStorage,
 * never settings) -> right-click a local backup -> Upload to Remote… -> the backup shows under
 * container › database in Remote Backups -> the local copy is lost -> Restore from Remote… (confirm)
 * -> the rows are back (psql) -> Delete Remote Backup… (confirm) -> gone from the view and the bucket.
 *
 *   npm run test:e2e -- remote                       # installs/builds/packages first (run.ts)
 *   node --import=tsx test/e2e/remote.e2e.ts         # uses ./pg-docker-backup.vsix and dist/cli.js as they are
 *
 * Run under `flock /tmp/pgdb-vscode.lock`. Environment: E2E_VSIX, E2E_CODE_SERVER_ENTRY (set by
 * run.ts), E2E_HEADED=1, PGDB_TEST_IMAGE_NEW. Prints `N passed, M failed` last; exits non-zero on a
 * failure, with a screenshot, the sidebar's HTML and code-server's log in a temp folder.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { parseRemote } from '../../src/core/store/remote/remoteConfig';
import { openRemoteStore } from '../../src/core/store/remote/remoteStore';
import { cleanup, cli, requireDocker, sql, startPostgres, type PgTestContainer } from '../integration/harness';
import { S3_KEYS, startS3Server, type TestServer } from '../integration/remoteServers';
import {
  clickActivityBar, ensureCodeServer, installVsix, makeProfile, openWorkbench, projectRoot, runCommand,
  startCodeServer, tempDir, waitForNotification, waitUntil, type CodeServer, type Workbench,
} from './harness';
import { contextMenu, expand, inputBox, modal, notificationText, rows, setPane, viewPane, waitNoRow, waitRow } from './views';

const VSIX = process.env.E2E_VSIX || path.join(projectRoot, 'pg-docker-backup.vsix');
const CLI = path.join(projectRoot, 'dist', 'cli.js');
const BUCKET = 'pgdb-e2e';
const REMOTE = 'e2e-offsite';
const DB = 'shop';
const ROWS = 250;

interface State {
  root: string;
  backupDir: string;
  s3?: TestServer;
  pg?: PgTestContainer;
  server?: CodeServer;
  wb?: Workbench;
  /** the local backup's file name and path */
  file?: string;
  local?: string;
  failDir?: string;
}

const results: { name: string; ok: boolean }[] = [];

async function step(st: State, name: string, fn: () => Promise<void>, needs = true): Promise<boolean> {
  const t0 = Date.now();
  if (!needs) {
    results.push({ name, ok: false });
    console.log(`✗ ${name}: not run (an earlier step it needs failed)`);
    return false;
  }
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`✗ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${String((e as Error).stack ?? e).replace(/^/gm, '    ')}`);
    await saveFailure(st, name).catch((err) => console.log(`    (could not save the failure: ${String(err)})`));
    for (let i = 0; i < 3; i++) await st.wb?.page.keyboard.press('Escape').catch(() => undefined);
    return false;
  }
}

async function saveFailure(st: State, name: string): Promise<void> {
  st.failDir ??= tempDir('pgdb-e2e-remote-failures-');
  const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase().slice(0, 60);
  const page = st.wb?.page;
  if (page) {
    await page.screenshot({ path: path.join(st.failDir, `${slug}.png`) });
    fs.writeFileSync(path.join(st.failDir, `${slug}.sidebar.html`), await page.locator('.part.sidebar').evaluate((el) => el.outerHTML).catch(() => ''));
    fs.writeFileSync(path.join(st.failDir, `${slug}.console.log`), st.wb!.consoleLines.join('\n'));
  }
  if (st.server) fs.writeFileSync(path.join(st.failDir, `${slug}.code-server.log`), st.server.logs());
  console.log(`    failure saved in ${st.failDir}`);
}

/** The keys in the bucket, read with the SDK (not through the extension). */
async function bucketKeys(s3: TestServer): Promise<string[]> {
  const store = await openRemoteStore(parseRemote(`s3://${BUCKET}`, [], { endpoint: s3.endpoint }), { credentials: S3_KEYS });
  try {
    const keys: string[] = [];
    for (const b of await store.list()) keys.push(b.key, ...(b.hasSidecar ? [`${b.key}.json`] : []));
    return keys.sort();
  } finally {
    store.close();
  }
}

const count = async (st: State) => Number(await sql(st.pg!, DB, 'SELECT count(*) FROM items'));

async function setup(st: State, entry: string): Promise<void> {
  await requireDocker();
  st.s3 = await startS3Server([BUCKET], path.join(st.root, 's3'));
  st.pg = await startPostgres('remote-e2e', { db: DB });
  await sql(st.pg, DB, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`);
  const r = await cli(['backup', st.pg.name, '--database', DB, '--dir', st.backupDir]);
  assert.equal(r.code, 0, `the CLI wrote a backup: ${r.stderr}`);
  const dir = path.join(st.backupDir, st.pg.name, DB);
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.json'));
  assert.equal(files.length, 1, `one backup in ${dir}: ${files.join(', ')}`);
  st.file = files[0];
  st.local = path.join(dir, files[0]);
  const profile = makeProfile(path.join(st.root, 'profile'));
  await installVsix(entry, VSIX, profile);
  const workspace = path.join(st.root, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  st.server = await startCodeServer({
    entry, ...profile, workspace,
    // no keys from this machine's AWS setup: the extension must get them through its own command
    env: { PG_DOCKER_BACKUP_DIR: st.backupDir, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
    settings: { 'pgDockerBackup.remotes': [{ name: REMOTE, url: `s3://${BUCKET}/backups`, endpoint: st.s3.endpoint }] },
  });
  st.wb = await openWorkbench(st.server.url, workspace, { server: st.server, headless: process.env.E2E_HEADED !== '1', viewport: { width: 1280, height: 860 } });
}

async function scenario(st: State): Promise<void> {
  const page = st.wb!.page as Page;
  const remotes = viewPane(page, 'Remote Backups');
  const folder = viewPane(page, 'Backup Folder');
  const container = st.pg!.name;
  const remoteRow = [REMOTE, container, DB, st.file!];

  const keysOk = await step(st, 'no keys: the remote says the credentials were not found and offers Set Remote Credentials…; the keys go in through it', async () => {
    await clickActivityBar(page, 'Postgres Backups');
    await setPane(page, 'Containers', false);
    await setPane(page, 'Backup Folder', true);
    await setPane(page, 'Remote Backups', true);
    await waitRow(remotes, [REMOTE], /s3:\/\/pgdb-e2e\/backups/, 30_000);
    await expand(remotes, [REMOTE]);
    const refused = new RegExp(`remote "${REMOTE}" failed: the credentials were refused or none were found`);
    await waitUntil('an error row naming the remote', async () => (await rows(remotes)).some((r) => r.level === 2 && refused.test(r.text)), 30_000, 300);
    await waitRow(remotes, [REMOTE, 'Set Remote Credentials…']);
    await remotes.locator('.monaco-list-row', { hasText: 'Set Remote Credentials…' }).click();
    await inputBox(page, `Access keys for ${REMOTE} (1/2)`, S3_KEYS.accessKeyId);
    await inputBox(page, `Access keys for ${REMOTE} (2/2)`, S3_KEYS.secretAccessKey);
    await waitForNotification(page, new RegExp(`The keys for "${REMOTE}" are stored`), 15_000);
    // listed without an error now (an empty bucket: no children)
    await waitUntil('the error row to go', async () => !(await rows(remotes)).some((r) => /credentials were refused/.test(r.text)), 30_000, 300);
    const settings = fs.readFileSync(path.join(st.root, 'profile', 'user-data', 'User', 'settings.json'), 'utf8');
    assert.ok(!settings.includes(S3_KEYS.secretAccessKey) && !settings.includes(S3_KEYS.accessKeyId), 'no key in settings.json');
  });

  const uploadOk = await step(st, 'right-click a local backup → Upload to Remote…: the notification says so, the view shows it under container › database, the bucket has it and its sidecar', async () => {
    await contextMenu(page, folder, [container, DB, st.file!], 'Upload to Remote…');
    const note = await waitForNotification(page, new RegExp(`Uploaded ${st.file!.replace(/\./g, '\\.')} to "${REMOTE}"`), 60_000);
    assert.match(await notificationText(note), /\d+(\.\d+)? (B|KB|MB) in /);
    await waitRow(remotes, remoteRow, /\d+(\.\d+)? (B|KB|MB)/, 30_000);
    const key = `backups/${container}/${DB}/${st.file}`;
    assert.deepEqual(await bucketKeys(st.s3!), [key, `${key}.json`]);
  }, keysOk);

  await step(st, 'the local copy is lost; right-click the remote backup → Restore from Remote… → confirm: it is downloaded again and the rows are back', async () => {
    fs.rmSync(st.local!);
    fs.rmSync(`${st.local!}.json`, { force: true });
    await sql(st.pg!, DB, 'DELETE FROM items WHERE id > 10');
    assert.equal(await count(st), 10);
    await contextMenu(page, remotes, remoteRow, 'Restore from Remote…');
    const dialog = await modal(page, 60_000);
    const expected = new RegExp(`Restore ${st.file!.replace(/\./g, '\\.')} into "${DB}" in ${container}\\?`);
    if (!expected.test(dialog.text)) await dialog.answer('Cancel');
    assert.match(dialog.text, expected);
    await dialog.answer('Restore');
    await waitForNotification(page, new RegExp(`Restored "${DB}" in ${container}`), 120_000);
    assert.equal(await count(st), ROWS, 'every row is back');
    assert.equal((await sql(st.pg!, DB, `SELECT name FROM items WHERE id = ${ROWS}`)).trim(), `item ${ROWS}`);
    assert.ok(fs.existsSync(st.local!), `the download is in the backup folder again: ${st.local}`);
  }, uploadOk);

  await step(st, 'right-click the remote backup → Delete Remote Backup… → confirm: gone from the view and from the bucket', async () => {
    await contextMenu(page, remotes, remoteRow, 'Delete Remote Backup…');
    const dialog = await modal(page);
    const expected = new RegExp(`Delete ${st.file!.replace(/\./g, '\\.')} \\(.*\\) from remote "${REMOTE}"\\?`);
    if (!expected.test(dialog.text)) await dialog.answer('Cancel');
    assert.match(dialog.text, expected);
    assert.match(dialog.text, /a copy is in the backup folder/);
    await dialog.answer('Delete');
    await waitForNotification(page, new RegExp(`Deleted ${st.file!.replace(/\./g, '\\.')} from remote "${REMOTE}"`), 30_000);
    await waitNoRow(remotes, remoteRow);
    await waitNoRow(remotes, [REMOTE, container]);
    assert.deepEqual(await bucketKeys(st.s3!), [], 'the bucket is empty');
    assert.ok(fs.existsSync(st.local!), 'the local copy is kept');
    assert.ok(st.s3!.requests().some((r) => r.method === 'DELETE' && r.url.includes(encodeURIComponent(st.file!).replace(/%2F/g, '/')) && r.status === 204), 'a DeleteObject reached the server');
  }, uploadOk);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const entry = process.env.E2E_CODE_SERVER_ENTRY || (await ensureCodeServer());
  for (const f of [VSIX, CLI]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`npm run test:e2e -- remote\` (it packages the extension) or \`npm run package\``);
  const root = tempDir('pgdb-e2e-remote-');
  const st: State = { root, backupDir: path.join(root, 'backups') };
  fs.mkdirSync(st.backupDir, { recursive: true });
  try {
    if (await step(st, 'setup: s3rver, a Postgres container with a small database and a CLI backup; code-server with the .vsix and the remote in settings', () => setup(st, entry))) {
      await scenario(st);
    }
  } finally {
    await st.wb?.browser.close().catch(() => undefined);
    await st.server?.stop().catch(() => undefined);
    await st.s3?.stop().catch(() => undefined);
    await cleanup();
    fs.rmSync(root, { recursive: true, force: true });
    const passed = results.filter((r) => r.ok).length;
    console.log(`e2e (remote) took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, ${results.length - passed} failed`);
  }
}

main().then(
  () => process.exit(results.every((r) => r.ok) ? 0 : 1),
  (e) => {
    console.error(e);
    if (!results.length) console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
