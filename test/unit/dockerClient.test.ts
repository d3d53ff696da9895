import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseDockerEvent } from '../../src/core/docker/client';
import { wrapDockerError } from '../../src/core/docker/connection';
import { containerCreateOptions, parseEnvList } from '../../src/core/docker/containers';
import { followPullProgress, type PullProgress } from '../../src/core/docker/images';
import { INIT_DONE } from '../../src/core/docker/postgresContainer';
import { PgBackupError } from '../../src/core/errors';

describe('the Docker interface’s pure parts', () => {
  it('turns a container spec into the Engine API body: env, labels, command, network alias, mounts', () => {
    const body = containerCreateOptions({
      name: 'db',
      image: 'postgres:17',
      env: { POSTGRES_USER: 'u', POSTGRES_PASSWORD: 'pa$$ word =x' },
      labels: { 'com.docker.compose.project': 'shop' },
      cmd: ['postgres', '-c', 'archive_mode=on'],
      network: 'net',
      aliases: ['db'],
      mounts: [
        { type: 'volume', source: 'data', target: '/var/lib/postgresql/data' },
        { type: 'bind', source: '/tmp/archive', target: '/archive', readOnly: true },
        { type: 'tmpfs', target: '/scratch' },
      ],
    });
    assert.deepEqual(body, {
      name: 'db',
      Image: 'postgres:17',
      Env: ['POSTGRES_USER=u', 'POSTGRES_PASSWORD=pa$$ word =x'],
      Labels: { 'com.docker.compose.project': 'shop' },
      Cmd: ['postgres', '-c', 'archive_mode=on'],
      HostConfig: {
        NetworkMode: 'net',
        Mounts: [
          { Type: 'volume', Source: 'data', Target: '/var/lib/postgresql/data' },
          { Type: 'bind', Source: '/tmp/archive', Target: '/archive', ReadOnly: true },
          { Type: 'tmpfs', Source: '', Target: '/scratch' },
        ],
      },
      NetworkingConfig: { EndpointsConfig: { net: { Aliases: ['db'] } } },
    });
    assert.deepEqual(parseEnvList(body.Env), { POSTGRES_USER: 'u', POSTGRES_PASSWORD: 'pa$$ word =x' }, 'env round-trips, = in a value included');
  });

  it('leaves out what a spec does not set: the image’s entrypoint and command, the default network', () => {
    const body = containerCreateOptions({ name: 'app', image: 'i', entrypoint: ['sh', '-c', 'x', 'arg0'] });
    assert.deepEqual(body, { name: 'app', Image: 'i', Env: [], Labels: {}, HostConfig: {}, Entrypoint: ['sh', '-c', 'x', 'arg0'] });
    assert.equal(containerCreateOptions({ name: 'a', image: 'i', network: 'n' }).NetworkingConfig, undefined, 'no aliases, no endpoint config');
  });

  it('reads container events from the event stream’s lines and skips anything else', () => {
    assert.deepEqual(parseDockerEvent('{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"db"}}}'), {
      type: 'container',
      action: 'die',
      id: 'abc',
      name: 'db',
    });
    assert.deepEqual(parseDockerEvent('{"Type":"container","Action":"start","id":"old-api"}'), { type: 'container', action: 'start', id: 'old-api', name: undefined });
    assert.equal(parseDockerEvent(''), undefined);
    assert.equal(parseDockerEvent('{"Type":"container","Act'), undefined, 'a cut line');
    assert.equal(parseDockerEvent('{"status":"x"}'), undefined, 'JSON that is no event');
  });

  it('follows a pull to its end, reporting progress, and fails on an error line even after a 200', async () => {
    const seen: PullProgress[] = [];
    const ok = Readable.from([
      '{"status":"Pulling from library/postgres","id":"17"}\n{"status":"Downloading","id":"a1","progressDetail":{"current":5,"total":10}}\n',
      '\n{"status":"Status: Downloaded newer image for postgres:17"}',
    ]);
    await followPullProgress(ok, (p) => seen.push(p));
    assert.deepEqual(seen.map((p) => p.status), ['Pulling from library/postgres', 'Downloading', 'Status: Downloaded newer image for postgres:17']);
    assert.deepEqual(seen[1], { status: 'Downloading', id: 'a1', current: 5, total: 10 });
    const failing = Readable.from(['{"status":"Pulling fs layer","id":"a1"}\n', '{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}\n']);
    await assert.rejects(followPullProgress(failing), /no space left on device/);
  });

  it('wraps engine errors with what was being done; 404 is notFound; our own errors pass through', () => {
    const e404 = Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404, json: { message: 'No such container: x' } });
    const wrapped = wrapDockerError('removing container x', e404);
    assert.equal(wrapped.kind, 'notFound');
    assert.equal(wrapped.message, 'removing container x: No such container: x');
    assert.equal(wrapped.cause, e404);
    assert.equal(wrapDockerError('listing networks', new Error('socket hang up')).kind, 'failed');
    const ours = new PgBackupError('cancelled', 'x was cancelled');
    assert.equal(wrapDockerError('anything', ours), ours);
  });

  it('knows the entrypoint has finished initialising from its log, in the official and the test image', () => {
    assert.ok(INIT_DONE.test('...\nPostgreSQL init process complete; ready for start up.\n'));
    assert.ok(INIT_DONE.test('PostgreSQL Database directory appears to contain a database; Skipping initialization'));
    assert.ok(!INIT_DONE.test('waiting for server to start.... done\nserver started\nCREATE DATABASE'));
  });
});
