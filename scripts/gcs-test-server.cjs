#!/usr/bin/env node
// A local Cloud Storage JSON API server for tests: the storage emulator routes of firebase-tools
// (installed by scripts/gcs-emulator.sh into .cache/firebase-tools) run in-process, without the Java
// rules runtime (rules only guard the Firebase client API, not the gcloud API used here). Buckets are
// created on first upload. Uploads are limited to 130 MB by the emulator's body parser.
//   node scripts/gcs-test-server.cjs [--port N]      prints {"port":N} when it listens
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const dir = process.env.GCS_EMULATOR_DIR || path.join(__dirname, '..', '.cache', 'firebase-tools');
const lib = path.join(dir, 'node_modules', 'firebase-tools', 'lib', 'emulator');
let StorageEmulator, createApp, EmulatorRegistry;
try {
  ({ StorageEmulator } = require(path.join(lib, 'storage', 'index.js')));
  ({ createApp } = require(path.join(lib, 'storage', 'server.js')));
  ({ EmulatorRegistry } = require(path.join(lib, 'registry.js')));
} catch (e) {
  console.error(`The GCS emulator is not installed (${e.message.split('\n')[0]}): run \`bash scripts/gcs-emulator.sh\`.`);
  process.exit(1);
}
const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

(async () => {
  const projectId = 'demo-pg-docker-backup';
  const emulator = new StorageEmulator({ projectId, host: '127.0.0.1', port: Number(values.port), auto_download: false });
  const app = await createApp(projectId, emulator);
  const server = app.listen(Number(values.port), '127.0.0.1', () => {
    emulator.args.port = server.address().port;
    EmulatorRegistry.set('storage', emulator); // the emulator builds object URLs from its registry entry
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // the SDK keeps sockets alive
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
})().catch((e) => {
  console.error(`gcs-test-server: ${e.stack || e}`);
  process.exit(1);
});
