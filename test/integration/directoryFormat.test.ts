import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { readManifest } from '../../src/core/backup/manifest';
import { CLI, cleanup, cli, databases, docker, fingerprint, IMAGE_NEW, IMAGE_OLD, loadChinook, requireDocker, sql, startPostgres, tempDir, waitFor, type CliRun, type PgTestContainer } from './harness';

/** Temporary folders this tool made in the container's /tmp (none may stay). */
async function tempFolders(pg: PgTestContainer): Promise<string[]> {
  const r = await docker().exec(pg.id, ['sh', '-c', 'ls -1 /tmp | grep "^pg-docker-backup-" || true']);
  return r.stdout.split('\n').filter(Boolean);
}

/** Files under a backup folder (none may stay after a failure). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) if (e.isFile()) out.push(e.name);
  return out;
}

/** Runs the CLI and sends SIGINT once `ready` holds (like Ctrl-C in a terminal). */
async function cancelWhen(args: string[], ready: () => Promise<boolean>): Promise<CliRun & { sawReady: boolean }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number>((resolve) => p.on('close', (code) => resolve(code ?? -1)));
  let done = false;
  void exited.then(() => (done = true));
  const sawReady = await waitFor('the moment to cancel', async () => done || (await ready()), 120000).then(() => !done);
  p.kill('SIGINT');
  return { code: await exited, stdout: '', stderr, sawReady };
}

for (const image of [IMAGE_OLD, IMAGE_NEW]) {
  describe(`directory format with parallel jobs (${image.split(':').pop()})`, function () {
    let pg: PgTestContainer;
    let dir: string;
    let original: Awaited<ReturnType<typeof fingerprint>>;
    before(async function () {
      await requireDocker();
      pg = await startPostgres('dirfmt', { image });
      await loadChinook(pg);
      original = await fingerprint(pg, 'chinook');
      dir = await tempDir('dirfmt');
    });
    after(cleanup);

    it('backs up with pg_dump -Fd -j 2 into one .dir.tar and restores every row with pg_restore -j 2, leaving no temporary folder', async function () {
      const b = await cli(['backup', pg.name, '--database', 'chinook', '--format', 'directory', '--jobs', '2', '--dir', dir, '--json']);
      assert.equal(b.code, 0, b.stderr);
      const file = (b.json as { path: string }).path;
      assert.ok(file.endsWith('.dir.tar'), file);
      const m = await readManifest(file);
      assert.equal(m?.format, 'directory');
      assert.deepEqual(m?.stages, []);
      assert.deepEqual(await tempFolders(pg), [], 'the dump folder is gone from the container');
      const listed = await cli(['backups', '--dir', dir, '--json']);
      assert.match(listed.stdout, /"format": "directory"/);

      await sql(pg, 'chinook', 'DELETE FROM invoice_line; UPDATE artist SET name = upper(name)');
      const plan = await cli(['restore', file, '--dry-run', '--jobs', '2']);
      assert.match(plan.stdout, /with 2 parallel jobs \(the tar is unpacked into a temporary folder/);
      const r = await cli(['restore', file, '--yes', '--drop-previous', '--jobs', '2', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.json as { jobs: number }).jobs, 2);
      assert.deepEqual(await fingerprint(pg, 'chinook'), original, 'every row is back');
      assert.deepEqual(await tempFolders(pg), [], 'the unpacked folder is gone from the container');
    });

    if (image === IMAGE_NEW) {
      it('encrypted to a recipient (.dir.tar.age): restores with the identity, refused without it', async function () {
        const key = path.join(dir, 'k.txt');
        const k = await cli(['keygen', '-o', key, '--json']);
        const b = await cli(['backup', pg.name, '--database', 'chinook', '--format', 'directory', '--jobs', '2', '--recipient', (k.json as { publicKey: string }).publicKey, '--dir', dir, '--json']);
        assert.equal(b.code, 0, b.stderr);
        const file = (b.json as { path: string }).path;
        assert.ok(file.endsWith('.dir.tar.age'), file);
        const refused = await cli(['restore', file, '--yes'], { PG_DOCKER_BACKUP_AGE_IDENTITY: undefined });
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /identity|key/i);
        await sql(pg, 'chinook', 'DELETE FROM invoice_line; DELETE FROM playlist_track');
        const r = await cli(['restore', file, '--yes', '--drop-previous', '--identity', key]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await fingerprint(pg, 'chinook'), original);
        assert.deepEqual(await tempFolders(pg), []);
      });
    }
  });
}

