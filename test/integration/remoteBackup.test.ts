/**
 * Backups to and from a remote through the CLI, against s3rver on loopback (no SDK mocked): backup
 * --to-remote (no local copy) then restore from the remote; --upload; an encrypted backup stays encrypted in
 * the bucket; prune --remote deletes exactly what a local prune deletes on the same set.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { cleanup, cli, fingerprint, loadChinook, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';
import { remoteTestEnv, startS3Server, type TestServer } from './remoteServers';

const CLOUD_SECRET = 'sk-Xq9-cloud-secret-never-shown';

describe('backups to and from a remote (real Postgres, s3rver on loopback)', function () {
  this.timeout(300_000);
  let s3: TestServer;
  let pg: PgTestContainer;
  let work: string;
  let env: Record<string, string>;
  let original: Awaited<ReturnType<typeof fingerprint>>;

  before(async () => {
    await requireDocker();
    work = await tempDir('remote-backup');
    s3 = await startS3Server(['backups']);
    pg = await startPostgres('remote-db');
    await loadChinook(pg);
    original = await fingerprint(pg, 'chinook');
    // s3rver checks the key id only, so a distinctive secret shows whether it leaks anywhere
    env = remoteTestEnv(work, path.join(work, 'local'), CLOUD_SECRET);
    await fs.writeFile(env.PG_DOCKER_BACKUP_REMOTES, JSON.stringify([{ name: 'team', url: 's3://backups/team', endpoint: s3.endpoint }]));
  });
  after(async () => {
    await s3?.stop();
    await cleanup();
  });

  it('backup --to-remote leaves no local copy; restore from the remote object brings every row back', async () => {
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--to-remote', 'team', '--json'], { ...env, PG_DOCKER_BACKUP_LOG: 'trace' });
    assert.ok(r.stderr.length > 500, 'trace logging was on');
    assert.ok(!r.stdout.includes(CLOUD_SECRET) && !r.stderr.includes(CLOUD_SECRET), 'the cloud secret key is in no output or log line');
    assert.equal(r.code, 0, r.stderr);
    const url = (r.json as { path: string }).path;
    assert.match(url, new RegExp(`^s3://backups/team/${pg.name}/chinook/chinook_\\d{8}_\\d{6}\\.sql\\.gz$`));
    assert.deepEqual(await fs.readdir(env.PG_DOCKER_BACKUP_DIR).catch(() => []), [], 'nothing was written locally');
    const listed = await cli(['remote-list', 'team', '--json'], env);
    const rows = (listed.json as { backups: { url: string; sha256: string | null }[] }).backups;
    assert.equal(rows.find((b) => b.url === url)?.sha256, (r.json as { sha256: string }).sha256, 'the sidecar holds the sha256 computed on the way');
    await sql(pg, 'chinook', 'DELETE FROM invoice_line; UPDATE artist SET name = lower(name)');
    const back = await cli(['restore', url, '--yes', '--drop-previous'], { ...env, PG_DOCKER_BACKUP_LOG: 'trace' });
    assert.equal(back.code, 0, back.stderr);
    assert.ok(!back.stdout.includes(CLOUD_SECRET) && !back.stderr.includes(CLOUD_SECRET), 'nor in the restore\'s');
    for (const f of await fs.readdir(env.PG_DOCKER_BACKUP_DIR, { recursive: true })) {
      const file = path.join(env.PG_DOCKER_BACKUP_DIR, String(f));
      if ((await fs.stat(file)).isFile()) assert.ok(!(await fs.readFile(file, 'latin1')).includes(CLOUD_SECRET), `nor in ${f}`);
    }
    assert.deepEqual(await fingerprint(pg, 'chinook'), original, 'every row is back');
  });

  it('an encrypted backup stays encrypted in the bucket (--upload keeps the local copy too)', async () => {
    const key = path.join(work, 'k.txt');
    const k = await cli(['keygen', '-o', key, '--json']);
    const pub = (k.json as { publicKey: string }).publicKey;
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--recipient', pub, '--upload', 'team', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = r.json as { path: string; uploaded: { url: string } };
    assert.ok(out.path.endsWith('.sql.gz.age'));
    assert.ok(out.uploaded.url.endsWith('.sql.gz.age'));
    const dl = path.join(work, 'dl');
    const d = await cli(['download', out.uploaded.url, '--dir', dl], env);
    assert.equal(d.code, 0, d.stderr);
    const files = await fs.readdir(path.join(dl, pg.name, 'chinook'));
    const got = await fs.readFile(path.join(dl, pg.name, 'chinook', files.find((f) => f.endsWith('.age'))!));
    assert.ok(got.subarray(0, 21).toString('latin1').startsWith('age-encryption.org/v1'), 'the object is an age file');
    assert.ok(got.equals(await fs.readFile(out.path)), 'byte for byte the local encrypted file');
  });

  it('prune --remote deletes exactly what a local prune deletes on the same set', async () => {
    // a synthetic two-month set, uploaded as it is
    const local = path.join(work, 'set');
    const folder = path.join(local, 'setc', 'setdb');
    await fs.mkdir(folder, { recursive: true });
    for (let day = 1; day <= 60; day++) {
      const at = new Date(Date.UTC(2026, 8, day, 2, 0, 0));
      const name = `setdb_${at.toISOString().slice(0, 10).replace(/-/g, '')}_020000.sql.gz`;
      const body = `backup ${day}`;
      await fs.writeFile(path.join(folder, name), body);
      await fs.writeFile(path.join(folder, `${name}.json`), JSON.stringify({ manifestVersion: 2, tool: 'pg-docker-backup', file: name, container: 'setc', containerId: 'x', image: 'i', database: 'setdb', serverVersion: '17', pgDumpVersion: '17', format: 'sql', stages: [], options: { tables: [], schemas: [], noOwner: false }, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex'), created: at.toISOString(), durationMs: 1, rowCounts: 'exact', tables: [] }));
    }
    const files = (await fs.readdir(folder)).filter((f) => !f.endsWith('.json')).map((f) => path.join(folder, f));
    const up = await cli(['upload', ...files, 's3://backups/set', '--endpoint', s3.endpoint], env);
    assert.equal(up.code, 0, up.stderr);
    const rules = ['--keep-daily', '7', '--keep-weekly', '3', '--keep-monthly', '2'];
    const l = await cli(['prune', '--dir', local, ...rules, '--dry-run', '--json'], env);
    const rm = await cli(['prune', '--remote', 's3://backups/set', '--endpoint', s3.endpoint, ...rules, '--yes', '--json'], env);
    assert.equal(rm.code, 0, rm.stderr);
    const names = (list: string[]) => list.map((p) => path.basename(p)).sort();
    const localDelete = names((l.json as { delete: string[] }).delete);
    assert.ok(localDelete.length > 30, `most of the set goes (${localDelete.length})`);
    assert.deepEqual(names((rm.json as { deleted: string[] }).deleted), localDelete, 'the same files');
    const left = await cli(['remote-list', 's3://backups/set', '--endpoint', s3.endpoint, '--json'], env);
    assert.deepEqual(names((left.json as { backups: { url: string }[] }).backups.map((b) => b.url)), names((l.json as { keep: string[] }).keep));
  });
});
