/**
 * Suite side of the extension-host tests: the module that VS Code loads as extensionTestsPath
 * exports run(), which calls runMochaInHost with the compiled (CommonJS) test files:
 *
 *   // test/host/index.ts, bundled by esbuild (buildHostTests in harness.ts) to out/test/host/index.js
 *   import * as path from 'node:path';
 *   import { runMochaInHost } from '../e2e/mochaHostRunner';
 *   export function run(): Promise<void> {
 *     return runMochaInHost([path.join(__dirname, 'commands.test.js')]);
 *   }
 *
 * Works the same under @vscode/test-electron (VS Code desktop) and in code-server
 * (runExtensionHostTests in harness.ts), which waits for the final `RESULT <n> failures` line.
 * `mocha` must stay external to the bundle (it loads the test files with require()).
 */
import Mocha from 'mocha';

export interface HostMochaOptions {
  /** per-test timeout (default 60 s) */
  timeout?: number;
  /** only tests whose title matches (default: the E2E_HOST_GREP environment variable, when set) */
  grep?: string | RegExp;
  /** "slow" threshold of the reporter (default 5 s) */
  slow?: number;
}

export function runMochaInHost(files: string[], options: HostMochaOptions = {}): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    timeout: options.timeout ?? 60_000,
    slow: options.slow ?? 5_000,
  });
  const grep = options.grep ?? process.env.E2E_HOST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of files) mocha.addFile(f);
  return new Promise<void>((resolve, reject) => {
    const finish = (failures: number) => {
      console.log(`RESULT ${failures} failures`);
      if (failures > 0) reject(new Error(`${failures} tests failed`));
      else resolve();
    };
    try {
      mocha.run(finish);
    } catch (e) {
      // a test file that throws while loading
      console.error(e);
      finish(1);
    }
  });
}
