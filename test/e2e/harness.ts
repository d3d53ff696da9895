/**
 * End-to-end harness: a real VS Code (code-server from npm, VS Code 1.100) driven by Debian's
 * Chromium through playwright-core. Run test files that use it with `node --import=tsx FILE.ts`.
 *
 *   const entry = await ensureCodeServer();                       // scripts/code-server.sh
 *   const dirs = makeProfile();                                   // fresh extensions + user-data dirs
 *   await installVsix(entry, 'x.vsix', dirs);
 *   const server = await startCodeServer({ entry, ...dirs, workspace, env: { DOCKER_HOST } });
 *   const { browser, page } = await openWorkbench(server.url, workspace);
 *   await clickActivityBar(page, 'Postgres'); await treeRow(page, 'db1').click(); ...
 *   await browser.close(); await server.stop();
 *
 *   // the @vscode/test-electron style suite (a module exporting run()) in the extension host:
 *   const { failures, output } = await runExtensionHostTests({ entry, extensionDevelopmentPath,
 *     extensionTestsPath, workspace });
 *
 * Every wait is a condition with a deadline; errors carry the tail of code-server's log.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { chromium, type Browser, type ConsoleMessage, type Locator, type Page } from 'playwright-core';

export const projectRoot = path.resolve(__dirname, '..', '..');
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Settings written to <userDataDir>/User/settings.json unless overridden by `settings`. */
export const defaultSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.confirmBeforeClose': 'never',
};

// ------------------------------------------------------------------------------------------
// small utilities

function log(msg: string): void {
  if (process.env.E2E_QUIET !== '1') process.stderr.write(`[e2e] ${msg}\n`);
}

/** Thrown by a waitUntil check to stop waiting at once (other errors are retried until the deadline). */
export class WaitAbort extends Error {}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e instanceof WaitAbort) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (lastError ? ` (last error: ${String(lastError)})` : ''));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A fresh temp folder (under $E2E_TMPDIR or the OS temp dir). */
export function tempDir(prefix = 'pgdb-e2e-'): string {
  const base = process.env.E2E_TMPDIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, prefix));
}

export interface ProfileDirs {
  extensionsDir: string;
  userDataDir: string;
}

/** Fresh, empty extensions and user-data folders in a temp dir. */
export function makeProfile(root = tempDir()): ProfileDirs & { root: string } {
  const extensionsDir = path.join(root, 'extensions');
  const userDataDir = path.join(root, 'user-data');
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.mkdirSync(userDataDir, { recursive: true });
  return { root, extensionsDir, userDataDir };
}

/** The environment of code-server: ours without VS Code's own (a VS Code terminal's
 *  VSCODE_IPC_HOOK_CLI would make code-server hand the request to that VS Code), plus `extra`. */
function serverEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** code-server writes ~/.config/code-server/config.yaml when given no --config: give it one. */
function configFile(userDataDir: string): string {
  const file = path.join(userDataDir, 'code-server.yaml');
  if (!fs.existsSync(file)) fs.writeFileSync(file, 'auth: none\ncert: false\n');
  return file;
}

// ------------------------------------------------------------------------------------------
// install

