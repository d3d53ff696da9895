// The suite module VS Code loads as extensionTestsPath, under @vscode/test-electron (desktop VS Code)
// and inside code-server's extension host (test/host/run.ts).
import * as path from 'node:path';
import { runMochaInHost } from '../e2e/mochaHostRunner';

export function run(): Promise<void> {
  return runMochaInHost([path.join(__dirname, 'extension.test.js'), path.join(__dirname, 'remoteBackups.test.js'), path.join(__dirname, 'restoreScope.test.js'), path.join(__dirname, 'copyToContainer.test.js'), path.join(__dirname, 'pitrPrune.test.js')], { timeout: 120_000 });
}
