import * as assert from 'node:assert/strict';
import { connectionFromEnv, findAppContainers, globMatch, isPostgresContainer, isProtected } from '../../src/core/postgres/discovery';

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
});
