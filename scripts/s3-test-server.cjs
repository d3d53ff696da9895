#!/usr/bin/env node
// A local S3 API server for tests and benchmarks: s3rver (devDependency) on loopback, with every request
// recorded to a log file as it arrives (one JSON line: method, path with query) and its status when it
// ends. s3rver does not implement AbortMultipartUpload, so the log is how a test sees that it was sent.
//   node --openssl-legacy-provider scripts/s3-test-server.cjs --dir DIR --log FILE [--port N] [--bucket NAME]...
// (s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only has in its legacy provider.)
// Prints {"port":N} on stdout when it listens. Credentials: S3RVER / S3RVER. Stops on SIGTERM/SIGINT.
'use strict';
const fs = require('node:fs');
const { parseArgs } = require('node:util');

let S3rver;
try {
  S3rver = require('s3rver');
} catch {
  console.error('s3rver is not installed: run `npm ci` (it is a devDependency of this project).');
  process.exit(1);
}

try {
  require('node:crypto').createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch {
  console.error('s3-test-server: start it with `node --openssl-legacy-provider` (s3rver pages listings with DES tokens).');
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    log: { type: 'string' },
    port: { type: 'string', default: '0' },
    bucket: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.dir || !values.log) {
  console.error('usage: s3-test-server.cjs --dir DIR --log FILE [--port N] [--bucket NAME]...');
  process.exit(2);
}
fs.mkdirSync(values.dir, { recursive: true });
const logFd = fs.openSync(values.log, 'a');
const record = (entry) => fs.writeSync(logFd, JSON.stringify({ t: Date.now(), ...entry }) + '\n');

(async () => {
  const s3rver = new S3rver({ directory: values.dir, silent: true, configureBuckets: values.bucket.map((name) => ({ name })) });
  await s3rver.configureBuckets();
  const server = await s3rver.listen(Number(values.port), '127.0.0.1');
  let seq = 0;
  server.prependListener('request', (req, res) => {
    const id = ++seq;
    record({ id, method: req.method, url: req.url });
    res.on('finish', () => record({ id, status: res.statusCode }));
  });
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // the SDK keeps sockets alive
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
})().catch((e) => {
  console.error(`s3-test-server: ${e.stack || e}`);
  process.exit(1);
});
