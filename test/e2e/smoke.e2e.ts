/**
 * Self-check of test/e2e/harness.ts (temporary): packages the throwaway fixture extension,
 * installs it into code-server, drives the workbench with Chromium, then runs a mocha suite
 * inside the extension host.   node --import=tsx test/e2e/smoke.e2e.ts
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  buildHostTests, clickActivityBar, ensureCodeServer, installVsix, makeProfile, openWorkbench, packageVsix,
  projectRoot, runCommand, runExtensionHostTests, screenshot, startCodeServer, tempDir, treeRow, waitForNotification,
  clickNotificationButton, answerModal, quickPickSelect, quickInputType,
} from './harness';

const fixtureDir = path.join(__dirname, 'fixture-extension');
const timings: Record<string, number> = {};
async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try { return await f(); } finally { timings[name] = Date.now() - t0; }
}

async function main(): Promise<void> {
  const entry = await timed('ensureCodeServer', () => ensureCodeServer());
  const vsix = await timed('vsce package', () => packageVsix(fixtureDir, undefined, ['--allow-missing-repository', '--skip-license']));
  const profile = makeProfile();
  await timed('install vsix', () => installVsix(entry, vsix, profile));
  const workspace = tempDir('pgdb-ws-');
  fs.writeFileSync(path.join(workspace, 'hello.txt'), 'hello\n');

  // ---- UI: activity bar, tree, command, notification, screenshot
  const server = await timed('start code-server', () => startCodeServer({ entry, ...profile, workspace, env: { E2E_FIXTURE_MARK: 'from-harness' } }));
  try {
    const { browser, page } = await timed('workbench ready', () => openWorkbench(server.url, workspace, { server }));
    try {
      await timed('ui: activity bar + tree row', async () => {
        await clickActivityBar(page, 'Fixture View');
        await treeRow(page, 'Fixture Item One').waitFor({ state: 'visible', timeout: 30_000 });
      });
      await timed('ui: F1 command + notification', async () => {
        await runCommand(page, 'Fixture: Say Hello');
        await waitForNotification(page, 'Hello from the fixture extension');
      });
      await screenshot(page, '/tmp/e2e-smoke.png');
      await timed('ui: modal + quick pick + input box', async () => {
        await runCommand(page, 'Fixture: Ask Questions');
        const text = await answerModal(page, 'Ask');
        assert.match(text, /Really ask\?/);
        await quickPickSelect(page, 'green');
        await quickInputType(page, 'Ada');
        await waitForNotification(page, 'Fixture answers: green Ada');
      });
      await clickNotificationButton(page, 'Hello from the fixture extension', 'Thanks');
      await page.locator('.notifications-toasts .notification-list-item', { hasText: 'Hello from the fixture extension' })
        .waitFor({ state: 'hidden', timeout: 10_000 });
    } finally {
      await browser.close();
    }
  } finally {
    await timed('stop code-server', () => server.stop());
  }

  // ---- extension-host mocha suite
  const outDir = path.join(projectRoot, 'out', 'test', 'e2e-fixture');
  await timed('esbuild host tests', () => buildHostTests(
    [path.join(fixtureDir, 'host-test', 'index.ts'), path.join(fixtureDir, 'host-test', 'fixture.test.ts')], outDir));
  const result = await timed('host tests', () => runExtensionHostTests({
    entry,
    extensionDevelopmentPath: fixtureDir,
    extensionTestsPath: path.join(outDir, 'index.js'),
    workspace,
    env: { E2E_FIXTURE_MARK: 'from-harness' },
    timeoutMs: 120_000,
  }));
  const resultLine = result.output.split('\n').find((l) => /RESULT \d+ failures/.test(l));
  console.log(`host suite: ${resultLine}`);
  assert.equal(result.failures, 0);
  assert.match(result.output, /3 passing/);

  console.log('timings (ms):', JSON.stringify(timings, null, 1));
  console.log('1 passed, 0 failed');
}

main().then(
  () => process.exit(0),
  (e) => { console.error(e); console.log('0 passed, 1 failed'); process.exit(1); },
);
