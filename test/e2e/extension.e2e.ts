/**
 * End to end: the packaged extension (.vsix) installed in code-server (a real VS Code 1.100) and
 * driven by Chromium through Playwright the way a person works: the activity bar, the tree, the
 * command palette, right-click menus, modal dialogs and notifications; every outcome is checked
 * on screen and, where data changes, in the database itself.
 *
 *   npm run test:e2e                                  # installs/builds/packages first (run.ts)
 *   node --import=tsx test/e2e/extension.e2e.ts       # uses ./pg-docker-backup.vsix and dist/cli.js as they are
 *
 * Environment: PGDB_TEST_IMAGE_NEW (Postgres image, default pg-docker-backup-test/postgres:17),
 * E2E_VSIX, E2E_CODE_SERVER_ENTRY (set by run.ts), E2E_HEADED=1 (a visible browser),
 * E2E_KEEP=1 (leave containers and temp folders behind), E2E_SHOTS_DIR (where docs screenshots go,
 * default <project>/docs). Prints `N passed, M failed` last; exits non-zero on a failure, with a
 * screenshot, the sidebar's HTML and the extension's log of each failure in a temp folder.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { createDockerClient } from '../../src/core/docker/client';
import { startPostgresContainer } from '../../src/core/docker/postgresContainer';
import {
  clickActivityBar, ensureCodeServer, installVsix, makeProfile, openWorkbench, projectRoot, runCommand,
  startCodeServer, tempDir, waitForNotification, waitUntil, type CodeServer, type Workbench,
} from './harness';
import { esc, modal, rows, samePath, setPane, show, viewPane, type Row } from './views';

// ------------------------------------------------------------------------------------------
// configuration

const IMAGE = process.env.PGDB_TEST_IMAGE_NEW || 'pg-docker-backup-test/postgres:17';
const NETWORK = 'pgdbe2e-net';
const DB = 'pgdbe2e-db';
const APP = 'pgdbe2e-app';
const PROJECT = 'e2eshop';
const USER = 'shop';
/** A password a shell would mangle: the extension must take it from the container as it is. */
const PASSWORD = 'pa$$ word $HOME `x` "q"';
const CHINOOK = path.join(projectRoot, 'test', 'fixtures', 'chinook_postgresql.sql');
const CLI = path.join(projectRoot, 'dist', 'cli.js');
const VSIX = process.env.E2E_VSIX || path.join(projectRoot, 'pg-docker-backup.vsix');
const SHOTS = process.env.E2E_SHOTS_DIR || path.join(projectRoot, 'docs');
const KEEP = process.env.E2E_KEEP === '1';
const VIEWPORT = { width: 1280, height: 860 };
const EDITOR_SETTINGS = { 'workbench.colorTheme': 'Default Dark Modern', 'workbench.tree.renderIndentGuides': 'always' };

// ------------------------------------------------------------------------------------------
// processes, Docker and SQL

interface Run { code: number; stdout: string; stderr: string }

