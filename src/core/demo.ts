import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import type { DockerClient } from './docker/client';
import { PgBackupError, errorMessage } from './errors';
import { silentLogger, type Logger } from './logger';

export const DEMO_PROJECT = 'pgdb-demo';
export const DEMO_DB = 'pgdb-demo-db';
export const DEMO_APP = 'pgdb-demo-app';
const DEMO_NETWORK = 'pgdb-demo';
const USER = 'demo';
const PASSWORD = 'demo';

export interface DemoOptions {
  /** A Postgres image with the official image's entrypoint contract (postgres:16 by default). */
  image: string;
  /** Chinook SQL, gzipped (resources/chinook_postgresql.sql.gz). */
  chinookGz: string;
  logger?: Logger;
  onStep?: (message: string) => void;
}

/**
 * A demo stack in one compose project: `pgdb-demo-db` (Postgres with the Chinook sample as database
 * `chinook`) and `pgdb-demo-app` (an app container holding a connection, stopped during restores).
 * Reuses what exists; starts what is stopped.
 */
export async function startDemoStack(docker: DockerClient, options: DemoOptions): Promise<{ database: string; app: string; created: boolean }> {
  const log = options.logger ?? silentLogger;
  const raw = await docker.raw();
  const step = (m: string) => {
    log.info(`demo: ${m}`);
    options.onStep?.(m);
  };
  try {
    await raw.getImage(options.image).inspect();
  } catch {
    step(`Pulling ${options.image}`);
    try {
      const stream = await raw.pull(options.image);
      await new Promise<void>((resolve, reject) => raw.modem.followProgress(stream, (err: unknown) => (err ? reject(err) : resolve())));
    } catch (e) {
      const local = await raw
        .listImages()
        .then((images) => images.flatMap((i) => i.RepoTags ?? []).filter((t) => /postgres|postgis|timescale|pgvector/i.test(t) && t !== '<none>:<none>'))
        .catch(() => [] as string[]);
      const suggestion = local.length
        ? `Set pgDockerBackup.demoImage (CLI: --image) to one of the Postgres images here: ${local.slice(0, 5).join(', ')}.`
        : 'Pull it, or set pgDockerBackup.demoImage (CLI: --image) to a Postgres image you have.';
      throw new PgBackupError('failed', `The demo needs the image ${options.image}, which is not here and cannot be pulled (${errorMessage(e)}). ${suggestion}`);
    }
  }
  // CheckDuplicate: Docker before 25 otherwise creates a second network of the same name on every run.
  await raw.createNetwork({ Name: DEMO_NETWORK, Driver: 'bridge', CheckDuplicate: true }).catch((e: { statusCode?: number }) => {
    if (e.statusCode !== 409) throw e;
  });
  const labels = (service: string) => ({
    'com.docker.compose.project': DEMO_PROJECT,
    'com.docker.compose.service': service,
  });
  let created = false;
  const existing = await docker.inspectContainer(DEMO_DB).catch(() => undefined);
  if (!existing) {
    step(`Creating ${DEMO_DB}`);
    await raw.createContainer({
      name: DEMO_DB,
      Image: options.image,
      Env: [`POSTGRES_USER=${USER}`, `POSTGRES_PASSWORD=${PASSWORD}`, 'POSTGRES_DB=chinook'],
      Labels: labels('db'),
      HostConfig: { NetworkMode: DEMO_NETWORK },
      NetworkingConfig: { EndpointsConfig: { [DEMO_NETWORK]: { Aliases: ['db'] } } },
    });
    created = true;
  }
  await docker.startContainer(DEMO_DB);
  step('Waiting for Postgres to start');
  const deadline = Date.now() + 90_000;
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    const logs = ((await raw.getContainer(DEMO_DB).logs({ stdout: true, stderr: true })) as unknown as Buffer).toString('latin1');
    if (/ready for start up|init process complete/.test(logs) || !created) {
      const ready = await docker.exec(DEMO_DB, ['pg_isready', '-q', '-h', '/var/run/postgresql']).catch(() => undefined);
      if (ready?.exitCode === 0) break;
    }
    if (Date.now() > deadline) throw new PgBackupError('failed', `${DEMO_DB} did not start within 90 s; see its logs (docker logs ${DEMO_DB}).`);
    await new Promise((r) => setTimeout(r, delay));
  }
  const has = await docker.exec(DEMO_DB, ['psql', '-X', '-A', '-t', '-U', USER, '-d', 'chinook', '-c', `SELECT to_regclass('public.track') IS NOT NULL`], { env: { PGPASSWORD: PASSWORD } });
  if (has.stdout.trim() !== 't') {
    step('Loading the Chinook sample');
    const input = new PassThrough();
    const source = createReadStream(options.chinookGz);
    const feeding = pipeline(source, zlib.createGunzip(), input);
    feeding.catch(() => undefined);
    const r = await docker.exec(DEMO_DB, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', USER, '-d', 'postgres'], { stdin: input, env: { PGPASSWORD: PASSWORD } });
    // psql stopping at an error leaves the rest unread: end the feed rather than wait for it forever.
    if (r.exitCode !== 0) source.destroy();
    else await feeding;
    if (r.exitCode !== 0) throw new PgBackupError('failed', `Loading the Chinook sample failed: ${r.stderr.split('\n').find((l) => l.includes('ERROR')) ?? r.stderr.slice(-300)}`);
  }
  if (!(await docker.inspectContainer(DEMO_APP).catch(() => undefined))) {
    step(`Creating ${DEMO_APP}`);
    const script = 'trap "exit 0" TERM INT; while :; do psql -h db -U demo -d chinook -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 & wait $!; sleep 1; done';
    await raw.createContainer({
      name: DEMO_APP,
      Image: options.image,
      Entrypoint: ['sh', '-c', script],
      Env: [`PGPASSWORD=${PASSWORD}`, 'PGAPPNAME=demo-app'],
      Labels: { ...labels('app'), 'pg-docker-backup.enable': 'false' },
      HostConfig: { NetworkMode: DEMO_NETWORK },
    });
  }
  await docker.startContainer(DEMO_APP);
  step('Demo ready');
  return { database: DEMO_DB, app: DEMO_APP, created };
}
