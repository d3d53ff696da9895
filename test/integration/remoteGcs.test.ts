/**
 * gs:// remotes through the real @google-cloud/storage SDK. Always against firebase-tools' storage
 * routes on loopback (STORAGE_EMULATOR_HOST). When GCS_TEST_BUCKET and credentials are set, the same cases
 * and the two error cases the emulator cannot show (wrong credentials: the SDK sends none to an emulator;
 * a missing bucket: the emulator accepts any name) also run against real Cloud Storage; otherwise they
 * are listed as pending with NOT RUN in their titles. The error sentences for GCS's error shapes are
 * unit-tested with plain data (test/unit/remote.test.ts).
 */
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isPgBackupError } from '../../src/core/errors';
import { backupKey, sidecarKey } from '../../src/core/store/remote/layout';
import { parseRemote } from '../../src/core/store/remote/remoteConfig';
import { openRemoteStore, type RemoteStore } from '../../src/core/store/remote/remoteStore';
import { tempDir } from './harness';
import { randomFile, startGcsServer, type TestServer } from './remoteServers';

const MiB = 1024 * 1024;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

function gcsCases(name: string, setup: () => Promise<{ url: string; done?: () => Promise<void> }>) {
  describe(name, function () {
    this.timeout(300_000);
    let work: string;
    let store: RemoteStore;
    let done: (() => Promise<void>) | undefined;
    const run = Math.random().toString(36).slice(2, 8);

    before(async () => {
      const s = await setup();
      done = s.done;
      work = await tempDir('gcs');
      store = await openRemoteStore(parseRemote(`${s.url}/${run}`));
    });
    after(async () => {
      await store?.delete((await store.list().catch(() => [])).map((b) => b.key)).catch(() => undefined);
      store?.close();
      await done?.();
      if (work) await fs.rm(work, { recursive: true, force: true });
    });

    it('round-trips a backup with its sidecar and equal sha256; a repeated upload sends nothing', async () => {
      const file = path.join(work, 'app_20250101_000000.sql.gz');
      await randomFile(file, 40 * MiB + 123);
      const key = backupKey(store.remote.prefix, 'app-db', 'app', path.basename(file));
      const up = await store.upload(file, key, { container: 'app-db', database: 'app', manifest: { note: 'kept' } });
      assert.equal(up.skipped, false);
      assert.equal(up.sha256, await sha256(file));
      const again = await store.upload(file, key, { container: 'app-db', database: 'app' });
      assert.equal(again.skipped, true);

      const listed = await store.list('app-db');
      assert.deepEqual(listed.map((b) => [b.key, b.bytes, b.container, b.database, b.hasSidecar]), [[key, 40 * MiB + 123, 'app-db', 'app', true]]);

      const target = path.join(work, 'down', 'app.sql.gz');
      const d = await store.download(key, target);
      assert.equal(d.verified, true);
      assert.equal(await sha256(target), up.sha256);
      assert.deepEqual(JSON.parse(await fs.readFile(target + '.json', 'utf8')), { note: 'kept' }, 'the manifest travels in the sidecar');

      await store.delete([key]);
      assert.equal(await store.head(key), undefined);
      assert.equal(await store.head(sidecarKey(key)), undefined);
    });

    it('a cancelled upload leaves no object and no sidecar', async () => {
      const file = path.join(work, 'cancel.dump');
      await randomFile(file, 64 * MiB);
      const key = backupKey(store.remote.prefix, 'c', 'd', 'cancel.dump');
      const controller = new AbortController();
      let err: unknown;
      await store.upload(file, key, { container: 'c', database: 'd', signal: controller.signal, onProgress: (p) => (p.bytes ?? 0) > 0 && controller.abort() }).catch((e) => (err = e));
      assert.ok(isPgBackupError(err, 'cancelled'), String(err));
      assert.equal(await store.head(key), undefined);
      assert.equal(await store.head(sidecarKey(key)), undefined);
    });

    it('a missing object is reported as not found', async () => {
      let err: unknown;
      await store.download(`${store.remote.prefix}/none/x/y.dump`, path.join(work, 'none.dump')).catch((e) => (err = e));
      assert.ok(isPgBackupError(err, 'notFound'), String(err));
      assert.equal(existsSync(path.join(work, 'none.dump')), false);
    });
  });
}