function exec(cmd: string, args: string[], opts: { stdinFile?: string; timeoutMs?: number; check?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (opts.stdinFile) fs.createReadStream(opts.stdinFile).pipe(child.stdin!);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const r = { code: code ?? -1, stdout, stderr };
      if ((opts.check ?? true) && r.code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited with ${r.code}: ${stderr.trim() || stdout.trim()}`));
      else resolve(r);
    });
  });
}

const docker = (args: string[], opts: { stdinFile?: string; timeoutMs?: number; check?: boolean } = {}) => exec('docker', args, opts);

/** One psql query in the database container, unaligned tuples only. */
async function psql(database: string, sql: string): Promise<string> {
  const r = await docker(['exec', '-e', `PGPASSWORD=${PASSWORD}`, DB, 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', USER, '-d', database, '-c', sql]);
  return r.stdout.trim();
}

/** Row count of every table of the public schema. */
async function tableCounts(database = 'chinook'): Promise<Record<string, number>> {
  const out = await psql(database, `SELECT table_name || '=' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
    FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`);
  const counts: Record<string, number> = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const [t, n] = line.split('=');
    counts[t] = Number(n);
  }
  return counts;
}

/** Backend pids of the sessions connected to `database` (our own query runs in `postgres`). */
async function sessionsOf(database: string): Promise<number[]> {
  const out = await psql('postgres', `SELECT pid FROM pg_stat_activity WHERE datname = '${database}' AND backend_type = 'client backend' ORDER BY pid`);
  return out.split('\n').filter(Boolean).map(Number);
}

async function containerState(name: string): Promise<{ running: boolean; startedAt: string; status: string }> {
  const out = (await docker(['inspect', '-f', '{{.State.Running}}|{{.State.StartedAt}}|{{.State.Status}}', name])).stdout.trim();
  const [running, startedAt, status] = out.split('|');
  return { running: running === 'true', startedAt, status };
}

let dockerCleaned = true;
function removeContainersSync(): void {
  if (KEEP || dockerCleaned) return;
  try { execFileSync('docker', ['rm', '-f', '-v', APP, DB], { stdio: 'ignore' }); } catch { /* none */ }
  try { execFileSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' }); } catch { /* none */ }
  dockerCleaned = true;
}
async function removeContainers(): Promise<void> {
  await docker(['rm', '-f', '-v', APP, DB], { check: false });
  await docker(['network', 'rm', NETWORK], { check: false });
  dockerCleaned = true;
}

// ------------------------------------------------------------------------------------------
// the workbench

function debug(msg: string): void {
  if (process.env.E2E_DEBUG === '1') console.log(`    · ${msg}`);
}


/** The "Containers" view of the Postgres Backups container. */
function containersView(page: Page): Locator {
  return viewPane(page, 'Containers');
}

type TreeRow = Row;

/** The rendered rows of the Containers tree, in order, each with its path of labels. (Other
 *  Postgres containers of this machine are listed too, some with a `chinook` of their own: rows
 *  are always found by their path, never by a label alone.) */
function treeRows(page: Page, view = containersView(page)): Promise<TreeRow[]> {
  return rows(view);
}

/** The row at this path of labels (from the top level), or undefined. When it is not rendered,
 *  the top-level rows of other stacks are collapsed (they come and go while the test runs) and a
 *  collapsed row on the way is expanded, so that the next try may find it. */
async function findRow(page: Page, rowPath: string[]): Promise<TreeRow | undefined> {
  const rows = await treeRows(page);
  const found = rows.find((r) => samePath(r.path, rowPath));
  if (!found) {
    await collapseOthers(page, rows);
    for (let n = rowPath.length - 1; n > 0; n--) {
      const ancestor = rows.find((r) => samePath(r.path, rowPath.slice(0, n)));
      if (!ancestor) continue;
      if (ancestor.expanded === false) await twistie(page, ancestor);
      break;
    }
  }
  return found;
}

/** The row as rendered when `treeRows` saw it: the locator matches nothing once the tree has
 *  re-rendered it elsewhere (then the caller's next try finds it again). */
function rowLocator(page: Page, r: TreeRow, view = containersView(page)): Locator {
  return view.locator(`.monaco-list-row[data-index="${r.index}"][aria-level="${r.level}"]`)
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${esc(r.label)}\\s*$`) }) });
}

async function twistie(page: Page, r: TreeRow, view = containersView(page)): Promise<void> {
  await rowLocator(page, r, view).locator('.monaco-tl-twistie').click({ timeout: 1000 }).catch(() => undefined);
}

/** Waits until the row at `rowPath` is there and its text (label + description) matches. */
async function waitRow(page: Page, rowPath: string[], text: RegExp, timeoutMs = 30_000): Promise<string> {
  return waitUntil(`tree row ${show(rowPath)} matching ${text}`, async () => {
    const r = await findRow(page, rowPath);
    return r && text.test(r.text) ? r.text : false;
  }, timeoutMs, 150);
}

/** Expands (or collapses) a tree row; waits until it is. */
async function expand(page: Page, rowPath: string[], expanded = true, timeoutMs = 15_000): Promise<void> {
  await waitUntil(`tree row ${show(rowPath)} to be ${expanded ? 'expanded' : 'collapsed'}`, async () => {
    const r = await findRow(page, rowPath);
    if (!r || r.expanded === undefined) return false;
    if (r.expanded === expanded) return true;
    await twistie(page, r);
    return false;
  }, timeoutMs, 250);
}

