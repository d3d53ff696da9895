/**
 * `backup --all` encrypted to a recipient and uploaded (what a scheduled job runs), against real Postgres
 * and s3rver on loopback: every database file is an age file here and in the bucket, the roles file stays
 * local, a restore from the bucket with the identity brings the rows back, and a dead remote fails the run
 * without losing the local backups.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { cleanup, cli, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';
import { remoteTestEnv, startS3Server, type TestServer } from './remoteServers';

interface Item {
  container: string;
  database: string | null;
  kind: string;
  path?: string;
  uploaded?: string;
  error?: string;
}

const sha256 = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');

describe('backup --all --recipient --upload (real Postgres, s3rver on loopback)', function () {
  this.timeout(300_000);
  let s3: TestServer;
  let pg: PgTestContainer;
  let work: string;
  let env: Record<string, string>;
  let pub: string;
  let key: string;

  before(async () => {
    await requireDocker();
    work = await tempDir('all-remote');
    s3 = await startS3Server(['backups']);
    pg = await startPostgres('all-remote-db', { db: 'shop' });
    await sql(pg, 'postgres', 'CREATE DATABASE crm');
    await sql(pg, 'shop', 'CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 1000) g');
    await sql(pg, 'crm', 'CREATE TABLE contacts AS SELECT g AS id FROM generate_series(1, 300) g');
    env = remoteTestEnv(work, path.join(work, 'local'));
    await fs.writeFile(env.PG_DOCKER_BACKUP_REMOTES, JSON.stringify([
      { name: 'team', url: 's3://backups/team', endpoint: s3.endpoint },
      { name: 'dead', url: 's3://backups/dead', endpoint: 'http://127.0.0.1:9' },
    ]));
    key = path.join(work, 'key.txt');
    const k = await cli(['keygen', '-o', key, '--json']);
    assert.equal(k.code, 0, k.stderr);
    pub = (k.json as { publicKey: string }).publicKey;
  });
  after(async () => {
    await s3?.stop();
    await cleanup();
  });

  it('encrypts every database backup, uploads each, and keeps the roles file local', async () => {
    const r = await cli(['backup', '--all', '--container', pg.name, '--recipient', pub, '--upload', 'team', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const items = (r.json as { results: Item[] }).results;
    const dbs = items.filter((i) => i.kind === 'database');
    assert.deepEqual(dbs.map((i) => i.database).sort(), ['crm', 'postgres', 'shop']);
    for (const i of dbs) {
      assert.ok(i.path?.endsWith('.sql.gz.age'), `${i.path} is an age file`);
      assert.equal((await fs.readFile(i.path!)).subarray(0, 21).toString(), 'age-encryption.org/v1', 'the local file is encrypted');
      const manifest = JSON.parse(await fs.readFile(`${i.path}.json`, 'utf8')) as { stages: { kind: string }[] };
      assert.ok(manifest.stages.some((s) => s.kind === 'encrypt'), 'the manifest says so');
      assert.match(i.uploaded ?? '', new RegExp(`^s3://backups/team/${pg.name}/${i.database}/.*\\.sql\\.gz\\.age$`));
    }
    const roles = items.find((i) => i.kind === 'roles');
    assert.ok(roles?.path && !roles.uploaded, 'the roles file is written locally and not uploaded');
    const listed = await cli(['remote-list', 'team', '--container', pg.name, '--json'], env);
    const remote = (listed.json as { backups: { url: string; database: string; encrypted: boolean }[] }).backups;
    assert.deepEqual(remote.map((b) => b.database).sort(), ['crm', 'postgres', 'shop']);
    assert.ok(remote.every((b) => b.encrypted), 'every object is listed as encrypted');

    const shop = dbs.find((i) => i.database === 'shop')!;
    const dl = path.join(work, 'dl');
    const d = await cli(['download', shop.uploaded!, '--dir', dl], env);
    assert.equal(d.code, 0, d.stderr);
    const [copy] = (await fs.readdir(dl, { recursive: true })).map(String).filter((f) => f.endsWith('.age'));
    assert.equal(await sha256(path.join(dl, copy)), await sha256(shop.path!), 'the bucket holds the same encrypted bytes');

    await sql(pg, 'shop', 'DELETE FROM orders WHERE id > 10');
    const back = await cli(['restore', shop.uploaded!, '--yes', '--drop-previous', '--no-checks', '--identity', key], { ...env, PG_DOCKER_BACKUP_DIR: path.join(work, 'restore-dl') });
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await sql(pg, 'shop', 'SELECT count(*) FROM orders')).trim(), '1000', 'every row is back from the bucket');
  });

  it('a remote that does not answer fails the run (exit 1) and names it, and the local backups stay', async () => {
    const dir = path.join(work, 'dead-run');
    const r = await cli(['backup', '--all', '--container', pg.name, '--recipient', pub, '--upload', 'dead', '--dir', dir, '--json'], env);
    assert.equal(r.code, 1, r.stderr);
    const dbs = (r.json as { results: Item[] }).results.filter((i) => i.kind === 'database');
    assert.equal(dbs.length, 3);
    for (const i of dbs) {
      assert.match(i.error ?? '', /backed up to .*, but then: .*dead|did not answer/, i.error);
      await fs.access(i.path!); // the backup is there
    }
  });

  it('refuses --with-role-passwords beside encryption, and --to-remote, before anything is written', async () => {
    const dir = path.join(work, 'refused');
    const a = await cli(['backup', '--all', '--container', pg.name, '--recipient', pub, '--with-role-passwords', '--dir', dir], env);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /unencrypted.*password hashes/);
    const b = await cli(['backup', '--all', '--container', pg.name, '--to-remote', 'team', '--dir', dir], env);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--upload REMOTE/);
    assert.deepEqual(await fs.readdir(dir).catch(() => []), [], 'nothing was written');
  });
});
