import * as assert from 'node:assert/strict';
import { appConnectionOf, databaseHostsOf, parseDatabaseUrl } from '../../src/core/postgres/appEnv';
import { classifyApps, connectionFromEnv, findAppContainers, globMatch, isPostgresContainer, isProtected } from '../../src/core/postgres/discovery';

const c = (name: string, image: string, labels: Record<string, string> = {}, isDatabase = false) => ({
  id: name,
  name,
  image,
  state: 'running',
  status: 'Up',
  labels,
  createdAt: new Date(0),
  isDatabase,
});

describe('discovery rules', () => {
  it('finds Postgres containers by image, environment and label', () => {
    assert.ok(isPostgresContainer({ image: 'postgres:16', labels: {} }));
    assert.ok(isPostgresContainer({ image: 'postgis/postgis:16-3.4', labels: {} }));
    assert.ok(isPostgresContainer({ image: 'timescale/timescaledb:latest-pg16', labels: {} }));
    assert.ok(isPostgresContainer({ image: 'pgvector/pgvector:pg16', labels: {} }));
    assert.ok(isPostgresContainer({ image: 'mycorp/db:1', labels: {} }, { POSTGRES_PASSWORD: 'x' }));
    assert.ok(isPostgresContainer({ image: 'mycorp/db:1', labels: { 'pg-docker-backup.enable': 'true' } }));
    assert.ok(!isPostgresContainer({ image: 'postgres:16', labels: { 'pg-docker-backup.enable': 'false' } }));
    // an app that connects to a database elsewhere is a client, not a server
    assert.ok(!isPostgresContainer({ image: 'mycorp/backend', labels: {} }, { POSTGRES_HOST: 'db', POSTGRES_PASSWORD: 'x' }));
    assert.ok(!isPostgresContainer({ image: 'nginx', labels: {} }, { PATH: '/bin' }));
  });

  it('reads user, database and password with the official image defaults', () => {
    assert.deepEqual(connectionFromEnv({}), { user: 'postgres', database: 'postgres', password: undefined, passwordFile: undefined });
    assert.deepEqual(connectionFromEnv({ POSTGRES_USER: 'agent_eval' }).database, 'agent_eval');
    assert.equal(connectionFromEnv({ POSTGRES_PASSWORD_FILE: '/run/secrets/pw' }).passwordFile, '/run/secrets/pw');
  });

  it('takes the other non-database services of the compose project, plus labelled containers, as app containers', () => {
    const db = c('agent-eval-db', 'postgres:16', { 'com.docker.compose.project': 'agent-eval', 'com.docker.compose.service': 'db' }, true);
    const all = [
      db,
      c('agent-eval-backend', 'agent-eval/backend', { 'com.docker.compose.project': 'agent-eval' }),
      c('agent-eval-cache', 'postgres:16', { 'com.docker.compose.project': 'agent-eval' }, true),
      c('other-app', 'x', { 'com.docker.compose.project': 'other' }),
      c('worker', 'x', { 'pg-docker-backup.stop-during-restore': 'true' }),
      c('named', 'x', { 'pg-docker-backup.stop-during-restore': 'agent-eval-db' }),
      c('not-me', 'x', { 'pg-docker-backup.stop-during-restore': 'someone-else' }),
      c('opted-out', 'x', { 'com.docker.compose.project': 'agent-eval', 'pg-docker-backup.stop-during-restore': 'false' }),
    ];
    const apps = findAppContainers({ id: db.id, name: db.name, composeProject: 'agent-eval', composeService: 'db' }, all).map((a) => a.name);
    assert.deepEqual(apps, ['agent-eval-backend', 'named', 'worker']);
  });

  it('protects containers by label or by name pattern', () => {
    assert.ok(isProtected({ name: 'x', labels: { 'pg-docker-backup.protected': 'true' } }));
    assert.ok(isProtected({ name: 'prod-db', labels: {} }, ['prod-*']));
    assert.ok(!isProtected({ name: 'dev-db', labels: {} }, ['prod-*']));
    assert.ok(globMatch('a?c', 'abc'));
    assert.ok(!globMatch('a.c', 'abc'));
  });

  describe('app containers of a Postgres image', () => {
    const project = { 'com.docker.compose.project': 'shop' };
    const db = c('shop-db-1', 'postgres:17', { ...project, 'com.docker.compose.service': 'db' }, true);
    const classify = (others: ReturnType<typeof c>[], envs: Record<string, Record<string, string>>, aliases: Record<string, string[]> = {}) =>
      Object.fromEntries(classifyApps([db, ...others], (id) => envs[id], (id) => aliases[id]).map((x) => [x.name, x.isDatabase]));

    it('is an app when its environment points at the database by service, container name or alias', () => {
      const migrate = c('shop-migrate-1', 'postgres:17', project, true);
      const job = c('shop-job-1', 'postgres:17', project, true);
      const url = c('shop-url-1', 'postgres:17', project, true);
      const viaAlias = c('shop-alias-1', 'postgres:17', project, true);
      const r = classify([migrate, job, url, viaAlias], {
        'shop-migrate-1': { PGHOST: 'db', PGPASSWORD: 'x' },
        'shop-job-1': { POSTGRES_HOST: 'shop-db-1', POSTGRES_PASSWORD: 'x' },
        'shop-url-1': { DATABASE_URL: 'postgresql://app:pw@DB:5432/shop' },
        'shop-alias-1': { PGHOST: 'database.internal' },
      }, { 'shop-db-1': ['db', 'database.internal'] });
      assert.deepEqual(r, { 'shop-db-1': true, 'shop-migrate-1': false, 'shop-job-1': false, 'shop-url-1': false, 'shop-alias-1': false });
    });

    it('stays a database when it points at itself, elsewhere, another project, or is labelled enable=true', () => {
      const local = c('shop-replica-1', 'postgres:17', project, true);
      const elsewhere = c('shop-remote-1', 'postgres:17', project, true);
      const otherProject = c('other-job-1', 'postgres:17', { 'com.docker.compose.project': 'other' }, true);
      const labelled = c('shop-forced-1', 'postgres:17', { ...project, 'pg-docker-backup.enable': 'true' }, true);
      const r = classify([local, elsewhere, otherProject, labelled], {
        'shop-replica-1': { PGHOST: 'localhost' },
        'shop-remote-1': { PGHOST: 'db.example.com' },
        'other-job-1': { PGHOST: 'db' },
        'shop-forced-1': { PGHOST: 'db' },
      });
      assert.deepEqual(r, { 'shop-db-1': true, 'shop-replica-1': true, 'shop-remote-1': true, 'other-job-1': true, 'shop-forced-1': true });
    });

    it('is then stopped during a restore like any other app of the project', () => {
      const migrate = c('shop-migrate-1', 'postgres:17', project, true);
      const all = classifyApps([db, migrate], (id): Record<string, string> => (id === 'shop-migrate-1' ? { PGHOST: 'db' } : {}));
      const apps = findAppContainers({ id: db.id, name: db.name, composeProject: 'shop', composeService: 'db' }, all).map((a) => a.name);
      assert.deepEqual(apps, ['shop-migrate-1']);
    });

    it('reads DATABASE_URL, PG* and POSTGRES_* for host, user and password', () => {
      assert.deepEqual(parseDatabaseUrl('postgres://us%40er:p%3Ass@db:6543/my%20db?sslmode=disable'), { host: 'db', port: 6543, user: 'us@er', password: 'p:ss', database: 'my db' });
      assert.equal(parseDatabaseUrl('mysql://db/x'), undefined);
      assert.deepEqual(databaseHostsOf({ PGHOST: 'DB,replica', DATABASE_URL: 'postgresql://u:p@db/x' }), ['db', 'replica']);
      const fromUrl = appConnectionOf({ DATABASE_URL: 'postgresql://app:s3cret@db/shop', PGUSER: 'ignored' });
      assert.deepEqual({ user: fromUrl.user, password: fromUrl.password, database: fromUrl.database, source: fromUrl.source }, { user: 'app', password: 's3cret', database: 'shop', source: 'DATABASE_URL' });
      const fromPg = appConnectionOf({ PGHOST: 'db', PGUSER: 'app', PGPASSWORD: 'pw', PGPORT: '5433' });
      assert.deepEqual({ host: fromPg.host, port: fromPg.port, user: fromPg.user, password: fromPg.password, source: fromPg.source }, { host: 'db', port: 5433, user: 'app', password: 'pw', source: 'PGUSER/PGPASSWORD' });
      assert.equal(appConnectionOf({ POSTGRES_USER: 'a', POSTGRES_PASSWORD: 'b' }).source, 'POSTGRES_USER/POSTGRES_PASSWORD');
    });
  });
});