/** Collapses the top-level rows that are not ours (other stacks running on this machine), so
 *  that our rows stay in sight and the screenshots show only the e2e stack. */
async function collapseOthers(page: Page, rows?: TreeRow[]): Promise<void> {
  for (const r of rows ?? (await treeRows(page))) {
    if (r.level === 1 && r.label !== PROJECT && r.expanded) await twistie(page, r);
  }
}

/** Expands the folders along `folderPath` in the Backup Folder view. */
async function expandFolder(page: Page, folderPath: string[]): Promise<void> {
  const view = viewPane(page, 'Backup Folder');
  for (let i = 1; i <= folderPath.length; i++) {
    const p = folderPath.slice(0, i);
    await waitUntil(`folder ${show(p)} to be expanded`, async () => {
      const r = (await treeRows(page, view)).find((x) => samePath(x.path, p));
      if (!r || r.expanded === undefined) return false;
      if (r.expanded) return true;
      await twistie(page, r, view);
      return false;
    }, 10_000, 200);
  }
}

/** Right-clicks the row at `rowPath` and picks `item` from its context menu. The tree re-renders
 *  on Docker events, so the gesture is retried, and the item is clicked only when the focused row
 *  (the one the menu is for) is still the wanted one. */
async function contextMenu(page: Page, rowPath: string[], item: string, timeoutMs = 20_000): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const menuItem = menu.locator('.action-menu-item').filter({ has: page.locator('.action-label', { hasText: new RegExp(`^\\s*${esc(item)}\\s*$`) }) });
  await waitUntil(`context menu of ${show(rowPath)} with "${item}"`, async () => {
    if (await menu.isVisible()) await page.keyboard.press('Escape');
    const r = await findRow(page, rowPath);
    if (!r) return false;
    await rowLocator(page, r).click({ button: 'right', timeout: 2000 });
    await menuItem.waitFor({ state: 'visible', timeout: 3000 });
    const focused = (await treeRows(page)).filter((x) => x.focused);
    if (focused.length !== 1 || !samePath(focused[0].path, rowPath)) {
      debug(`context menu: the focused row is ${focused.map((f) => show(f.path)).join(', ') || 'none'}, not ${show(rowPath)}: again`);
      return false;
    }
    // A menu item listens for the click only from 100 ms after the menu appeared (so that the
    // right-click's own mouseup does not pick an item): click until the menu closes, checking
    // before each click, so that a click that was taken is never repeated.
    await waitUntil(`"${item}" to take the click`, async () => {
      if (!(await menu.isVisible())) return true;
      await menuItem.click({ timeout: 1000 });
      return false;
    }, 5000, 150);
    debug(`context menu: clicked "${item}" of ${show(rowPath)}`);
    return true;
  }, timeoutMs, 300);
}

/** Waits for a quick pick with this placeholder; picks the item labelled `choose` (typed into the
 *  filter first), or the first (default) item with Enter. */