describe('directory format: cancel and a full container disk leave nothing behind (17)', function () {
  let pg: PgTestContainer;
  let dir: string;
  before(async function () {
    await requireDocker();
    // /tmp is a small tmpfs: 96 MiB
    pg = await startPostgres('dirfull', { mounts: [{ type: 'tmpfs', target: '/tmp', sizeBytes: 96 * 1024 * 1024 }] });
    dir = await tempDir('dirfull');
    await sql(pg, 'postgres', 'CREATE DATABASE big');
    await docker().exec(pg.id, ['pgbench', '-i', '-q', '-s', '8', '-U', pg.user, 'big'], { env: { PGPASSWORD: pg.password } });
    // about 300 MB of text that TOAST compresses to almost nothing: a small database, a large dump
    await sql(pg, 'postgres', 'CREATE DATABASE toasty');
    await sql(pg, 'toasty', "CREATE TABLE t AS SELECT i, repeat(md5(i::text), 30000) AS v FROM generate_series(1, 300) i");
  });
  after(cleanup);

  it('refuses before anything runs when the database does not fit in the container\'s temporary folder', async function () {
    const r = await cli(['backup', pg.name, '--database', 'big', '--format', 'directory', '--jobs', '2', '--dir', dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not enough room in .* for a directory dump of "big".*KiB free in \/tmp.*--temp-dir DIR.*--format custom.*Nothing was written/s);
    assert.deepEqual(await filesUnder(dir), []);
    assert.deepEqual(await tempFolders(pg), []);
  });

  it('a disk that fills up during pg_dump: one clear error, no file, no temporary folder', async function () {
    const r = await cli(['backup', pg.name, '--database', 'toasty', '--format', 'directory', '--compression', 'none', '--dir', dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /temporary folder in .* filled up while pg_dump wrote the directory dump of "toasty".*Nothing was written, and the temporary folder was removed/s);
    assert.deepEqual(await filesUnder(dir), []);
    assert.deepEqual(await tempFolders(pg), []);
    const df = await docker().exec(pg.id, ['sh', '-c', 'df -Pk /tmp | awk \'NR==2 {print $3}\'']);
    assert.ok(Number(df.stdout.trim()) < 1024, `/tmp is empty again (${df.stdout.trim()} KiB used)`);
  });

  it('cancelling a backup during pg_dump -j ends it and removes the folder and the partial file', async function () {
    const r = await cancelWhen(['backup', pg.name, '--database', 'big', '--format', 'directory', '--jobs', '2', '--compression', 'gzip:9', '--dir', dir, '--temp-dir', '/var/tmp'], async () => {
      const ls = await docker().exec(pg.id, ['sh', '-c', 'ls /var/tmp/pg-docker-backup-*/ 2>/dev/null | grep -c dat || true']);
      return Number(ls.stdout.trim()) > 0;
    });
    assert.ok(r.sawReady, `the backup ended before it could be cancelled: ${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cancel/i);
    assert.deepEqual(await filesUnder(dir), []);
    const left = await docker().exec(pg.id, ['sh', '-c', 'ls /var/tmp | grep "^pg-docker-backup-" || true; for c in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$c"; echo; done | grep "^pg_dump" || true']);
    assert.equal(left.stdout.trim(), '', 'no folder, no pg_dump left in the container');
  });

  it('cancelling a restore during pg_restore -j leaves no scratch database and no temporary folder', async function () {
    const b = await cli(['backup', pg.name, '--database', 'big', '--format', 'directory', '--jobs', '2', '--temp-dir', '/var/tmp', '--dir', dir, '--json']);
    assert.equal(b.code, 0, b.stderr);
    const file = (b.json as { path: string }).path;
    const r = await cancelWhen(['restore', file, '--yes', '--jobs', '2', '--temp-dir', '/var/tmp'], async () => {
      const ps = await docker().exec(pg.id, ['sh', '-c', 'for c in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$c"; echo; done | grep -c "^pg_restore" || true']);
      return Number(ps.stdout.trim()) > 0;
    });
    assert.ok(r.sawReady, `the restore ended before it could be cancelled: ${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cancelled before the swap/);
    assert.deepEqual((await databases(pg)).filter((d) => d.includes('__restoring')), []);
    const left = await docker().exec(pg.id, ['sh', '-c', 'ls /var/tmp /tmp | grep "^pg-docker-backup-" || true']);
    assert.equal(left.stdout.trim(), '');
  });
});
