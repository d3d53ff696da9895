// The benchmark's reference database: a PG17 container (compose project labels, so the CLI finds its app
// container) holding `pgbench -i -s 30*k` plus `random_text` (500k*k rows of four md5 strings), VACUUM ANALYZEd.
// The data lives in a named volume and is reused while its `bench_meta` row says it was built completely.
import { createDockerClient } from '../src/core/docker/client';
import { startPostgresContainer } from '../src/core/docker/postgresContainer';
import { containerState, docker, psql } from './lib';

export const BENCH_IMAGE = process.env.PGDB_BENCH_IMAGE ?? 'pg-docker-backup-test/postgres:17';
export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench';
export const BENCH_DB = 'benchdb';

export interface BenchEnv {
  /** 1 = reference (pgbench -s 30 + 500k rows), 4 = four times that. */
  scale: number;
  db: string;
  app: string;
  volume: string;
  project: string;
  pgbenchScale: number;
  textRows: number;
}

export function benchEnv(scale: number): BenchEnv {
  const suffix = scale === 1 ? '' : `-${scale}x`;
  return {
    scale,
    db: `pgdb-bench-db${suffix}`,
    app: `pgdb-bench-app${suffix}`,
    volume: `pgdb-bench-db${suffix}-data`,
    project: `bench${suffix.replace('-', '')}`,
    pgbenchScale: 30 * scale,
    textRows: 500_000 * scale,
  };
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

async function ensureContainers(env: BenchEnv): Promise<void> {
  // the data lives in the named volume: a new container on it finds the cluster there and skips initdb
  await startPostgresContainer(createDockerClient(), {
    name: env.db,
    image: BENCH_IMAGE,
    env: { POSTGRES_USER: BENCH_USER, POSTGRES_PASSWORD: BENCH_PASSWORD, POSTGRES_DB: BENCH_DB },
    labels: { 'com.docker.compose.project': env.project, 'com.docker.compose.service': 'db' },
    mounts: [{ type: 'volume', source: env.volume, target: '/var/lib/postgresql/data' }],
    reuse: true,
    timeoutMs: 180_000,
    onStep: (m) => m.startsWith('Creating') && log(`creating ${env.db} (${BENCH_IMAGE}, volume ${env.volume})`),
  });
  const appState = await containerState(env.app);
  if (appState === undefined) {
    await docker([
      'run', '-d', '--name', env.app,
      '--label', 'pg-docker-backup.enable=false',
      '--label', `com.docker.compose.project=${env.project}`,
      '--label', 'com.docker.compose.service=app',
      '--entrypoint', 'sh', BENCH_IMAGE, '-c', 'trap "exit 0" TERM; sleep infinity & wait',
    ]);
  } else if (appState !== 'running') {
    await docker(['start', env.app]);
  }
}

async function isBuilt(env: BenchEnv): Promise<boolean> {
  const r = await docker(
    ['exec', env.db, 'psql', '-X', '-q', '-A', '-t', '-U', BENCH_USER, '-d', BENCH_DB, '-c', 'SELECT pgbench_scale, text_rows FROM bench_meta'],
    { check: false },
  );
  return r.code === 0 && r.stdout.trim() === `${env.pgbenchScale}|${env.textRows}`;
}

/** Makes sure the containers run and the reference data is there; returns the database size in bytes. */
export async function ensureReferenceDb(env: BenchEnv): Promise<{ sizeBytes: number; built: boolean; buildMs?: number }> {
  await ensureContainers(env);
  let built = false;
  let buildMs: number | undefined;
  if (!(await isBuilt(env))) {
    const t0 = Date.now();
    log(`building the ${env.scale}x reference data in ${env.db}: pgbench -i -s ${env.pgbenchScale} + ${env.textRows} random_text rows (a few minutes)`);
    await psql(env.db, BENCH_USER, 'postgres', `DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await psql(env.db, BENCH_USER, 'postgres', `CREATE DATABASE ${BENCH_DB}`);
    await docker(['exec', env.db, 'pgbench', '-i', '-q', '-s', String(env.pgbenchScale), '-U', BENCH_USER, BENCH_DB]);
    await psql(
      env.db, BENCH_USER, BENCH_DB,
      `CREATE TABLE random_text AS SELECT md5(random()::text) AS a, md5(random()::text) AS b, md5(random()::text) AS c, md5(random()::text) AS d
       FROM generate_series(1, ${env.textRows})`,
    );
    await psql(env.db, BENCH_USER, BENCH_DB, 'VACUUM ANALYZE');
    await psql(env.db, BENCH_USER, BENCH_DB, `CREATE TABLE bench_meta AS SELECT ${env.pgbenchScale} AS pgbench_scale, ${env.textRows} AS text_rows, now() AS built_at`);
    await psql(env.db, BENCH_USER, BENCH_DB, 'CHECKPOINT');
    built = true;
    buildMs = Date.now() - t0;
    log(`built in ${(buildMs / 1000).toFixed(0)} s`);
  }
  const sizeBytes = Number(await psql(env.db, BENCH_USER, 'postgres', `SELECT pg_database_size('${BENCH_DB}')`));
  return { sizeBytes, built, buildMs };
}

/** Row counts that a restored copy must match. */
export async function rowCounts(container: string, db: string): Promise<string> {
  return psql(container, BENCH_USER, db, `SELECT (SELECT count(*) FROM pgbench_accounts) || '/' || (SELECT count(*) FROM random_text)`);
}

export async function removeBenchContainers(env: BenchEnv): Promise<void> {
  await docker(['rm', '-f', env.app, env.db], { check: false });
  await docker(['volume', 'rm', env.volume], { check: false });
}
