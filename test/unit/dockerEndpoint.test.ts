import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseDockerHost, resolveDockerEndpoints, type EndpointEnvironment } from '../../src/core/docker/endpoint';

function env(over: Partial<EndpointEnvironment> & { files?: Record<string, string> }): EndpointEnvironment {
  const files = over.files ?? {};
  return {
    env: {},
    platform: 'linux',
    homedir: '/home/me',
    readFile: async (f) => files[f],
    exists: async (f) => f in files,
    ...over,
  };
}

describe('Docker endpoint resolution', () => {
  it('parses unix, tcp, ssh and npipe hosts', () => {
    assert.deepEqual(parseDockerHost('unix:///run/user/1000/docker.sock', 'linux'), { socketPath: '/run/user/1000/docker.sock' });
    assert.deepEqual(parseDockerHost('tcp://10.0.0.5:2376', 'linux'), { protocol: 'http', host: '10.0.0.5', port: 2376 });
    assert.deepEqual(parseDockerHost('ssh://me@build-box', 'linux'), { protocol: 'ssh', host: 'build-box', port: 22, username: 'me', sshOptions: {} });
    assert.deepEqual(parseDockerHost('npipe:////./pipe/docker_engine', 'win32'), { socketPath: '\\\\.\\pipe\\docker_engine' });
    assert.throws(() => parseDockerHost('ftp://x', 'linux'), /cannot parse/);
  });

  it('honours DOCKER_HOST first, with TLS files when DOCKER_TLS_VERIFY is set', async () => {
    const eps = await resolveDockerEndpoints(
      env({
        env: { DOCKER_HOST: 'tcp://remote:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs', DOCKER_CONTEXT: 'ignored' },
        files: { '/certs/ca.pem': 'CA', '/certs/cert.pem': 'CERT', '/certs/key.pem': 'KEY' },
      }),
    );
    assert.equal(eps.length, 1);
    assert.equal(eps[0].source, 'DOCKER_HOST');
    assert.deepEqual(eps[0].modem, { protocol: 'https', host: 'remote', port: 2376, ca: 'CA', cert: 'CERT', key: 'KEY' });
  });

  it('uses the active docker context (DOCKER_CONTEXT, or currentContext in config.json) before the default socket', async () => {
    const id = createHash('sha256').update('colima').digest('hex');
    const meta = { [`/home/me/.docker/contexts/meta/${id}/meta.json`]: JSON.stringify({ Name: 'colima', Endpoints: { docker: { Host: 'unix:///home/me/.colima/default/docker.sock' } } }) };
    const viaEnv = await resolveDockerEndpoints(env({ env: { DOCKER_CONTEXT: 'colima' }, files: meta }));
    assert.equal(viaEnv[0].source, 'docker context "colima"');
    assert.equal(viaEnv[0].modem.socketPath, '/home/me/.colima/default/docker.sock');
    const viaConfig = await resolveDockerEndpoints(env({ files: { ...meta, '/home/me/.docker/config.json': JSON.stringify({ currentContext: 'colima' }) } }));
    assert.equal(viaConfig[0].modem.socketPath, '/home/me/.colima/default/docker.sock');
    const viaCli = await resolveDockerEndpoints(
      env({ env: { DOCKER_CONTEXT: 'remote' }, inspectContextWithCli: async () => JSON.stringify([{ Endpoints: { docker: { Host: 'ssh://ops@db-host' } } }]) }),
    );
    assert.equal(viaCli[0].modem.protocol, 'ssh');
  });

  it('falls back to the platform default sockets', async () => {
    const linux = await resolveDockerEndpoints(env({ files: { '/var/run/docker.sock': '' } }));
    assert.equal(linux[0].url, 'unix:///var/run/docker.sock');
    const mac = await resolveDockerEndpoints(env({ platform: 'darwin', files: { '/home/me/.docker/run/docker.sock': '' } }));
    assert.equal(mac[0].modem.socketPath, '/home/me/.docker/run/docker.sock');
    const win = await resolveDockerEndpoints(env({ platform: 'win32' }));
    assert.equal(win[0].modem.socketPath, '//./pipe/docker_engine');
    const none = await resolveDockerEndpoints(env({}));
    assert.equal(none[0].url, 'unix:///var/run/docker.sock', 'reports the default even when it does not exist');
  });
});
