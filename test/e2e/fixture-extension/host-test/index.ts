// extensionTestsPath of the harness self-check; bundled by buildHostTests to out/test/e2e-fixture/index.js
import * as path from 'node:path';
import { runMochaInHost } from '../../mochaHostRunner';

export function run(): Promise<void> {
  return runMochaInHost([path.join(__dirname, 'fixture.test.js')]);
}