/** Installs code-server (and Chromium) when missing via scripts/code-server.sh; returns entry.js. */
export async function ensureCodeServer(): Promise<string> {
  const script = path.join(projectRoot, 'scripts', 'code-server.sh');
  const t0 = Date.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], env: serverEnv() });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`))));
  });
  const entry = stdout.trim().split('\n').pop()!.trim();
  if (!entry || !fs.existsSync(entry)) throw new Error(`${script} printed no entry.js path (got: ${JSON.stringify(stdout)})`);
  log(`code-server ready (${Date.now() - t0} ms): ${entry}`);
  return entry;
}

/** Installs a packaged extension (.vsix) into the given profile (a bare folder in the
 *  extensions dir is not picked up by code-server, so always install the .vsix). */
export async function installVsix(entry: string, vsixPath: string, dirs: ProfileDirs): Promise<void> {
  fs.mkdirSync(dirs.extensionsDir, { recursive: true });
  fs.mkdirSync(dirs.userDataDir, { recursive: true });
  const args = [
    entry,
    '--config', configFile(dirs.userDataDir),
    '--extensions-dir', dirs.extensionsDir,
    '--user-data-dir', dirs.userDataDir,
    '--install-extension', path.resolve(vsixPath),
    '--force',
  ];
  const t0 = Date.now();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { env: serverEnv(), timeout: 120_000 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err) reject(new Error(`installing ${vsixPath} failed: ${err.message}\n${tail(out)}`));
      else resolve(out);
    });
  });
  if (!/successfully installed/i.test(output)) throw new Error(`installing ${vsixPath} did not report success:\n${tail(output)}`);
  log(`installed ${path.basename(vsixPath)} (${Date.now() - t0} ms)`);
}

/** Packages an extension folder with vsce into `outFile` (default: a temp .vsix). */
export async function packageVsix(extensionDir: string, outFile?: string, extraArgs: string[] = []): Promise<string> {
  const out = outFile ?? path.join(tempDir('pgdb-vsix-'), `${path.basename(extensionDir)}.vsix`);
  const vsce = path.join(projectRoot, 'node_modules', '.bin', 'vsce');
  await new Promise<void>((resolve, reject) => {
    execFile(vsce, ['package', '--out', out, ...extraArgs], { cwd: extensionDir, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`vsce package failed in ${extensionDir}: ${err.message}\n${tail(stdout + stderr)}`));
      else resolve();
    });
  });
  return out;
}

// ------------------------------------------------------------------------------------------
// server

export interface StartOptions {
  entry: string;
  extensionsDir: string;
  userDataDir: string;
  /** folder to open; also passed on as `folder` to openWorkbench by the caller */
  workspace: string;
  port?: number;
  /** added to code-server's environment; the extension host inherits it (DOCKER_HOST, ...) */
  env?: NodeJS.ProcessEnv;
  /** merged over defaultSettings into <userDataDir>/User/settings.json; `false` leaves the file alone */
  settings?: Record<string, unknown> | false;
  /** more code-server arguments */
  args?: string[];
  /** how long to wait for the server to answer (default 60 s) */
  timeoutMs?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  /** folder with code-server.log */
  logDir: string;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// code-server runs in its own process group (detached), so it would outlive a test process that
// dies or is interrupted: end the groups still running when this process exits.
const runningGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of runningGroups) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => process.exit(sig === 'SIGINT' ? 130 : 143));
  }
}

export async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.extensionsDir, { recursive: true });
  fs.mkdirSync(opts.userDataDir, { recursive: true });
  if (opts.settings !== false) {
    const userDir = path.join(opts.userDataDir, 'User');
    fs.mkdirSync(userDir, { recursive: true });
    fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ ...defaultSettings, ...(opts.settings ?? {}) }, null, 2));
  }
  const logDir = tempDir('pgdb-code-server-');
  const logFile = path.join(logDir, 'code-server.log');
  const logStream = fs.createWriteStream(logFile);
  let buffer = '';
  const args = [
    opts.entry,
    '--config', configFile(opts.userDataDir),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--extensions-dir', opts.extensionsDir,
    '--user-data-dir', opts.userDataDir,
    ...(opts.args ?? []),
  ];
  const t0 = Date.now();
  // its own process group, so that stop() ends the extension host and pty host with it
  const child = spawn(process.execPath, args, {
    cwd: opts.workspace,
    env: serverEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const onData = (d: Buffer) => {
    const s = d.toString();
    buffer += s;
    if (buffer.length > 2_000_000) buffer = buffer.slice(-1_000_000);
    logStream.write(s);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `code-server exited (code ${code}, signal ${signal})`));
  installExitHook();
  if (child.pid) runningGroups.add(child.pid);

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      try {
        await waitUntil('code-server to exit', () => exited, 10_000);
      } catch {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await waitUntil('code-server to exit after SIGKILL', () => exited, 5_000).catch(() => undefined);
      }
    }
    // leftovers of the group (extension host, pty host)
    if (child.pid) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none */ }
      runningGroups.delete(child.pid);
    }
    await new Promise<void>((r) => logStream.end(() => r()));
  };
  try {
    await waitUntil(`code-server to answer on ${url}`, async () => {
      if (exited) throw new WaitAbort(exited);
      return (await httpStatus(`${url}/healthz`)) === 200;
    }, opts.timeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- code-server log (${logFile}) ---\n${tail(buffer)}`);
  }
  log(`code-server answers on ${url} (${Date.now() - t0} ms), log ${logFile}`);
  return { url, port, logDir, process: child, logs: () => buffer, stop };
}

// ------------------------------------------------------------------------------------------
// browser

export interface Workbench {
  browser: Browser;
  page: Page;
  /** everything the page logged to its console so far ("type: text" lines) */
  consoleLines: string[];
}

export interface OpenOptions {
  /** extra query parameters, e.g. { payload: JSON.stringify([...]) } */
  query?: Record<string, string>;
  /** wait for the workbench (default 60 s) */
  timeoutMs?: number;
  headless?: boolean;
  viewport?: { width: number; height: number };
  /** code-server, to put its log tail into errors */
  server?: CodeServer;
  /** called for every console message of the page, from before the page loads */
  onConsole?: (m: ConsoleMessage) => void;
}