async function quickPick(page: Page, placeholder: string, choose?: string, timeoutMs = 20_000): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator(`.quick-input-box input[placeholder="${placeholder.replace(/"/g, '\\"')}"]`);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  if (choose === undefined) {
    await input.press('Enter');
  } else {
    await input.fill(choose);
    const item = widget.locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${esc(choose)}\\s*$`) }) }).first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    await item.click();
  }
  await input.waitFor({ state: 'hidden', timeout: timeoutMs });
}

async function notificationText(item: Locator): Promise<string> {
  return (await item.locator('.notification-list-item-message').innerText()).replace(/\s+/g, ' ').trim();
}

async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
  await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
}

/** Drags the sash right of the sidebar until the sidebar is `width` px wide. */
async function sidebarWidth(page: Page, width: number): Promise<void> {
  const sidebar = page.locator('.part.sidebar');
  const box = (await sidebar.boundingBox())!;
  if (Math.abs(box.width - width) < 4) return;
  const x = box.x + box.width;
  const y = box.y + box.height / 2;
  await page.mouse.move(x - 1, y);
  await page.mouse.down();
  await page.mouse.move(x + (width - box.width) / 2, y, { steps: 4 });
  await page.mouse.move(box.x + width, y, { steps: 4 });
  await page.mouse.up();
  await waitUntil(`sidebar ${width} px wide`, async () => Math.abs((await sidebar.boundingBox())!.width - width) < 8, 5000);
}

/** Drags the sash above the `title` pane (its top edge) to about `y`. */
async function moveSashAbove(page: Page, title: string, y: number): Promise<void> {
  const pane = viewPane(page, title);
  const box = (await pane.boundingBox())!;
  if (Math.abs(box.y - y) < 4) return;
  const sashes = page.locator('.part.sidebar .monaco-sash.horizontal');
  let sash: { x: number; y: number; width: number; height: number } | undefined;
  for (let i = 0; i < (await sashes.count()); i++) {
    const b = await sashes.nth(i).boundingBox();
    if (b && Math.abs(b.y + b.height / 2 - box.y) < 6) sash = b;
  }
  if (!sash) throw new Error(`no sash above the ${title} view`);
  const x = sash.x + sash.width / 2;
  const from = sash.y + sash.height / 2;
  await page.mouse.move(x, from);
  await page.mouse.down();
  await page.mouse.move(x, (from + y) / 2, { steps: 4 });
  await page.mouse.move(x, y, { steps: 4 });
  await page.mouse.up();
  // views keep a minimum height: closer is what matters
  await waitUntil(`the ${title} view to move towards y=${y}`, async () => Math.abs((await pane.boundingBox())!.y - y) < Math.abs(box.y - y) - 4, 5000);
}

/** The bottom edge (page y) of the last rendered row of a view. */
async function lastRowBottom(page: Page, title: string): Promise<number> {
  const rows = viewPane(page, title).locator('.monaco-list-row');
  let bottom = 0;
  for (let i = 0; i < (await rows.count()); i++) {
    const b = await rows.nth(i).boundingBox();
    if (b) bottom = Math.max(bottom, b.y + b.height);
  }
  return bottom;
}

/** Screenshot of the activity bar and the sidebar, below the title bar, down to `bottom` (default:
 *  the sidebar's bottom): what the README shows. */
async function sidebarShot(page: Page, file: string, bottom?: number): Promise<void> {
  // no focus outline, hover highlight or tooltip in the picture
  await page.locator('.part.editor').click({ position: { x: 200, y: 200 } });
  await page.mouse.move(VIEWPORT.width - 5, VIEWPORT.height / 2);
  await page.locator('.monaco-hover, .workbench-hover').first().waitFor({ state: 'hidden', timeout: 3000 }).catch(() => undefined);
  const side = (await page.locator('.part.sidebar').boundingBox())!;
  const end = Math.min(bottom ?? side.y + side.height, side.y + side.height);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, clip: { x: 0, y: side.y, width: Math.round(side.x + side.width), height: Math.round(end - side.y) } });
  console.log(`  screenshot ${path.relative(projectRoot, file)}`);
}

// ------------------------------------------------------------------------------------------
// steps

interface State {
  entry: string;
  profile: ReturnType<typeof makeProfile>;
  workspace: string;
  backupDir: string;
  failDir?: string;
  server?: CodeServer;
  wb?: Workbench;
  original?: Record<string, number>;
  /** "PostgreSQL 17" for the image's server */
  version?: RegExp;
  logDirs: string[];
  cliBackup?: string;
  paletteBackup?: string;
}

const results: { name: string; ok: boolean; ms: number; error?: string }[] = [];
let failed = false;

async function step(st: State, name: string, fn: () => Promise<void>, opts: { needs?: boolean } = {}): Promise<boolean> {
  const t0 = Date.now();
  if (opts.needs === false) {
    results.push({ name, ok: false, ms: 0, error: 'not run: an earlier step it needs failed' });
    console.log(`✗ ${name}: not run (an earlier step it needs failed)`);
    failed = true;
    return false;
  }
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    failed = true;
    const msg = e instanceof Error ? e.stack ?? e.message : String(e);
    results.push({ name, ok: false, ms: Date.now() - t0, error: msg });
    console.log(`✗ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${msg.replace(/^/gm, '    ')}`);
    await saveFailure(st, name).catch((err) => console.log(`    (could not save the failure: ${String(err)})`));
    // leave no dialog, menu or quick pick open for the next step
    const page = st.wb?.page;
    if (page) for (let i = 0; i < 3; i++) await page.keyboard.press('Escape').catch(() => undefined);
    return false;
  }
}

async function saveFailure(st: State, name: string): Promise<void> {
  st.failDir ??= tempDir('pgdb-e2e-failures-');
  const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  const page = st.wb?.page;
  if (page) {
    await page.screenshot({ path: path.join(st.failDir, `${slug}.png`) });
    const html = await page.locator('.part.sidebar').evaluate((el) => el.outerHTML).catch(() => '');
    fs.writeFileSync(path.join(st.failDir, `${slug}.sidebar.html`), html);
    fs.writeFileSync(path.join(st.failDir, `${slug}.console.log`), st.wb!.consoleLines.join('\n'));
  }
  if (st.server) fs.writeFileSync(path.join(st.failDir, `${slug}.code-server.log`), st.server.logs());
  // the extension's output channel ("Postgres Backup") is a log file of the window
  const logs = path.join(st.profile.userDataDir, 'logs');
  const found: string[] = [];
  const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (/Postgres Backup/.test(e.name)) found.push(p); } };
  if (fs.existsSync(logs)) walk(logs);
  for (const [i, f] of found.entries()) fs.copyFileSync(f, path.join(st.failDir, `${slug}.extension-${i}.log`));
  console.log(`    failure saved: ${path.join(st.failDir, `${slug}.png`)} (and the sidebar's HTML, code-server's and the extension's logs beside it)`);
}

async function setupDocker(st: State): Promise<void> {
  await removeContainers(); // leftovers of an interrupted run
  dockerCleaned = false;
  const engine = createDockerClient();
  if (!(await engine.hasImage(IMAGE))) throw new Error(`The Postgres test image ${IMAGE} is missing: run \`bash scripts/test-env.sh\`, or name another with PGDB_TEST_IMAGE_NEW.`);
  await engine.createNetwork(NETWORK);
  await startPostgresContainer(engine, {
    name: DB,
    image: IMAGE,
    env: { POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'shop' },
    labels: { 'com.docker.compose.project': PROJECT, 'com.docker.compose.service': 'db' },
    network: NETWORK,
    alias: 'db',
  });
  await docker(['exec', '-i', '-e', `PGPASSWORD=${PASSWORD}`, DB, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', USER, '-d', 'postgres'], { stdinFile: CHINOOK });
  const major = Math.floor(Number(await psql('postgres', 'SHOW server_version_num')) / 10000);
  st.version = new RegExp(`PostgreSQL ${major}\\b`);
  st.original = await tableCounts();
  assert.equal(st.original.playlist_track, 8715, 'Chinook loaded');
  // the app: holds a session on chinook until it is stopped (and ends at once on SIGTERM)
  await docker(['run', '-d', '--pull', 'never', '--name', APP, '--network', NETWORK,
    '--label', 'pg-docker-backup.enable=false', '--label', `com.docker.compose.project=${PROJECT}`, '--label', 'com.docker.compose.service=app',
    '-e', `PGPASSWORD=${PASSWORD}`, '-e', 'PGAPPNAME=e2eshop-app',
    '--entrypoint', 'sh', IMAGE, '-c',
    `trap "exit 0" TERM INT; while :; do psql -h db -U ${USER} -d chinook -c "select pg_sleep(3600)" & wait $!; sleep 1; done`]);
  await waitUntil(`${APP} to connect to chinook`, async () => (await sessionsOf('chinook')).length > 0, 30_000, 250);
  // one backup before the extension starts, made with the CLI
  const r = await exec(process.execPath, [CLI, 'backup', DB, '--database', 'chinook', '--dir', st.backupDir]);
  const files = listBackups(st.backupDir);
  assert.equal(files.length, 1, `the CLI wrote one backup (${r.stdout.trim()})`);
  st.cliBackup = path.basename(files[0]);
}

function listBackups(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(sql|sql\.gz|dump|dump\.gz)$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const entry = process.env.E2E_CODE_SERVER_ENTRY || (await ensureCodeServer());
  for (const f of [VSIX, CLI]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`npm run test:e2e\` (it packages the extension) or \`npm run package\``);
  const root = tempDir('pgdb-e2e-');
  const st: State = {
    entry,
    profile: makeProfile(path.join(root, 'profile')),
    workspace: path.join(root, PROJECT),
    backupDir: path.join(root, 'backups'),
    logDirs: [],
  };
  fs.mkdirSync(st.workspace, { recursive: true });
  fs.mkdirSync(st.backupDir, { recursive: true });
  process.on('exit', removeContainersSync);
  const headless = process.env.E2E_HEADED !== '1';

  try {
    // Docker and the workbench come up side by side: nothing in the workbench talks to Docker
    // before the view is opened.
    let setupError: unknown;
    const dockerReady = setupDocker(st).catch((e) => { setupError = e; });
    const setupOk = await step(st, 'setup: network, Postgres container with Chinook, app container, CLI backup; code-server with the .vsix', async () => {
      await installVsix(entry, VSIX, st.profile);
      st.server = await startCodeServer({
        entry, ...st.profile, workspace: st.workspace,
        env: { PG_DOCKER_BACKUP_DIR: st.backupDir },
        settings: EDITOR_SETTINGS,
      });
      st.logDirs.push(st.server.logDir);
      st.wb = await openWorkbench(st.server.url, st.workspace, { server: st.server, headless, viewport: VIEWPORT });
      await dockerReady;
      if (setupError) throw setupError;
    });
    const page = st.wb?.page as Page;

    const dbPath = [PROJECT, DB];
    const chinookPath = [PROJECT, DB, 'chinook'];
    const viewOk = await step(st, 'open the view: compose project, container with its version, database with its size, the CLI backup', async () => {
      await clickActivityBar(page, 'Postgres Backups');
      await sidebarWidth(page, 560);
      await setPane(page, 'Backup Folder', false); // the Containers view gets the whole height
      await waitRow(page, [PROJECT], /compose project/, 60_000);
      await waitRow(page, dbPath, st.version!);
      await waitRow(page, chinookPath, /\d+(\.\d)? (KB|MB)/);
      await waitRow(page, [PROJECT, DB, 'shop'], /(KB|MB)/);
      assert.ok(!(await treeRows(page)).some((r) => r.label === APP), `${APP} (pg-docker-backup.enable=false) is not listed`);
      await expand(page, chinookPath);
      await waitRow(page, [...chinookPath, st.cliBackup!], /sql\.gz/);
    }, { needs: setupOk });

    await step(st, 'back up from the palette: container, database, default format → notification and a new row', async () => {
      await runCommand(page, 'Postgres Backup: Back Up Database…');
      await quickPick(page, 'Back up a database of which container?', DB);
      await quickPick(page, `Back up which database of ${DB}?`, 'chinook');
      await quickPick(page, 'Format for the backup of chinook'); // Enter: the default, SQL (gzip)
      const note = await waitForNotification(page, /Backed up chinook to/, 60_000);
      const m = /Backed up chinook to (\S+\.sql\.gz) \(/.exec(await notificationText(note));
      assert.ok(m, `file name in "${await notificationText(note)}"`);
      st.paletteBackup = m[1];
      assert.ok(listBackups(st.backupDir).some((f) => path.basename(f) === m[1]), `${m[1]} is in the backup folder`);
      await expand(page, chinookPath);
      await waitRow(page, [...chinookPath, st.paletteBackup], /just now .* sql\.gz/);
      await waitRow(page, [...chinookPath, st.cliBackup!], /sql\.gz/);
      await clearNotifications(page);
      // the screenshot for the README: our stack expanded (other stacks of this machine collapsed),
      // and the Backup Folder view with both files
      await setPane(page, 'Backup Folder', true);
      await expandFolder(page, [DB, 'chinook']);
      const shot = path.join(SHOTS, 'tree-view.png');
      const ours = [[PROJECT], dbPath, chinookPath, [...chinookPath, st.paletteBackup], [...chinookPath, st.cliBackup!], [PROJECT, DB, 'shop']];
      const tidy = async () => {
        const rows = await treeRows(page);
        return ours.every((p) => rows.some((r) => samePath(r.path, p))) && rows.every((r) => r.level > 1 || r.label === PROJECT || !r.expanded);
      };
      await waitUntil('a tidy tree for the screenshot', async () => {
        await collapseOthers(page);
        for (const p of ours) await findRow(page, p);
        if (!(await tidy())) return false;
        // compact: the Backup Folder view right below our last row, the picture ends below its rows
        await moveSashAbove(page, 'Backup Folder', (await lastRowBottom(page, 'Containers')) + 14);
        await sidebarShot(page, shot, (await lastRowBottom(page, 'Backup Folder')) + 14);
        return tidy(); // nothing changed while it was taken
      }, 30_000, 300);
      await setPane(page, 'Backup Folder', false);
    }, { needs: viewOk });

    await step(st, 'restore from the context menu: the plan names the app, the content is back, the app runs again', async () => {
      await psql('chinook', 'DELETE FROM playlist_track');
      assert.equal((await tableCounts()).playlist_track, 0);
      const appBefore = await containerState(APP);
      await expand(page, chinookPath);
      await contextMenu(page, [...chinookPath, st.cliBackup!], 'Restore Backup…');
      const dialog = await modal(page);
      const expected = new RegExp(`Restore ${esc(st.cliBackup!)} into "chinook" in ${DB}\\?`);
      if (!expected.test(dialog.text)) await dialog.answer('Cancel');
      assert.match(dialog.text, expected);
      assert.match(dialog.text, new RegExp(`Stop ${APP}\\.`), 'the plan says the app container is stopped');
      await dialog.answer('Restore');
      const note = await waitForNotification(page, /Restored "chinook" in pgdbe2e-db/, 120_000);
      await note.locator('.monaco-button', { hasText: /^\s*Undo Restore\s*$/ }).waitFor({ state: 'visible', timeout: 5000 });
      assert.match(await notificationText(note), /The previous database is kept as "chinook__before_restore_/);
      const counts = await tableCounts();
      assert.equal(counts.playlist_track, 8715);
      assert.deepEqual(counts, st.original, 'every table has its rows back');
      const appAfter = await containerState(APP);
      assert.ok(appAfter.running, `${APP} runs again`);
      assert.notEqual(appAfter.startedAt, appBefore.startedAt, `${APP} was stopped and started`);
      // the tree shows the database kept for undo
      await waitUntil('the kept database in the tree', async () => (await treeRows(page)).some((r) =>
        r.path.length === 3 && samePath(r.path.slice(0, 2), dbPath) && /^chinook__before_restore_/.test(r.label) && /kept for undo/.test(r.text)), 20_000);
      await clearNotifications(page);
    }, { needs: viewOk });

    await step(st, 'terminate connections: the modal counts the sessions, the notification says how many ended', async () => {
      const before = await waitUntil(`${APP}'s session on chinook`, async () => { const s = await sessionsOf('chinook'); return s.length > 0 ? s : false; }, 30_000, 250);
      await contextMenu(page, chinookPath, 'Terminate Connections…');
      const dialog = await modal(page);
      const m = /Terminate (\d+) sessions? of "chinook" in pgdbe2e-db\?/.exec(dialog.text);
      if (!m) await dialog.answer('Cancel');
      assert.ok(m, `modal: ${dialog.text}`);
      assert.equal(Number(m[1]), before.length, `the modal counts ${before.length} session(s)`);
      await dialog.answer('Terminate');
      const note = await waitForNotification(page, /Terminated \d+ sessions? of "chinook"/, 30_000);
      const n = Number(/Terminated (\d+)/.exec(await notificationText(note))![1]);
      assert.ok(n >= before.length, `terminated ${n} ≥ ${before.length}`);
      const after = await sessionsOf('chinook');
      for (const pid of before) assert.ok(!after.includes(pid), `session ${pid} ended`);
      await clearNotifications(page);
    }, { needs: viewOk });

    await step(st, 'reset the database: the modal names it and the app, it is empty afterwards, a safety backup exists', async () => {
      const appBefore = await containerState(APP);
      const filesBefore = listBackups(st.backupDir);
      await contextMenu(page, chinookPath, 'Reset Database…');
      const dialog = await modal(page);
      if (!/Reset "chinook" in pgdbe2e-db\?/.test(dialog.text)) await dialog.answer('Cancel');
      assert.match(dialog.text, /Reset "chinook" in pgdbe2e-db\?/);
      assert.match(dialog.text, new RegExp(`app containers are stopped and started again.*${APP}`, 's'));
      assert.match(dialog.text, /safety backup is written first/);
      await dialog.answer('Reset');
      const note = await waitForNotification(page, /"chinook" in pgdbe2e-db is empty again/, 120_000);
      const m = /Safety backup: (\S+)/.exec(await notificationText(note));
      assert.ok(m, `safety backup in "${await notificationText(note)}"`);
      const safety = m[1];
      assert.ok(fs.existsSync(safety), `${safety} exists`);
      assert.ok(path.resolve(safety).startsWith(st.backupDir + path.sep), `${safety} is in the backup folder`);
      assert.equal(listBackups(st.backupDir).length, filesBefore.length + 1, 'one more file in the backup folder');
      assert.deepEqual(await tableCounts(), {}, 'chinook has no tables');
      const appAfter = await containerState(APP);
      assert.ok(appAfter.running && appAfter.startedAt !== appBefore.startedAt, `${APP} was stopped and started`);
      // the tree follows: the safety backup is one of chinook's backups now
      await expand(page, chinookPath);
      await waitRow(page, [...chinookPath, path.basename(safety)], /custom|sql/);
      await clearNotifications(page);
    }, { needs: viewOk });

    await step(st, 'stop the database container: the tree follows Docker without a refresh; start it again', async () => {
      await docker(['stop', DB]);
      await waitRow(page, dbPath, /exited/, 30_000);
      await waitUntil('the databases of the stopped container to go', async () => !(await findRow(page, chinookPath)), 10_000);
      await docker(['start', DB]);
      await waitRow(page, dbPath, st.version!, 60_000);
      await waitRow(page, chinookPath, /\d+(\.\d)? (KB|MB)/, 30_000);
    }, { needs: viewOk });

    // ---- a second window: Docker unreachable
    await st.wb?.browser.close().catch(() => undefined);
    st.wb = undefined;
    await st.server?.stop();
    st.server = undefined;
    await step(st, 'Docker unreachable: the welcome view says so and offers Retry, Open Settings, Start Demo Database', async () => {
      st.server = await startCodeServer({
        entry, ...st.profile, workspace: st.workspace,
        env: { PG_DOCKER_BACKUP_DIR: st.backupDir, DOCKER_HOST: 'unix:///tmp/pgdbe2e-nonexistent.sock' },
        settings: EDITOR_SETTINGS,
      });
      st.logDirs.push(st.server.logDir);
      st.wb = await openWorkbench(st.server.url, st.workspace, { server: st.server, headless, viewport: VIEWPORT });
      const p = st.wb.page;
      await clickActivityBar(p, 'Postgres Backups');
      await sidebarWidth(p, 560);
      const welcome = containersView(p).locator('.welcome-view-content');
      await welcome.getByText('Docker is not reachable', { exact: false }).waitFor({ state: 'visible', timeout: 30_000 });
      for (const b of ['Retry', 'Open Settings', 'Start Demo Database']) {
        await welcome.locator('.monaco-button', { hasText: new RegExp(`^\\s*${b}\\s*$`) }).waitFor({ state: 'visible', timeout: 5000 });
      }
      assert.equal(await containersView(p).locator('.monaco-list-row').count(), 0, 'no container rows');
      const folderRow = viewPane(p, 'Backup Folder').locator('.monaco-list-row').first();
      await folderRow.waitFor({ state: 'visible', timeout: 10_000 });
      const b = (await folderRow.boundingBox())!;
      await sidebarShot(p, path.join(SHOTS, 'welcome-docker-unreachable.png'), b.y + b.height + 12);
    }, { needs: setupOk });
  } finally {
    await st.wb?.browser.close().catch(() => undefined);
    await st.server?.stop().catch(() => undefined);
    if (!KEEP) {
      await removeContainers();
      fs.rmSync(root, { recursive: true, force: true });
      if (!failed) for (const d of st.logDirs) fs.rmSync(d, { recursive: true, force: true });
    } else {
      console.log(`E2E_KEEP=1: left ${DB}, ${APP}, ${NETWORK} and ${root}`);
    }
    const passed = results.filter((r) => r.ok).length;
    console.log(`e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (st.failDir) console.log(`failure screenshots and logs: ${st.failDir}`);
    console.log(`${passed} passed, ${results.length - passed} failed`);
  }
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (e) => {
    console.error(e);
    if (!results.length) console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
