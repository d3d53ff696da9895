import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { deleteWalInContainer } from '../../src/core/pitr/archiveFiles';
import { cleanup, cli, containerState, docker, requireDocker, sql, startPostgres, tempDir, waitFor, type PgTestContainer } from './harness';
import { remoteTestEnv, startS3Server, type TestServer } from './remoteServers';

/**
 * pitr prune, encrypted and uploaded base backups, and cleanup of a killed recovery, against one real
 * PostgreSQL 17 container archiving WAL into a host folder (a bind mount) and s3rver on loopback.
 */
const ARCHIVE = '/var/lib/postgresql/archive';
const LABEL = 'pg-docker-backup.pitr-recovery';
const SEGMENT = /^[0-9A-F]{24}$/;

describe('pitr: retention, encrypted and remote base backups, killed recoveries', function () {
  this.timeout(240_000);
  let pg: PgTestContainer;
  let dir: string;
  let hostArchive: string;
  let work: string;
  let env: Record<string, string>;
  let identity: string;
  let s3: TestServer;
  const bases: { path: string; walFiles: string[]; stages: { kind: string }[] }[] = [];

  const rows = async (db = 'shop') => (await sql(pg, db, "SELECT coalesce(string_agg(label, ',' ORDER BY id), '') FROM item")).trim();
  const archived = async () => (await fs.readdir(hostArchive)).sort();
  const recoveryContainers = async () => (await docker().listContainers()).filter((c) => c.labels[LABEL] === pg.name).map((c) => c.name);
  const recoveryVolumes = () => docker().listVolumes(`${LABEL}=${pg.name}`);
  async function insert(label: string): Promise<void> {
    await sql(pg, 'shop', `INSERT INTO item (label) VALUES ('${label}')`);
    await sql(pg, 'postgres', 'SELECT pg_switch_wal()');
  }
  async function baseBackup(extra: string[] = []): Promise<void> {
    const r = await cli(['pitr', 'base-backup', pg.name, '--json', ...extra], env);
    assert.equal(r.code, 0, r.stderr);
    bases.push(r.json as (typeof bases)[number]);
    await new Promise((res) => setTimeout(res, 1100)); // distinct file names (one a second)
  }

  before(async function () {
    await requireDocker();
    await fs.access(path.join(__dirname, '..', '..', 'dist', 'cli.js')).catch(() => {
      throw new Error('dist/cli.js is missing: run `node esbuild.js` first.');
    });
    work = await tempDir('pitr-retention');
    hostArchive = path.join(work, 'archive');
    await fs.mkdir(hostArchive);
    s3 = await startS3Server(['backups']);
    pg = await startPostgres('pitr-ret', {
      db: 'shop',
      serverArgs: ['-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=test ! -f ${ARCHIVE}/%f && cp %p ${ARCHIVE}/%f`],
      mounts: [{ type: 'bind', source: hostArchive, target: ARCHIVE }],
    });
    const chown = await docker().exec(pg.name, ['chown', 'postgres:postgres', ARCHIVE], { user: 'root' });
    assert.equal(chown.exitCode, 0, chown.stderr);
    await sql(pg, 'shop', 'CREATE TABLE item (id serial PRIMARY KEY, label text NOT NULL)');
    dir = path.join(work, 'backups');
    env = remoteTestEnv(work, dir);
    await fs.writeFile(env.PG_DOCKER_BACKUP_REMOTES, JSON.stringify([{ name: 'team', url: 's3://backups/team', endpoint: s3.endpoint }]));
    identity = path.join(work, 'key.txt');
    const k = await cli(['keygen', '-o', identity, '--json']);
    assert.equal(k.code, 0, k.stderr);
    await insert('a');
    await baseBackup();
    await insert('b');
    await baseBackup();
    await insert('c');
    // the newest base backup: encrypted to the key, and uploaded
    await baseBackup(['--recipient', (k.json as { publicKey: string }).publicKey, '--upload', 'team']);
    await insert('d');
    const mark = await cli(['pitr', 'mark', pg.name, 'after-d', '--json'], env);
    assert.equal(mark.code, 0, mark.stderr);
    await insert('e');
  });
  after(async function () {
    await s3?.stop();
    await cleanup();
    for (const v of await docker().listVolumes(LABEL).catch(() => [] as string[])) if (v.startsWith('pgdbt-')) await docker().removeVolume(v, { force: true }).catch(() => undefined);
  });

  it('pitr base-backup --recipient --upload: an age file here and the same bytes in the bucket', async function () {
    const newest = bases[2];
    assert.ok(newest.path.endsWith('.tar.gz.age'), newest.path);
    assert.deepEqual(newest.stages.map((s) => s.kind), ['compress', 'encrypt']);
    const local = await fs.readFile(newest.path);
    assert.ok(local.subarray(0, 21).toString('latin1').startsWith('age-encryption.org/v1'), 'the file is an age file');
    const listed = await cli(['remote-list', 'team', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(path.basename(newest.path)), `the bucket has ${path.basename(newest.path)}: ${listed.stdout}`);
    const dl = path.join(work, 'dl');
    const url = `s3://backups/team/${pg.name}/_base/${path.basename(newest.path)}`;
    const d = await cli(['download', url, '--dir', dl, '--endpoint', s3.endpoint], env);
    assert.equal(d.code, 0, d.stderr);
    assert.ok((await fs.readFile(path.join(dl, pg.name, '_base', path.basename(newest.path)))).equals(local), 'byte for byte the local file');
  });

  it('upload of a base backup carries its manifest: a download brings the base manifest back beside it', async function () {
    const oldest = bases[0];
    const up = await cli(['upload', oldest.path, 'team', '--json'], env);
    assert.equal(up.code, 0, up.stderr);
    const dl = path.join(work, 'dl-base');
    const url = `s3://backups/team/${pg.name}/_base/${path.basename(oldest.path)}`;
    const d = await cli(['download', url, '--dir', dl, '--endpoint', s3.endpoint], env);
    assert.equal(d.code, 0, d.stderr);
    const got = JSON.parse(await fs.readFile(path.join(dl, pg.name, '_base', `${path.basename(oldest.path)}.json`), 'utf8')) as { kind: string; sha256: string; walFiles: string[] };
    const mine = JSON.parse(await fs.readFile(`${oldest.path}.json`, 'utf8')) as { kind: string; sha256: string; walFiles: string[] };
    assert.equal(got.kind, 'base');
    assert.equal(got.sha256, mine.sha256);
    assert.deepEqual(got.walFiles, mine.walFiles);
  });

  it('pitr restore of an encrypted base backup without the key is refused before anything starts', async function () {
    const no = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--restore-point', 'after-d', '--yes'], env);
    assert.equal(no.code, 2, no.stderr);
    assert.match(no.stderr, /encrypted/);
    assert.deepEqual(await recoveryContainers(), [], 'no recovery container was started');
    assert.equal(await rows(), 'a,b,c,d,e');
  });

  it('pitr prune: the dry run lists what goes; without --yes off a terminal nothing goes; then exactly that goes, never a symlink or a non-WAL file', async function () {
    // Things in the archive that look old but must stay: a symlink with a segment's name, a README.
    await fs.writeFile(path.join(work, 'victim'), 'keep me');
    await fs.symlink(path.join(work, 'victim'), path.join(hostArchive, '000000010000000000000000'));
    await fs.writeFile(path.join(hostArchive, 'README'), 'notes');
    const before = await archived();
    const cutoff = bases[2].walFiles[0];
    const expected = before.filter((n) => (SEGMENT.test(n) || n.endsWith('.backup')) && n.slice(8, 24) < cutoff.slice(8, 24) && n !== '000000010000000000000000');
    assert.ok(expected.length >= 3, `old WAL to prune: ${expected.join(' ')}`);

    const dry = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--dry-run', '--json'], env);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = dry.json as { delete: string[]; keep: string[]; wal: { cutoff: string; delete: string[]; archive: { via: string } } };
    assert.deepEqual(plan.keep, [bases[2].path]);
    assert.deepEqual([...plan.delete].sort(), [bases[0].path, bases[1].path].sort());
    assert.equal(plan.wal.cutoff, cutoff);
    assert.deepEqual(plan.wal.delete, expected);
    assert.equal(plan.wal.archive.via, 'host', 'a bind mount this machine can write is pruned on the host');
    const human = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--dry-run'], env);
    assert.match(human.stdout, /on this machine in .*\(the bind mount\)/);
    for (const n of expected) assert.match(human.stdout, new RegExp(`delete  ${n.replace(/\./g, '\\.')}`));
    assert.deepEqual(await archived(), before, 'the dry run deleted nothing');

    const refused = await cli(['pitr', 'prune', pg.name, '--keep-last', '1'], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /without confirmation/);
    assert.deepEqual(await archived(), before);
    for (const b of bases) await fs.access(b.path);

    const r = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--yes', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((r.json?.walDeleted as string[]).sort(), expected);
    assert.deepEqual(await archived(), before.filter((n) => !expected.includes(n)), 'exactly the planned WAL is gone');
    assert.equal(await fs.readFile(path.join(work, 'victim'), 'utf8'), 'keep me', 'the symlink\'s target is untouched');
    assert.ok((await fs.lstat(path.join(hostArchive, '000000010000000000000000'))).isSymbolicLink(), 'the symlink stays');
    for (const b of bases.slice(0, 2)) await assert.rejects(fs.access(b.path), `${b.path} is deleted`);
    await assert.rejects(fs.access(bases[0].path + '.json'), 'with its manifest');
    await fs.access(bases[2].path);
    const again = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--yes', '--json'], env);
    assert.deepEqual([again.json?.delete, (again.json?.wal as { delete: string[] }).delete], [[], []], 'the newest base backup and its WAL stay');

    // What is left still recovers: to the restore point after d, from the kept (encrypted) base backup.
    const s = await cli(['pitr', 'status', pg.name, '--json'], env);
    assert.deepEqual((s.json as { archive: { missing: string[] } }).archive.missing, [], 'no gap after the prune');
    const back = await cli(['pitr', 'restore', pg.name, '--database', 'shop', '--restore-point', 'after-d', '--identity', identity, '--yes', '--json'], env);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.json?.baseBackup, bases[2].path, 'recovered from the encrypted base backup');
    assert.equal(await rows(), 'a,b,c,d');
  });

  it('through the container: deletes only regular files, refuses an archive folder reached through a symlink', async function () {
    const target = pg.target;
    await fs.writeFile(path.join(hostArchive, '00000001000000000000000A.00000028.backup'), 'x');
    await fs.chown(path.join(hostArchive, '00000001000000000000000A.00000028.backup'), 999, 999).catch(() => undefined);
    await fs.symlink('/etc/hostname', path.join(hostArchive, '0000000100000000000000FE'));
    const r = await deleteWalInContainer(docker(), target, ARCHIVE, ['00000001000000000000000A.00000028.backup', '0000000100000000000000FE', '0000000100000000000000FF']);
    assert.deepEqual(r.deleted, ['00000001000000000000000A.00000028.backup']);
    assert.deepEqual(r.skipped.map((s) => s.reason), ['a symlink now', 'gone already']);
    assert.ok((await fs.lstat(path.join(hostArchive, '0000000100000000000000FE'))).isSymbolicLink());
    await fs.rm(path.join(hostArchive, '0000000100000000000000FE'));
    const ln = await docker().exec(pg.name, ['ln', '-s', ARCHIVE, '/tmp/archive-link'], { user: 'root' });
    assert.equal(ln.exitCode, 0, ln.stderr);
    await assert.rejects(deleteWalInContainer(docker(), target, '/tmp/archive-link', ['0000000100000000000000FF']), /symlink/);
    await assert.rejects(deleteWalInContainer(docker(), target, ARCHIVE, ['../etc/passwd']), /not a WAL file name/);
  });

  it('cleanup removes the recovery container and volume of a pitr restore killed with -9 (and only after confirmation)', async function () {
    let pid = 0;
    const run = cli(['pitr', 'restore', pg.name, '--database', 'shop', '--restore-point', 'after-d', '--identity', identity, '--yes'], env, { onSpawn: (p) => (pid = p) });
    await waitFor('the recovery container', async () => {
      const names = (await recoveryContainers()).filter((n) => !n.endsWith('-unpack'));
      return names.length > 0 && (await containerState(names[0])) === 'running';
    }, 90_000);
    process.kill(pid, 'SIGKILL');
    await run;
    const left = await recoveryContainers();
    assert.equal(left.length, 1, 'the killed run left its recovery container');
    assert.equal((await recoveryVolumes()).length, 1, 'and its volume');
    const prune = await cli(['pitr', 'prune', pg.name, '--keep-last', '1', '--dry-run'], env);
    assert.equal(prune.code, 2, prune.stderr);
    assert.match(prune.stderr, new RegExp(`recovery of ${pg.name} is under way or was killed \\(container ${left[0]}\\)`), 'pitr prune waits for it');
    const dry = await cli(['cleanup', pg.name, '--dry-run', '--json'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok((dry.json?.remove as string[]).some((x) => x.startsWith(`container ${left[0]} (its pitr restore (process ${pid}) is gone)`)), dry.stdout);
    const refused = await cli(['cleanup', pg.name], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.deepEqual(await recoveryContainers(), left, 'not removed without confirmation');
    const r = await cli(['cleanup', pg.name, '--yes', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await recoveryContainers(), [], 'the recovery container is gone');
    assert.deepEqual(await recoveryVolumes(), [], 'its volume is gone');
    assert.equal(await containerState(pg.name), 'running');
  });
});
