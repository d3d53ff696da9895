/**
 * Runs the extension-host suite (test/host/*.test.ts) inside code-server's extension host: the same
 * mocha suite @vscode/test-electron runs where VS Code desktop can be downloaded (test/host/electron.ts).
 * Creates a compose-like stack (database + app) first. Prints "N passed, M failed".
 */
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureCodeServer, runExtensionHostTests } from '../e2e/harness';
import { buildSuite } from './build';
import { startS3Server, type TestServer } from '../integration/remoteServers';
import { cleanup, cli, createNetwork, loadChinook, requireDocker, ROOT, startApp, startPostgres, tempDir } from '../integration/harness';

/** The S3 server the Remote Backups tests talk to (s3rver on loopback); stopped when the run ends. */
let s3: TestServer | undefined;
const HOST_BUCKET = 'pgdb-host';

async function main(): Promise<number> {
  await requireDocker();
  const entry = await ensureCodeServer();
  execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
  const out = path.join(ROOT, 'out', 'test', 'host');
  await buildSuite(out);
  const password = 'host $ecret "pw"';
  const net = await createNetwork('host');
  const labels = { 'com.docker.compose.project': 'hostshop' };
  const db = await startPostgres('host-db', { network: net, user: 'shop', password, labels: { ...labels, 'com.docker.compose.service': 'db' } });
  await loadChinook(db);
  const app = await startApp('host-app', net, db, 'chinook', { ...labels, 'com.docker.compose.service': 'app' });
  const dir = await tempDir('host-backups');
  const b = await cli(['backup', db.name, '--database', 'chinook', '--dir', dir]);
  if (b.code !== 0) throw new Error(`preparing a backup failed: ${b.stderr}`);
  const workspace = await tempDir('host-workspace');
  const s3dir = await tempDir('host-s3');
  s3 = await startS3Server([HOST_BUCKET], s3dir);
  // no AWS keys from this machine: the remote works only once the test stored keys in SecretStorage
  const noAws = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: path.join(s3dir, 'none'), AWS_CONFIG_FILE: path.join(s3dir, 'none') };
  const r = await runExtensionHostTests({
    entry,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(out, 'index.js'),
    workspace,
    env: { ...noAws, PG_DOCKER_BACKUP_DIR: dir, PGDB_HOST_TEST_DB: db.name, PGDB_HOST_TEST_APP: app, PGDB_HOST_TEST_PASSWORD: password, PGDB_HOST_S3_LOG: path.join(s3dir, 'requests.jsonl'), PGDB_HOST_S3_ENDPOINT: s3.endpoint, PGDB_HOST_S3_BUCKET: HOST_BUCKET },
    timeoutMs: 600_000,
  });
  const text = r.output;
  const passed = Number(/(\d+) passing/.exec(text)?.[1] ?? 0);
  const failed = Number(/(\d+) failing/.exec(text)?.[1] ?? 0) + (r.failures > 0 && !/failing/.test(text) ? r.failures : 0);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main()
  .then(async (code) => {
    await s3?.stop();
    await cleanup();
    process.exit(code);
  })
  .catch(async (e) => {
    console.error(e instanceof Error ? e.stack : e);
    await s3?.stop();
    await cleanup();
    console.log('0 passed, 1 failed');
    process.exit(1);
  });
