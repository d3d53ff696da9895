import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { startPostgresContainer } from '../../src/core/docker/postgresContainer';
import { removeVolume } from '../support/rawDocker';
import { IMAGE_NEW, docker, requireDocker, tempDir, uniqueName, waitFor } from './harness';

/** startPostgresContainer: the one "start Postgres, wait until ready" of the demo, the tests and the bench. */
describe('starting a Postgres container (demo, tests, bench)', function () {
  const volume = uniqueName('pgc-data');
  const names: string[] = [];
  let archive: string;
  const env = { POSTGRES_USER: 'pgc', POSTGRES_PASSWORD: 'pgc secret', POSTGRES_DB: 'app' };
  const name = (base: string) => {
    const n = uniqueName(base);
    names.push(n);
    return n;
  };
  async function psql(container: string, sql: string, host?: string): Promise<string> {
    const r = await docker().exec(container, ['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...(host ? ['-h', host] : []), '-U', 'pgc', '-d', 'app', '-c', sql], {
      env: { PGPASSWORD: env.POSTGRES_PASSWORD },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  }

  before(async function () {
    await requireDocker();
    archive = await tempDir('pgc-archive');
    await fs.chmod(archive, 0o777); // the server writes there as the container's postgres user
  });
  after(async function () {
    for (const n of names) await docker().removeContainer(n, { force: true, removeVolumes: true }).catch(() => undefined);
    await removeVolume(docker(), volume);
    await fs.rm(archive, { recursive: true, force: true });
  });

  it('with server arguments and mounts: returns once the final server (not the init one) answers, archiving WAL to a host folder', async function () {
    const db = name('pgc-first');
    const started = await startPostgresContainer(docker(), {
      name: db,
      image: IMAGE_NEW,
      env,
      serverArgs: ['-c', 'archive_mode=on', '-c', 'archive_command=cp %p /archive/%f', '-c', 'wal_level=replica'],
      mounts: [
        { type: 'volume', source: volume, target: '/var/lib/postgresql/data' },
        { type: 'bind', source: archive, target: '/archive' },
      ],
    });
    assert.equal(started.created, true);
    assert.equal((await docker().inspectContainer(db)).id, started.id);
    // at once, no waiting: the init server listens on no TCP address and runs without these settings
    assert.equal(await psql(db, 'SHOW archive_mode', '127.0.0.1'), 'on');
    await psql(db, 'CREATE TABLE kept AS SELECT 42 AS answer');
    await psql(db, 'SELECT pg_switch_wal()');
    const archived = await waitFor('a WAL segment in the host folder', async () => (await fs.readdir(archive)).find((f) => /^[0-9A-F]{24}$/.test(f)), 30_000);
    assert.ok(archived);
  });

  it('a new container on a volume that already holds a cluster: ready without initdb, the data is there', async function () {
    await docker().removeContainer(names[0], { force: true });
    const db = name('pgc-second');
    const started = await startPostgresContainer(docker(), { name: db, image: IMAGE_NEW, env, mounts: [{ type: 'volume', source: volume, target: '/var/lib/postgresql/data' }], timeoutMs: 60_000 });
    assert.equal(started.created, true);
    assert.equal(await psql(db, 'SELECT answer FROM kept'), '42');
  });

  it('reuse: a stopped container of that name is started again, not created', async function () {
    const db = names[1];
    await docker().stopContainer(db);
    const again = await startPostgresContainer(docker(), { name: db, image: IMAGE_NEW, env, reuse: true });
    assert.equal(again.created, false);
    assert.equal(again.id, (await docker().inspectContainer(db)).id);
    assert.equal(await psql(db, 'SELECT answer FROM kept'), '42');
  });

  it('a server that cannot start: says so at once and names `docker logs`, without waiting for the deadline', async function () {
    const db = name('pgc-bad');
    const t0 = Date.now();
    await assert.rejects(
      startPostgresContainer(docker(), { name: db, image: IMAGE_NEW, env, serverArgs: ['-c', 'no_such_setting=1'], timeoutMs: 120_000 }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^${db} stopped while starting \\(exited\\); see its logs \\(docker logs ${db}\\)\\.$`));
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 60_000, `failed after ${Date.now() - t0} ms`);
  });

  it('a container that never becomes a server: the deadline ends the wait with a clear error', async function () {
    const db = name('pgc-never');
    await assert.rejects(
      startPostgresContainer(docker(), { name: db, image: IMAGE_NEW, env, cmd: ['sleep', '600'], timeoutMs: 3000 }),
      (e: Error) => e.message === `${db} did not start within 3 s; see its logs (docker logs ${db}).`,
    );
  });
});