let emulator: TestServer | undefined;
const savedHost = process.env.STORAGE_EMULATOR_HOST;
gcsCases('remote copies on GCS (firebase-tools storage emulator on loopback)', async () => {
  emulator = await startGcsServer();
  process.env.STORAGE_EMULATOR_HOST = emulator.endpoint;
  return {
    url: 'gs://pgdb-test-bucket/backups',
    done: async () => {
      if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = savedHost;
      await emulator?.stop();
    },
  };
});

/**
 * Wrong credentials and a missing bucket on gs://: only real Cloud Storage can show them. With
 * STORAGE_EMULATOR_HOST the SDK sends no credentials at all, and the emulator accepts any bucket name
 * (listing or uploading to a bucket nobody created succeeds), so neither case can fail there.
 */
function gcsErrorCases(bucket: string) {
  describe(`errors on real GCS (gs://${bucket})`, function () {
    this.timeout(120_000);
    it('a service-account key Google does not know gives one sentence naming the remote', async () => {
      const dir = await tempDir('gcs-key');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      const keyFile = path.join(dir, 'nobody.json');
      await fs.writeFile(keyFile, JSON.stringify({ type: 'service_account', project_id: 'nobody', private_key_id: 'x', private_key: privateKey, client_email: 'nobody@nobody.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token' }), { mode: 0o600 });
      const store = await openRemoteStore(parseRemote(`gs://${bucket}/pg-docker-backup-test`, [], { keyFile }));
      const err = await store.list().then(() => undefined, (e: Error) => e);
      store.close();
      assert.ok(err, 'listing with an unknown key failed');
      assert.match(err.message, new RegExp(`^Listing on remote "gs://${bucket}/pg-docker-backup-test" failed: the credentials were refused or none were found`));
      assert.doesNotMatch(err.message, /PRIVATE KEY/);
    });
    it('a bucket that does not exist gives one sentence naming the remote and the bucket', async () => {
      const missing = `pgdb-missing-${Math.random().toString(36).slice(2, 12)}`;
      const store = await openRemoteStore(parseRemote(`gs://${missing}/p`));
      const err = await store.list().then(() => undefined, (e: Error) => e);
      store.close();
      assert.equal(err?.message, `Listing on remote "gs://${missing}/p" failed: the bucket "${missing}" does not exist; check the URL or create the bucket.`);
    });
  });
}

if (process.env.GCS_TEST_BUCKET) {
  gcsCases(`remote copies on real GCS (gs://${process.env.GCS_TEST_BUCKET})`, async () => ({ url: `gs://${process.env.GCS_TEST_BUCKET}/pg-docker-backup-test` }));
  gcsErrorCases(process.env.GCS_TEST_BUCKET);
} else {
  describe('remote copies on real GCS', () => {
    before(() => console.log('    NOT RUN: the real-GCS cases need GCS_TEST_BUCKET and Application Default Credentials; gs:// was covered by the emulator only, and wrong credentials / a missing bucket on gs:// not at all (the S3 suite covers them for s3://)'));
    // pending, not passed: mocha lists them under "pending"
    it('NOT RUN (set GCS_TEST_BUCKET): the gs:// cases against real Cloud Storage');
    it('NOT RUN (set GCS_TEST_BUCKET): wrong credentials on gs:// give one sentence naming the remote (the emulator sends no credentials)');
    it('NOT RUN (set GCS_TEST_BUCKET): a missing gs:// bucket gives one sentence naming the remote (the emulator accepts any bucket)');
  });
}