export async function launchBrowser(headless = true): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run scripts/code-server.sh (installs Debian's chromium) or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export function workbenchUrl(url: string, folder: string, query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ folder, ...query });
  return `${url}/?${params.toString()}`;
}

/** Opens the workbench on `folder` and waits until it is ready (workbench, activity bar, status bar). */
export async function openWorkbench(url: string, folder: string, opts: OpenOptions = {}): Promise<Workbench> {
  const t0 = Date.now();
  const browser = await launchBrowser(opts.headless ?? true);
  const consoleLines: string[] = [];
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.on('console', (m) => {
      consoleLines.push(`${m.type()}: ${m.text()}`);
      opts.onConsole?.(m);
    });
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(workbenchUrl(url, folder, opts.query), { waitUntil: 'domcontentloaded', timeout: opts.timeoutMs ?? 60_000 });
    await waitForWorkbench(page, opts.timeoutMs ?? 60_000);
    log(`workbench ready (${Date.now() - t0} ms)`);
    return { browser, page, consoleLines };
  } catch (e) {
    await browser.close().catch(() => undefined);
    const serverTail = opts.server ? `\n--- code-server log ---\n${tail(opts.server.logs())}` : '';
    throw new Error(`${(e as Error).message}\n--- browser console ---\n${tail(consoleLines.join('\n'), 20)}${serverTail}`);
  }
}

export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

// ------------------------------------------------------------------------------------------
// driving the workbench

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs a command by its title (category included, e.g. "Fixture: Say Hello") from F1. */
export async function runCommand(page: Page, title: string, timeoutMs = 15_000): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await page.keyboard.press('F1');
  await widget.waitFor({ state: 'visible', timeout: timeoutMs });
  const input = widget.locator('.quick-input-box input');
  await input.fill(`>${title}`);
  // the row whose label is exactly the title (not a longer title that contains it)
  const row = widget.locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegex(title)}\\s*$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  const focused = await row.evaluate((el) => el.classList.contains('focused'));
  if (focused) await input.press('Enter');
  else await row.click();
  await widget.waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** Clicks the activity-bar icon whose title starts with `titlePrefix` (a view container's title). */
export async function clickActivityBar(page: Page, titlePrefix: string, timeoutMs = 15_000): Promise<void> {
  const item = page.locator(`.activitybar [aria-label^="${titlePrefix.replace(/"/g, '\\"')}"]`).first();
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  await item.click();
}

/** A tree/list row (`.monaco-list-row`) containing `label`. */
export function treeRow(page: Page, label: string | RegExp): Locator {
  return page.locator('.monaco-list-row', { hasText: label });
}

/** A notification (toast or in the notification center) containing the text; waits until it is shown (a toast: faded in). */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 15_000): Promise<Locator> {
  const item = page.locator('.notifications-toasts .notification-toast.notification-fade-in-done .notification-list-item, .notifications-center .notification-list-item', { hasText: text }).first();
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  return item;
}

/** Clicks a button of the notification that contains `notificationText`. */
export async function clickNotificationButton(page: Page, notificationText: string | RegExp, buttonLabel: string, timeoutMs = 15_000): Promise<void> {
  const item = await waitForNotification(page, notificationText, timeoutMs);
  const button = item.locator('.monaco-button', { hasText: new RegExp(`^\\s*${escapeRegex(buttonLabel)}\\s*$`) }).first();
  await button.waitFor({ state: 'visible', timeout: timeoutMs });
  await button.click();
}

/** Answers a modal dialog (`showWarningMessage(..., { modal: true }, ...)`) with a button;
 *  returns the dialog's text. */
export async function answerModal(page: Page, buttonLabel: string, timeoutMs = 15_000): Promise<string> {
  const dialog = page.locator('.monaco-dialog-box').first();
  await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
  const text = (await dialog.innerText()).trim();
  const button = dialog.locator('.dialog-buttons .monaco-button', { hasText: new RegExp(`^\\s*${escapeRegex(buttonLabel)}\\s*$`) }).first();
  await button.waitFor({ state: 'visible', timeout: timeoutMs });
  await button.click();
  await dialog.waitFor({ state: 'hidden', timeout: timeoutMs });
  return text;
}

/** Picks the quick-pick item containing `text` (types it into the filter first). */
export async function quickPickSelect(page: Page, text: string | RegExp, timeoutMs = 15_000): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: timeoutMs });
  if (typeof text === 'string') await widget.locator('.quick-input-box input').fill(text);
  const row = widget.locator('.monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  await row.click();
}

/** Types into an open input box (`showInputBox`) and submits it with Enter unless `submit` is false. */
export async function quickInputType(page: Page, text: string, submit = true, timeoutMs = 15_000): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: timeoutMs });
  const input = widget.locator('.quick-input-box input');
  await input.fill(text);
  if (submit) await input.press('Enter');
}

