/**
 * Remote copies against real API servers on loopback: s3rver (with a request log) for s3://, the
 * firebase-tools storage routes for gs://. No SDK is mocked: the real @aws-sdk and @google-cloud
 * clients talk HTTP to them. The CLI cases run dist/cli.js (`node esbuild.js` first).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isPgBackupError, type PgBackupError } from '../../src/core/errors';
import type { Logger } from '../../src/core/logger';
import { MIN_PART_SIZE, backupKey, sidecarKey } from '../../src/core/store/remote/layout';
import { parseRemote } from '../../src/core/store/remote/remoteConfig';
import { RemoteStore, openRemoteStore } from '../../src/core/store/remote/remoteStore';
import { createS3Client } from '../../src/core/store/remote/s3Client';
import { CLI, cli, tempDir } from './harness';
import { S3_KEYS, multipartCalls, remoteTestEnv, randomFile, startS3Server, type TestServer } from './remoteServers';

const MiB = 1024 * 1024;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (l: string) => (m: string) => void lines.push(`${l} ${m}`);
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function rejection(p: Promise<unknown>): Promise<PgBackupError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isPgBackupError(e), `expected a PgBackupError, got ${(e as Error).stack}`);
    return e;
  }
  assert.fail('expected the operation to fail');
}

describe('remote copies on S3 (s3rver on loopback)', function () {
  this.timeout(300_000);
  let s3: TestServer;
  let work: string;
  let env: Record<string, string>;
  const url = 's3://backups/team';

  before(async () => {
    assert.ok(existsSync(CLI), 'dist/cli.js is missing: run `node esbuild.js` first');
    work = await tempDir('remote');
    s3 = await startS3Server(['backups']);
    env = remoteTestEnv(work, path.join(work, 'downloads'));
    await fs.writeFile(env.PG_DOCKER_BACKUP_REMOTES, JSON.stringify([
      { name: 'team', url, endpoint: s3.endpoint },
      { name: 'vault', url: 's3://backups/vault', endpoint: s3.endpoint, requireEncryption: true },
    ]));
  });
  after(async () => {
    await s3?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  const store = (over: Partial<Parameters<typeof parseRemote>[2]> = {}, logger?: Logger, credentials = S3_KEYS) =>
    openRemoteStore(parseRemote(url, [], { endpoint: s3.endpoint, ...over }), { credentials, logger });

  it('round-trips a 200 MB backup through upload and download with equal sha256, in 8 MiB multipart parts', async () => {
    const dir = path.join(work, 'local', 'shop-db', 'shop');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'shop_20250102_030405.dump');
    await randomFile(file, 200 * MiB);
    const local = await sha256(file);
    const up = await cli(['upload', file, 'team', '--json'], env);
    assert.equal(up.code, 0, up.stderr);
    const [u] = (up.json as { uploads: { url: string; key: string; sha256: string; skipped: boolean }[] }).uploads;
    assert.equal(u.url, `${url}/shop-db/shop/shop_20250102_030405.dump`);
    assert.equal(u.sha256, local);
    assert.equal(u.skipped, false);

    const calls = multipartCalls(s3.requests(), u.key);
    assert.equal(calls.create.length, 1, 'one CreateMultipartUpload');
    assert.equal(calls.parts.length, Math.ceil((200 * MiB) / MIN_PART_SIZE), 'parts of 8 MiB');
    assert.equal(calls.complete.length, 1);
    assert.equal(calls.abort.length, 0);
    assert.ok(calls.parts.every((r) => r.status === 200));
    // the sidecar is written after the object is complete
    const sidecarPut = s3.requests().find((r) => r.method === 'PUT' && decodeURIComponent(r.url.split('?')[0]).endsWith(sidecarKey(u.key)));
    assert.ok(sidecarPut && sidecarPut.id > calls.complete[0].id, 'sidecar PUT after CompleteMultipartUpload');

    const down = await cli(['download', u.url, '--json'], env);
    assert.equal(down.code, 0, down.stderr);
    const d = down.json as { path: string; sha256: string; verified: boolean };
    assert.equal(d.path, path.join(env.PG_DOCKER_BACKUP_DIR, 'shop-db', 'shop', 'shop_20250102_030405.dump'));
    assert.equal(d.verified, true);
    assert.equal(await sha256(d.path), local);
    assert.equal(existsSync(d.path + '.partial'), false);
    assert.equal((await fs.stat(d.path)).mode & 0o777, 0o600);
  });

  it('does not upload the same file again: the sidecar has the same sha256', async () => {
    const file = path.join(work, 'local', 'shop-db', 'shop', 'shop_20250102_030405.dump');
    const before = s3.requests().length;
    const again = await cli(['upload', file, 'team', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.json as { uploads: { skipped: boolean }[] }).uploads[0].skipped, true);
    const sent = s3.requests().slice(before).filter((r) => r.method === 'PUT' || r.method === 'POST');
    assert.deepEqual(sent, [], 'no PUT or POST for a repeated upload');
  });

  it('a cancelled upload sends AbortMultipartUpload and leaves no object or sidecar', async () => {
    const file = path.join(work, 'cancel.dump');
    await randomFile(file, 64 * MiB);
    const key = backupKey('team', 'c1', 'db1', 'cancel.dump');
    const s = await store();
    const controller = new AbortController();
    const err = await rejection(
      s.upload(file, key, {
        container: 'c1',
        database: 'db1',
        signal: controller.signal,
        onProgress: (p) => (p.bytes ?? 0) > 0 && controller.abort(),
      }),
    );
    assert.equal(err.kind, 'cancelled', err.message);
    const calls = multipartCalls(s3.requests(), key);
    assert.equal(calls.create.length, 1, 'the multipart upload had started');
    assert.ok(calls.parts.length >= 1 && calls.parts.length < 8, `stopped early (${calls.parts.length} parts)`);
    assert.equal(calls.complete.length, 0, 'never completed');
    assert.equal(calls.abort.length, 1, 'AbortMultipartUpload was sent');
    assert.ok(calls.abort[0].id > calls.create[0].id);
    assert.deepEqual((await s.list('c1')).map((b) => b.key), []);
    assert.equal(await s.head(sidecarKey(key)), undefined);
    s.close();
  });

  it('a file whose sha256 differs from its manifest is refused before the object is completed: aborted, nothing left', async () => {
    const file = path.join(work, 'changed.dump');
    await randomFile(file, 20 * MiB);
    const key = backupKey('team', 'c2', 'db2', 'changed.dump');
    const s = await store();
    const err = await rejection(s.upload(file, key, { container: 'c2', database: 'db2', sha256: '0'.repeat(64) }));
    assert.equal(err.kind, 'failed');
    assert.match(err.message, /^The sha256 of changed\.dump \([0-9a-f]{12}…\) differs from its manifest's \(000000000000…\); nothing was uploaded/);
    const calls = multipartCalls(s3.requests(), key);
    assert.equal(calls.parts.length, 3, 'every part was sent (the sha256 is known only at the end)');
    assert.equal(calls.complete.length, 0, 'never completed');
    assert.equal(calls.abort.length, 1, 'AbortMultipartUpload was sent');
    assert.deepEqual((await s.list('c2')).map((b) => b.key), []);
    assert.equal(await s.head(sidecarKey(key)), undefined);
    s.close();
  });

  it('an upload whose server is killed fails with one sentence naming the remote, after trying to abort', async () => {
    const dying = await startS3Server(['backups']);
    const file = path.join(work, 'killed.dump');
    await randomFile(file, 96 * MiB);
    const logger = recordingLogger();
    const s = await openRemoteStore(parseRemote('s3://backups/x', [], { endpoint: dying.endpoint, maxAttempts: 2 }), { credentials: S3_KEYS, logger });
    const key = 'x/c/d/killed.dump';
    let killed = false;
    const upload = s.upload(file, key, {
      container: 'c',
      database: 'd',
      onProgress: () => {
        if (!killed && multipartCalls(dying.requests(), key).parts.length > 0) {
          killed = true;
          void dying.kill();
        }
      },
    });
    const err = await rejection(upload);
    assert.ok(killed, 'the server was killed during the upload');
    assert.equal(err.kind, 'failed');
    assert.match(err.message, /^Uploading on remote "s3:\/\/backups\/x" failed: the server did not answer \(ECONNREFUSED\)/);
    assert.doesNotMatch(err.message, /\n/);
    assert.ok(logger.lines.some((l) => /AbortMultipartUploadCommand backups\/x\/c\/d\/killed\.dump/.test(l)), 'AbortMultipartUpload was attempted');
    s.close();
    await dying.stop();
  });

  it('wrong credentials and a missing bucket each give one sentence naming the remote', async () => {
    // s3rver checks the key id, not SigV4 signatures: a wrong id stands for wrong credentials
    const wrong = await store({}, undefined, { accessKeyId: 'NOBODY', secretAccessKey: 'not-the-secret' });
    const e1 = await rejection(wrong.list());
    assert.match(e1.message, /^Listing on remote "s3:\/\/backups\/team" failed: the credentials were refused/);
    assert.doesNotMatch(e1.message, /not-the-secret/);
    wrong.close();

    const r = await cli(['remote-list', 's3://no-such-bucket/p', '--endpoint', s3.endpoint], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'error: Listing on remote "s3://no-such-bucket/p" failed: the bucket "no-such-bucket" does not exist; check the URL or create the bucket.');

    const badKeys = await cli(['remote-list', 'team'], { ...env, AWS_ACCESS_KEY_ID: 'NOBODY' });
    assert.equal(badKeys.code, 1);
    assert.equal(
      badKeys.stderr.trim(),
      'error: Listing on remote "team" failed: the credentials were refused or none were found; check AWS_PROFILE / AWS_ACCESS_KEY_ID (S3) or GOOGLE_APPLICATION_CREDENTIALS / gcloud auth application-default login (GCS).',
    );
  });

  it('lists more than 1,000 objects, page by page', async () => {
    const remote = parseRemote('s3://backups/many', [], { endpoint: s3.endpoint });
    const client = createS3Client(remote, { credentials: S3_KEYS, pageSize: 250 });
    const keys = Array.from({ length: 1005 }, (_, i) => backupKey('many', 'c', 'd', `d_20250101_${String(i).padStart(6, '0')}.sql.gz`));
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => client.putSmall(k, Buffer.from(k), 'application/gzip')));
    const before = s3.requests().length;
    const listed = await new RemoteStore(remote, client).list();
    assert.deepEqual(listed.map((b) => b.key).sort(), [...keys].sort());
    assert.ok(listed.every((b) => b.container === 'c' && b.database === 'd' && !b.hasSidecar));
    const pages = s3.requests().slice(before).filter((r) => r.method === 'GET' && /list-type=2/.test(r.url));
    assert.equal(pages.length, 5, '1005 objects in pages of 250');
    client.close();
  });

  it('remote-list shows URL, size, container, database and encryption; remote-delete removes object and sidecar after confirmation', async () => {
    const dir = path.join(work, 'local', 'crm-db', 'crm');
    await fs.mkdir(dir, { recursive: true });
    const plain = path.join(dir, 'crm_20250103_000000.sql.gz');
    const sealed = path.join(dir, 'crm_20250104_000000.sql.gz.age');
    await randomFile(plain, 1000);
    await randomFile(sealed, 2000);
    assert.equal((await cli(['upload', plain, sealed, 'team'], env)).code, 0);

    const ls = await cli(['remote-list', 'team', '--container', 'crm-db', '--json'], env);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = (ls.json as { backups: { url: string; bytes: number; container: string; database: string; encrypted: boolean }[] }).backups;
    assert.deepEqual(
      rows.map((r) => [r.url, r.bytes, r.container, r.database, r.encrypted]).sort(),
      [
        [`${url}/crm-db/crm/crm_20250103_000000.sql.gz`, 1000, 'crm-db', 'crm', false],
        [`${url}/crm-db/crm/crm_20250104_000000.sql.gz.age`, 2000, 'crm-db', 'crm', true],
      ],
    );

    const target = `team/crm-db/crm/crm_20250103_000000.sql.gz`;
    const refused = await cli(['remote-delete', target], env);
    assert.equal(refused.code, 2, refused.stderr);
    const s = await store();
    assert.ok(await s.head('team/crm-db/crm/crm_20250103_000000.sql.gz'), 'nothing deleted without --yes');

    const del = await cli(['remote-delete', target, '--yes'], env);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await s.head('team/crm-db/crm/crm_20250103_000000.sql.gz'), undefined);
    assert.equal(await s.head('team/crm-db/crm/crm_20250103_000000.sql.gz.json'), undefined, 'sidecar deleted too');
    assert.ok(await s.head('team/crm-db/crm/crm_20250104_000000.sql.gz.age'), 'the other backup stays');
    s.close();
  });

  it('a remote that requires encryption refuses a plain backup and accepts an .age one', async () => {
    const plain = path.join(work, 'local', 'crm-db', 'crm', 'crm_20250103_000000.sql.gz');
    const r = await cli(['upload', plain, 'vault'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /accepts only encrypted backups/);
    const s = await openRemoteStore(parseRemote('s3://backups/vault', [], { endpoint: s3.endpoint }), { credentials: S3_KEYS });
    assert.deepEqual(await s.list(), []);
    const sealed = path.join(work, 'local', 'crm-db', 'crm', 'crm_20250104_000000.sql.gz.age');
    assert.equal((await cli(['upload', sealed, 'vault'], env)).code, 0);
    assert.equal((await s.list()).length, 1);
    s.close();
  });

  it('a download whose bytes differ from the sidecar is refused and leaves no file', async () => {
    const remote = parseRemote(url, [], { endpoint: s3.endpoint });
    const client = createS3Client(remote, { credentials: S3_KEYS });
    const key = 'team/crm-db/crm/crm_20250104_000000.sql.gz.age';
    await client.putSmall(key, Buffer.from('tampered'), 'application/octet-stream');
    const target = path.join(work, 'tampered', 'x.age');
    const err = await rejection(new RemoteStore(remote, client).download(key, target));
    assert.match(err.message, /does not match its sidecar/);
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(target + '.partial'), false);
    client.close();
  });
});
