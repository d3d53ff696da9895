/**
 * The same extension-host suite under @vscode/test-electron, for machines where VS Code desktop can be
 * downloaded (or VSCODE_EXECUTABLE names one). Needs the same containers as run.ts: set
 * PGDB_HOST_TEST_DB / _APP / _PASSWORD and PG_DOCKER_BACKUP_DIR, or use run.ts which sets them up.
 */
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { buildSuite } from './build';

const root = path.resolve(__dirname, '..', '..');
async function main(): Promise<void> {
  const out = path.join(root, 'out', 'test', 'host');
  await buildSuite(out);
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(out, 'index.js'),
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE,
    launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
  });
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
