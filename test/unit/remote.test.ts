import * as assert from 'node:assert/strict';
import { isPgBackupError } from '../../src/core/errors';
import { FILE_PARTS_BUDGET, IN_FLIGHT_BUDGET, MIN_PART_SIZE, backupKey, concurrencyFor, describeKey, isEncryptedName, partSizeFor, sidecarKey } from '../../src/core/store/remote/layout';
import { parseRemote, parseRemoteObject, remotesConfigPath, validateNamedRemotes } from '../../src/core/store/remote/remoteConfig';
import { describeRemoteError } from '../../src/core/store/remote/remoteErrors';
import { s3ClientConfig } from '../../src/core/store/remote/s3Client';

const MiB = 1024 * 1024;
const named = [
  { name: 'team', url: 's3://backups/team', endpoint: 'http://127.0.0.1:9000', region: 'eu-1' },
  { name: 'gcs', url: 'gs://my-bucket' },
];

function throwsKind(fn: () => unknown, kind: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isPgBackupError(e) && e.kind === kind && pattern.test(e.message));
}

describe('remote URLs and named remotes', () => {
  it('parses s3:// and gs:// URLs into bucket and prefix', () => {
    assert.deepEqual(
      (({ kind, bucket, prefix }) => ({ kind, bucket, prefix }))(parseRemote('s3://bkt/a//b/')),
      { kind: 's3', bucket: 'bkt', prefix: 'a/b' },
    );
    assert.equal(parseRemote('gs://my-bucket').prefix, '');
    throwsKind(() => parseRemote('s3://UPPER/x'), 'usage', /not a valid bucket name/);
    throwsKind(() => parseRemote('ftp://x/y'), 'usage', /neither an s3:\/\/ or gs:\/\/ URL nor a configured remote/);
  });

  it('resolves a name, and a URL below a named remote, with its endpoint and region; flags override', () => {
    const byName = parseRemote('team', named);
    assert.equal(byName.endpoint, 'http://127.0.0.1:9000');
    assert.equal(byName.forcePathStyle, true, 'an endpoint implies path-style');
    const below = parseRemote('s3://backups/team/x', named);
    assert.equal(below.endpoint, 'http://127.0.0.1:9000');
    assert.equal(below.prefix, 'team/x');
    assert.equal(parseRemote('s3://backups/other', named).endpoint, undefined, 'a sibling prefix is not the named remote');
    assert.equal(parseRemote('team', named, { region: 'us-2', endpoint: undefined }).region, 'us-2');
    throwsKind(() => parseRemote('gs://bk1/x', [], { endpoint: 'http://h' }), 'usage', /STORAGE_EMULATOR_HOST/);
  });

  it('parses remote objects as URLs or NAME/path', () => {
    assert.deepEqual((({ remote, key }) => [remote.bucket, key])(parseRemoteObject('s3://backups/team/c/d/f.dump', named)), ['backups', 'team/c/d/f.dump']);
    assert.equal(parseRemoteObject('team/c/d/f.dump', named).key, 'team/c/d/f.dump');
    assert.equal(parseRemoteObject('gcs/c/d/f.dump', named).key, 'c/d/f.dump');
    throwsKind(() => parseRemoteObject('s3://backups', named), 'usage', /names a bucket, not an object/);
    throwsKind(() => parseRemoteObject('team', named), 'usage', /not a remote object/);
  });

  it('refuses keys written into a remotes file, duplicate names and bad URLs', () => {
    throwsKind(() => validateNamedRemotes([{ name: 'a', url: 's3://bkt', secretAccessKey: 'x' }], 'f'), 'refused', /"secretAccessKey": keys do not belong/);
    throwsKind(() => validateNamedRemotes([{ name: 'a', url: 's3://bkt' }, { name: 'a', url: 's3://bkt2' }], 'f'), 'usage', /used twice/);
    throwsKind(() => validateNamedRemotes({}, 'f'), 'usage', /JSON array/);
    assert.equal(validateNamedRemotes(named, 'f').length, 2);
  });

  it('finds remotes.json in the per-user config folder, or PG_DOCKER_BACKUP_REMOTES', () => {
    assert.equal(remotesConfigPath({}, 'linux', '/home/u'), '/home/u/.config/pg-docker-backup/remotes.json');
    assert.equal(remotesConfigPath({ XDG_CONFIG_HOME: '/x' }, 'linux', '/home/u'), '/x/pg-docker-backup/remotes.json');
    assert.equal(remotesConfigPath({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/pg-docker-backup/remotes.json');
    assert.equal(remotesConfigPath({ PG_DOCKER_BACKUP_REMOTES: '/etc/r.json' }, 'linux', '/home/u'), '/etc/r.json');
  });
});

describe('remote object layout', () => {
  it('stores prefix/<container>/<database>/<file> with the sidecar beside it, and reads names back', () => {
    const key = backupKey('p/q', 'my:db', 'sales/eu', 'f.sql.gz');
    assert.equal(key, 'p/q/my%3Adb/sales%2Feu/f.sql.gz');
    assert.deepEqual(describeKey(key), { container: 'my:db', database: 'sales/eu', file: 'f.sql.gz' });
    assert.equal(sidecarKey(key), key + '.json');
    assert.equal(backupKey('', 'c', 'd', 'f'), 'c/d/f');
    assert.ok(isEncryptedName('a.sql.gz.age') && !isEncryptedName('a.sql.gz'));
  });

  it('keeps three parts in flight for streams (five for files read into reused buffers) up to 78 GiB and two for larger parts (bounded memory)', () => {
    assert.equal(concurrencyFor(partSizeFor(2 * 1024 * MiB)), 3, '2 GiB: 8 MiB parts');
    assert.equal(concurrencyFor(partSizeFor(78 * 1024 * MiB)), 3);
    assert.equal(concurrencyFor(partSizeFor(100 * 1024 * MiB)), 2, '11 MiB parts');
    assert.equal(concurrencyFor(partSizeFor(256 * 1024 * MiB)), 2, 'a stream of unknown length: 27 MiB parts');
    assert.equal(concurrencyFor(8 * MiB, FILE_PARTS_BUDGET), 5, 'a file in parts read into reused buffers');
    for (const size of [0, 200 * MiB, 5 * 1024 * 1024 * MiB]) {
      const p = partSizeFor(size);
      assert.ok(p * concurrencyFor(p) <= Math.max(IN_FLIGHT_BUDGET, 2 * p), `${size}: at most the budget or two parts in flight`);
      assert.ok(p * concurrencyFor(p, FILE_PARTS_BUDGET) <= Math.max(FILE_PARTS_BUDGET, 2 * p));
    }
  });

  it('sizes parts so that 10,000 cover the object: at least 8 MiB, whole MiB', () => {
    assert.equal(partSizeFor(0), MIN_PART_SIZE);
    assert.equal(partSizeFor(200 * MiB), 8 * MiB);
    assert.equal(partSizeFor(100 * 1024 * MiB), 11 * MiB, '100 GiB / 10,000 = 10.24 MiB, rounded up');
    const fiveTiB = 5 * 1024 * 1024 * MiB;
    assert.ok(partSizeFor(fiveTiB) * 10_000 >= fiveTiB);
    assert.equal(partSizeFor(fiveTiB) % MiB, 0);
  });
});

describe('remote errors', () => {
  const sentence = (e: unknown) => describeRemoteError('team', 'Uploading', e, 'backups').message;
  it('names the remote and says what to do, in one sentence', () => {
    assert.match(sentence({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }), /^Uploading on remote "team" failed: the credentials were refused/);
    assert.match(sentence({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }), /the bucket "backups" does not exist/);
    assert.match(sentence({ name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403 } }), /clock differs too much/);
    assert.match(sentence({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), /access denied/);
    assert.match(sentence(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), /the server did not answer \(ECONNREFUSED\)/);
    assert.match(sentence({ code: 404, message: 'The specified bucket does not exist.' }), /bucket "backups" does not exist/);
    assert.match(sentence(new Error('Could not load the default credentials. Browse to …')), /credentials were refused or none were found/);
    assert.doesNotMatch(sentence(new Error('first line\nsecond')), /second/);
  });

  it('gives the same sentences for the error shapes of the GCS SDK (gaxios), which the emulator never produces', () => {
    const gcs = (e: unknown) => describeRemoteError('gs://b/p', 'Listing', e, 'b').message;
    // an unknown service-account key: the token endpoint answers 400 invalid_grant
    assert.equal(
      gcs(Object.assign(new Error('invalid_grant: Invalid JWT Signature.'), { name: 'GaxiosError', status: 400, response: { status: 400 } })),
      'Listing on remote "gs://b/p" failed: the credentials were refused or none were found; check AWS_PROFILE / AWS_ACCESS_KEY_ID (S3) or GOOGLE_APPLICATION_CREDENTIALS / gcloud auth application-default login (GCS).',
    );
    // an expired or revoked token: 401
    assert.match(gcs(Object.assign(new Error('Invalid Credentials'), { code: 401, response: { status: 401 } })), /^Listing on remote "gs:\/\/b\/p" failed: the credentials were refused/);
    // a missing bucket: 404 with the service's words
    assert.equal(
      gcs(Object.assign(new Error('The specified bucket does not exist.'), { code: 404, response: { status: 404 } })),
      'Listing on remote "gs://b/p" failed: the bucket "b" does not exist; check the URL or create the bucket.',
    );
    // a bucket of someone else: 403
    assert.match(gcs(Object.assign(new Error('nobody@x.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.'), { code: 403 })), /access denied/);
  });
});

describe('S3 client configuration', () => {
  it('asks for checksums only when required on custom endpoints, retries with backoff, and takes no keys from config', () => {
    const custom = s3ClientConfig(parseRemote('team', named));
    assert.equal(custom.requestChecksumCalculation, 'WHEN_REQUIRED');
    assert.equal(custom.responseChecksumValidation, 'WHEN_REQUIRED');
    assert.equal(custom.forcePathStyle, true);
    assert.equal(custom.maxAttempts, 5);
    assert.equal(custom.retryMode, 'standard');
    assert.equal(custom.credentials, undefined, 'the default chain');
    const aws = s3ClientConfig(parseRemote('s3://bkt/p', [], { region: 'eu-west-1' }));
    assert.equal(aws.requestChecksumCalculation, 'WHEN_SUPPORTED');
    assert.equal(aws.followRegionRedirects, true);
  });
});
