/**
 * `npm run test:e2e`: makes sure code-server (and Chromium) are installed, builds and packages the
 * extension (dist/ + pg-docker-backup.vsix, the file a user installs), then runs the end-to-end
 * scenario test/e2e/extension.e2e.ts against that .vsix. Its exit code is the scenario's.
 *
 * `npm run test:e2e -- remote` runs test/e2e/remote.e2e.ts (the Remote Backups view against s3rver) instead.
 *
 * Environment: E2E_SKIP_PACKAGE=1 reuses an existing pg-docker-backup.vsix and dist/ (quicker
 * reruns while writing tests); everything else is passed on to extension.e2e.ts (see its header).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureCodeServer, projectRoot } from './harness';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: projectRoot, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const entry = await ensureCodeServer();
  const vsix = path.join(projectRoot, 'pg-docker-backup.vsix');
  if (process.env.E2E_SKIP_PACKAGE === '1' && fs.existsSync(vsix) && fs.existsSync(path.join(projectRoot, 'dist', 'cli.js'))) {
    process.stderr.write(`[e2e] E2E_SKIP_PACKAGE=1: using ${vsix} as it is\n`);
  } else {
    const t1 = Date.now();
    const code = await run('npm', ['run', '--silent', 'package']);
    if (code !== 0) throw new Error(`npm run package exited with ${code}`);
    process.stderr.write(`[e2e] packaged ${vsix} (${Date.now() - t1} ms)\n`);
  }
  process.stderr.write(`[e2e] ready to run the scenario after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  // the scenario's `N passed, M failed` stays the last line
  const scenario = process.argv[2] ?? 'extension';
  if (!/^[a-z]+$/.test(scenario) || !fs.existsSync(path.join(__dirname, `${scenario}.e2e.ts`))) throw new Error(`no scenario test/e2e/${scenario}.e2e.ts`);
  return run(process.execPath, ['--import=tsx', path.join(__dirname, `${scenario}.e2e.ts`)], {
    E2E_CODE_SERVER_ENTRY: entry,
    E2E_VSIX: vsix,
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
