import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import type { DockerClient } from './docker/client';
import { startPostgresContainer } from './docker/postgresContainer';
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
  const step = (m: string) => {
    log.info(`demo: ${m}`);
    options.onStep?.(m);
  };
  await ensureImage(docker, options.image, step);
  await docker.ensureNetwork(DEMO_NETWORK);
  const labels = (service: string) => ({
    'com.docker.compose.project': DEMO_PROJECT,
    'com.docker.compose.service': service,
  });
  const { created } = await startPostgresContainer(docker, {
    name: DEMO_DB,
    image: options.image,
    env: { POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'chinook' },
    labels: labels('db'),
    network: DEMO_NETWORK,
    alias: 'db',
    reuse: true,
    onStep: step,
  });
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
    await docker.createContainer({
      name: DEMO_APP,
      image: options.image,
      entrypoint: ['sh', '-c', script],
      env: { PGPASSWORD: PASSWORD, PGAPPNAME: 'demo-app' },
      labels: { ...labels('app'), 'pg-docker-backup.enable': 'false' },
      network: DEMO_NETWORK,
    });
  }
  await docker.startContainer(DEMO_APP);
  step('Demo ready');
  return { database: DEMO_DB, app: DEMO_APP, created };
}

/** Pulls the image when it is not here; when it cannot be pulled, names the Postgres images that are. */
async function ensureImage(docker: DockerClient, image: string, step: (m: string) => void): Promise<void> {
  if (await docker.hasImage(image).catch(() => false)) return;
  step(`Pulling ${image}`);
  try {
    await docker.pullImage(image);
  } catch (e) {
    const local = await docker
      .listImages()
      .then((images) => images.flatMap((i) => i.tags).filter((t) => /postgres|postgis|timescale|pgvector/i.test(t)))
      .catch(() => [] as string[]);
    const suggestion = local.length
      ? `Set pgDockerBackup.demoImage (CLI: --image) to one of the Postgres images here: ${local.slice(0, 5).join(', ')}.`
      : 'Pull it, or set pgDockerBackup.demoImage (CLI: --image) to a Postgres image you have.';
    // the engine's own words (the wrapped error's message would say "pulling IMAGE" a second time)
    const reason = errorMessage(e instanceof PgBackupError && e.cause !== undefined ? e.cause : e);
    throw new PgBackupError('failed', `The demo needs the image ${image}, which is not here and cannot be pulled (${reason}). ${suggestion}`);
  }
}