export async function screenshot(page: Page, file: string): Promise<string> {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

// ------------------------------------------------------------------------------------------
// extension-host tests (the @vscode/test-electron suite) inside code-server

/** Bundles host-test entry points (TypeScript) into CommonJS for the extension host, which
 *  cannot load tsx: `vscode` and `mocha` stay external (resolved at run time from the project's
 *  node_modules, so `outdir` must be inside the project, e.g. out/test/host). */
export async function buildHostTests(entryPoints: string[], outdir: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints,
    outdir,
    outbase: path.dirname(entryPoints[0]),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
}

export interface HostTestOptions {
  entry: string;
  /** folder of the extension under test (its package.json) */
  extensionDevelopmentPath: string;
  /** compiled module exporting run() (absolute path, with or without .js) */
  extensionTestsPath: string;
  workspace: string;
  env?: NodeJS.ProcessEnv;
  settings?: Record<string, unknown>;
  /** default: fresh temp profile */
  extensionsDir?: string;
  userDataDir?: string;
  /** for the whole run, after the workbench is up (default 5 min) */
  timeoutMs?: number;
  /** echo the suite's console output to stderr as it comes (default true) */
  echo?: boolean;
}

export interface HostTestResult {
  failures: number;
  /** the suite's console output (mocha's reporter lines) */
  output: string;
  /** everything the page logged */
  console: string[];
}

/** Runs a mocha suite in code-server's extension host, the way @vscode/test-electron runs it
 *  in VS Code desktop; resolves with the failure count from the suite's `RESULT <n> failures`. */
export async function runExtensionHostTests(opts: HostTestOptions): Promise<HostTestResult> {
  const ownProfile = !(opts.extensionsDir && opts.userDataDir);
  const profile = ownProfile ? makeProfile() : { extensionsDir: opts.extensionsDir!, userDataDir: opts.userDataDir! };
  const server = await startCodeServer({ entry: opts.entry, ...profile, workspace: opts.workspace, env: opts.env, settings: opts.settings });
  let wb: Workbench | undefined;
  const output: string[] = [];
  let result: number | undefined;
  const echo = opts.echo ?? true;
  try {
    const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${path.resolve(p)}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(opts.extensionDevelopmentPath)],
      ['extensionTestsPath', remote(opts.extensionTestsPath.replace(/\.js$/, ''))],
    ]);
    // The extension host's console.log reaches the page as `console.log('%c INFO', 'color: …',
    // fmt, ...args)`; format it back into the line mocha printed. Formatting needs the argument
    // values (async), so keep the messages in order with a chain.
    let chain = Promise.resolve();
    const onConsole = (m: ConsoleMessage) => {
      if (/\bRESULT (\d+) failures\b/.test(m.text())) result = Number(/\bRESULT (\d+) failures\b/.exec(m.text())![1]);
      chain = chain.then(async () => {
        let line: string;
        try {
          const args = await Promise.all(m.args().map((a) => a.jsonValue().catch(() => '?')));
          const styled = typeof args[0] === 'string' && args[0].startsWith('%c');
          line = styled ? format(...args.slice(2)) : args.length ? format(...args) : m.text();
          if (styled && !/INFO/.test(args[0] as string)) line = `${(args[0] as string).slice(2).trim()} ${line}`;
        } catch {
          line = m.text();
        }
        output.push(line);
        if (echo) process.stderr.write(`[host] ${line}\n`);
      });
    };
    const t0 = Date.now();
    wb = await openWorkbench(server.url, opts.workspace, { query: { payload }, server, onConsole });
    // the extension host exits when the suite is done (or could not be loaded): then the RESULT
    // line, if any, is at most moments away
    let hostExitAt: number | undefined;
    await waitUntil('the suite to log "RESULT <n> failures"', () => {
      if (result !== undefined) return true;
      const exit = /Extension Host Process exited with code: (\d+)/.exec(server.logs());
      if (exit) {
        hostExitAt ??= Date.now();
        if (Date.now() - hostExitAt > 10_000) throw new WaitAbort(`the extension host exited (code ${exit[1]}) without a RESULT line`);
      }
      return false;
    }, opts.timeoutMs ?? 300_000, 200);
    await chain;
    log(`host tests finished: ${result} failures (${Date.now() - t0} ms after opening)`);
    return { failures: result!, output: output.join('\n'), console: wb.consoleLines };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- suite output ---\n${tail(output.join('\n'), 30)}\n--- code-server log (${server.logDir}) ---\n${tail(server.logs())}`);
  } finally {
    await wb?.browser.close().catch(() => undefined);
    await server.stop();
    if (ownProfile) fs.rmSync((profile as { root: string }).root, { recursive: true, force: true });
  }
}
