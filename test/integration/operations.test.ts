import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { isPgBackupError } from '../../src/core/errors';
import {
  CLI,
  cleanup,
  cli,
  containerState,
  createNetwork,
  databases,
  docker,
  fingerprint,
  loadChinook,
  requireDocker,
  sql,
  startApp,
  startPostgres,
  tempDir,
  waitFor,
  type PgTestContainer,
} from './harness';

async function filesUnder(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('reset, terminate and the errors a user meets', function () {
  let pg: PgTestContainer;
  let app: string;
  let dir: string;

  before(async function () {
    await requireDocker();
    const net = await createNetwork('ops');
    const project = { 'com.docker.compose.project': 'ops' };
    pg = await startPostgres('ops-db', { network: net, labels: { ...project, 'com.docker.compose.service': 'db' }, password: 'first password' });
    await loadChinook(pg);
    app = await startApp('ops-backend', net, pg, 'chinook', { ...project, 'com.docker.compose.service': 'backend' });
    dir = await tempDir('ops');
  });
  after(cleanup);

  it('terminate ends every other session of the database and says how many', async function () {
    const held = [1, 2].map((i) => docker().exec(pg.name, ['psql', '-U', pg.user, '-d', 'chinook', '-c', 'SELECT pg_sleep(600)'], { env: { PGAPPNAME: `held-${i}` } }));
    const count = async () => Number((await sql(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = 'chinook' AND pid <> pg_backend_pid()`)).trim());
    await waitFor('two held sessions and the app', async () => (await count()) === 3);
    const r = await cli(['terminate', pg.name, '--database', 'chinook', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { container: pg.name, database: 'chinook', terminated: 3 });
    for (const h of held) assert.notEqual((await h).exitCode, 0);
  });

  it('reset refuses without confirmation off a terminal, and changes nothing', async function () {
    const before = await fingerprint(pg, 'chinook');
    const r = await cli(['reset', pg.name, '--database', 'chinook']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pass --yes/);
    assert.deepEqual(await fingerprint(pg, 'chinook'), before);
  });

  it('reset takes a safety backup, recreates the database empty with the same owner and encoding, and restarts the app', async function () {
    await sql(pg, 'postgres', `CREATE ROLE app_owner; ALTER DATABASE chinook OWNER TO app_owner; ALTER DATABASE chinook SET work_mem = '7MB'`);
    const before = await fingerprint(pg, 'chinook');
    const r = await cli(['reset', pg.name, '--database', 'chinook', '--dir', dir, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = r.json as { safetyBackup: string; downtimeMs: number };
    await fs.access(out.safetyBackup);
    assert.deepEqual((await fingerprint(pg, 'chinook')).tables, {}, 'the database is empty');
    const props = (await sql(pg, 'postgres', `SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'chinook'`)).trim();
    assert.equal(props, 'app_owner UTF8');
    assert.match(await sql(pg, 'chinook', 'SHOW work_mem'), /7MB/, 'per-database settings are kept');
    assert.equal(await containerState(app), 'running', 'the app was started again');
    // the safety backup is the way back
    const back = await cli(['restore', out.safetyBackup, '--yes']);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(await fingerprint(pg, 'chinook'), before);
  });

  it('a stopped container gets a clear refusal naming docker start', async function () {
    const stopped = await startPostgres('ops-stopped');
    await docker().stopContainer(stopped.name, 5);
    const r = await cli(['backup', stopped.name, '--dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`Container ${stopped.name} is not running \\(it is exited\\): start it with \`docker start ${stopped.name}\``));
    const nope = await cli(['backup', 'no-such-container-xyz', '--dir', dir]);
    assert.equal(nope.code, 2);
    assert.match(nope.stderr, /There is no container named no-such-container-xyz/);
    const noDb = await cli(['backup', pg.name, '--database', 'nope', '--dir', dir]);
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /There is no database "nope" in \S+; it has: .*chinook/);
    await assert.rejects(fs.access(path.join(dir, pg.name, 'nope')), 'no folder is left for a database that does not exist');
  });

  it('a wrong password names the problem and the way out; the password never reaches the log', async function () {
    const pw = await startPostgres('ops-pw', { password: 'old pass', env: ['POSTGRES_INITDB_ARGS=--auth-local=scram-sha-256'] });
    await sql(pw, 'postgres', `ALTER ROLE agent_eval PASSWORD 'new $ecret "pass"'`);
    const wrong = await cli(['backup', pw.name, '--dir', dir], { PG_DOCKER_BACKUP_LOG: 'trace' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Wrong password for user "agent_eval" in container \S+: .*PG_DOCKER_BACKUP_PASSWORD/);
    const right = await cli(['backup', pw.name, '--dir', dir, '--json'], { PG_DOCKER_BACKUP_PASSWORD: 'new $ecret "pass"', PG_DOCKER_BACKUP_LOG: 'trace' });
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stderr, /exec in \S+: pg_dump -w -U agent_eval/, 'the trace log shows the argv');
    assert.ok(!right.stderr.includes('new $ecret') && !wrong.stderr.includes('old pass'), 'no password in the log');
    assert.match(right.stderr, /PGPASSWORD=\*\*\*/);
  });

  it('an input that failed before the process started stops it instead of leaving it waiting on stdin', async function () {
    this.timeout(30000);
    const { PassThrough } = await import('node:stream');
    const failed = new PassThrough();
    failed.on('error', () => undefined);
    failed.destroy(new Error('unexpected end of file'));
    await assert.rejects(docker().exec(pg.name, ['cat'], { stdin: failed }), /unexpected end of file/);
    const closed = new PassThrough();
    closed.destroy();
    await assert.rejects(docker().exec(pg.name, ['cat'], { stdin: closed }), /closed before its end/);
  });

  it('Docker unreachable: one error naming the endpoint tried and how to fix it', async function () {
    const r = await cli(['containers'], { DOCKER_HOST: 'unix:///tmp/pgdbt-no-docker.sock' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Docker is not reachable at unix:\/\/\/tmp\/pgdbt-no-docker\.sock: check DOCKER_HOST/);
  });

  describe('with a bigger database', function () {
    before(async function () {
      await sql(pg, 'postgres', 'CREATE DATABASE big');
      await sql(pg, 'big', `CREATE TABLE t AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, 1500000) g`);
    });

    it('a cancelled backup leaves no file behind', async function () {
      const bigDir = await tempDir('cancel');
      const controller = new AbortController();
      const running = backupDatabase(docker(), {
        container: pg.name,
        database: 'big',
        dir: bigDir,
        signal: controller.signal,
        onProgress: (p) => {
          if ((p.bytes ?? 0) > 0) controller.abort();
        },
      });
      await assert.rejects(running, (e: unknown) => isPgBackupError(e, 'cancelled'));
      assert.deepEqual(await filesUnder(bigDir), []);
      await waitFor('pg_dump to end in the container', async () => !(await sql(pg, 'postgres', `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg-docker-backup' AND datname = 'big'`)).trim());
    });

    it('Ctrl-C on the CLI cancels the backup and removes the partial file', async function () {
      const bigDir = await tempDir('sigint');
      const p = spawn(process.execPath, [CLI, 'backup', pg.name, '--database', 'big', '--dir', bigDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (c) => (stderr += c));
      await waitFor('the partial file', async () => (await filesUnder(bigDir)).some((f) => f.endsWith('.partial')), 20000);
      p.kill('SIGINT');
      const code = await new Promise<number | null>((r) => p.on('close', r));
      assert.equal(code, 1);
      assert.match(stderr, /cancelled/);
      assert.deepEqual(await filesUnder(bigDir), []);
    });

    it('a full disk fails the backup with a clear message and leaves nothing behind', async function () {
      if (process.getuid?.() !== 0) {
        throw new Error('this test mounts a 256 KiB tmpfs and needs root (CI runs as root); run the suite with sudo');
      }
      const full = await tempDir('full');
      const { execFileSync } = await import('node:child_process');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full]);
      try {
        const r = await cli(['backup', pg.name, '--database', 'big', '--dir', full]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`The disk holding ${full}.* is full: the backup was not written and its partial file was removed`));
        assert.deepEqual(await filesUnder(full), []);
      } finally {
        execFileSync('umount', [full]);
      }
    });
  });

  it('lists containers with their databases, compose project and app containers', async function () {
    const r = await cli(['containers', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const found = (r.json as { containers: { name: string; composeProject: string; databases: { name: string }[]; appContainers: { name: string }[]; server: { major: number } }[] }).containers.find((c) => c.name === pg.name);
    assert.ok(found);
    assert.equal(found.composeProject, 'ops');
    assert.deepEqual(found.appContainers.map((a) => a.name), [app]);
    assert.ok(found.databases.some((d) => d.name === 'chinook'));
    assert.ok(found.server.major >= 15);
    assert.ok(!JSON.stringify(r.json).includes(pg.password), 'no password in the output');
    assert.ok(!(await databases(pg)).some((d) => d.includes('__restoring_')));
  });
});
