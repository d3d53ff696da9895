/**
 * Real Docker, real Postgres: starts containers from the images named by PGDB_TEST_IMAGE_OLD / _NEW
 * (built or pulled by scripts/test-env.sh), loads the Chinook sample, and fingerprints database content.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDockerClient, parseEnvList, type ContainerMount, type DockerClient } from '../../src/core/docker/client';
import { startPostgresContainer, waitForPostgres } from '../../src/core/docker/postgresContainer';
import { queryJson, runSql, type PgTarget } from '../../src/core/postgres/client';
import { quoteIdent, quoteLiteral } from '../../src/core/postgres/sql';

export const ROOT = path.resolve(__dirname, '..', '..');
export const IMAGE_OLD = process.env.PGDB_TEST_IMAGE_OLD ?? 'pg-docker-backup-test/postgres:15';
export const IMAGE_NEW = process.env.PGDB_TEST_IMAGE_NEW ?? 'pg-docker-backup-test/postgres:17';
export const CHINOOK = path.join(ROOT, 'test', 'fixtures', 'chinook_postgresql.sql');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
const RUN_ID = randomBytes(3).toString('hex');

let shared: DockerClient | undefined;
export function docker(): DockerClient {
  shared ??= createDockerClient();
  return shared;
}

/** Fails (never skips) with instructions when Docker or the images are not there. */
export async function requireDocker(): Promise<void> {
  try {
    await docker().ping();
  } catch (e) {
    throw new Error(`The integration tests need a running Docker engine: ${(e as Error).message}\nStart it (Docker Desktop, or \`sudo dockerd &\`) or run \`bash scripts/test-env.sh\`, then run the tests again.`);
  }
  for (const image of [IMAGE_OLD, IMAGE_NEW]) {
    if (!(await docker().hasImage(image))) {
      throw new Error(`The Postgres test image ${image} is missing: run \`bash scripts/test-env.sh\` (it builds or pulls it), or name another with PGDB_TEST_IMAGE_OLD / PGDB_TEST_IMAGE_NEW.`);
    }
  }
}

const created: { containers: string[]; networks: string[]; elsewhere: { engine: DockerClient; name: string }[] } = { containers: [], networks: [], elsewhere: [] };

export function uniqueName(base: string): string {
  return `pgdbt-${RUN_ID}-${base}`;
}

export async function createNetwork(base: string): Promise<string> {
  const name = uniqueName(base);
  await docker().createNetwork(name);
  created.networks.push(name);
  return name;
}

export interface PgTestContainer {
  name: string;
  id: string;
  user: string;
  password: string;
  target: PgTarget;
  /** The engine it runs in (the main one when absent). */
  engine?: DockerClient;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Starts a Postgres container and waits until its server (after init) answers. */
export async function startPostgres(
  base: string,
  options: {
    image?: string;
    user?: string;
    password?: string;
    db?: string;
    labels?: Record<string, string>;
    network?: string;
    alias?: string;
    env?: string[];
    /** Server arguments, e.g. ['-c', 'archive_mode=on']. */
    serverArgs?: string[];
    mounts?: ContainerMount[];
    /** Another engine (test/integration/docker2.ts); default the main one. */
    engine?: DockerClient;
  } = {},
): Promise<PgTestContainer> {
  const name = uniqueName(base);
  const engine = options.engine ?? docker();
  const user = options.user ?? 'agent_eval';
  const password = options.password ?? 'secret';
  track(name, engine);
  const { id } = await startPostgresContainer(engine, {
    name,
    image: options.image ?? IMAGE_NEW,
    env: { POSTGRES_USER: user, POSTGRES_PASSWORD: password, ...(options.db ? { POSTGRES_DB: options.db } : {}), ...parseEnvList(options.env) },
    labels: options.labels,
    network: options.network,
    alias: options.network === 'none' ? undefined : (options.alias ?? 'db'),
    serverArgs: options.serverArgs,
    mounts: options.mounts,
  });
  return { name, id, user, password, target: { container: id, containerName: name, user, password }, engine: options.engine };
}

/** Removes the container (of this engine) in `cleanup()`. */
export function track(name: string, engine: DockerClient = docker()): void {
  if (engine !== docker()) created.elsewhere.push({ engine, name });
  else created.containers.push(name);
}

export async function waitForReady(name: string, engine: DockerClient = docker()): Promise<void> {
  await waitForPostgres(engine, name);
}

/** An app container of the same compose project: holds a connection to the database until stopped. */
export async function startApp(base: string, network: string, db: PgTestContainer, database: string, labels: Record<string, string>): Promise<string> {
  const image = 'pg-docker-backup-test/app:latest';
  await docker().tagImage(IMAGE_NEW, 'pg-docker-backup-test/app', 'latest');
  const name = uniqueName(base);
  const script = 'trap "exit 0" TERM INT; while :; do psql -h db -U "$1" -d "$2" -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 & wait $!; sleep 0.2; done';
  await docker().createContainer({
    name,
    image,
    entrypoint: ['sh', '-c', script, 'app', db.user, database],
    env: { PGPASSWORD: db.password, PGAPPNAME: 'demo-app' },
    labels: { 'pg-docker-backup.enable': 'false', ...labels },
    network,
  });
  created.containers.push(name);
  await docker().startContainer(name);
  return name;
}

export async function containerState(name: string): Promise<string> {
  return (await docker().inspectContainer(name)).state;
}

/** Loads the Chinook script (it creates database `chinook`) through the exec stdin path. */
export async function loadChinook(pg: PgTestContainer): Promise<void> {
  const r = await docker().exec(pg.name, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', pg.user, '-d', 'postgres'], {
    stdin: createReadStream(CHINOOK),
    env: { PGPASSWORD: pg.password },
  });
  if (r.exitCode !== 0) throw new Error(`loading Chinook failed: ${r.stderr}`);
}

export async function sql(pg: PgTestContainer, database: string, text: string): Promise<string> {
  return runSql(pg.engine ?? docker(), pg.target, database, text, 'test SQL');
}

export async function databases(pg: PgTestContainer): Promise<string[]> {
  return (await sql(pg, 'postgres', 'SELECT datname FROM pg_database ORDER BY 1')).split('\n').filter(Boolean);
}

export interface Fingerprint {
  tables: Record<string, { rows: number; md5: string }>;
  sequences: Record<string, { last: string; called: boolean }>;
  largeObjects: { count: number; md5: string | null };
}

/** Every table's row count and content hash, every sequence's position, every large object's bytes. */
export async function fingerprint(pg: PgTestContainer, database: string): Promise<Fingerprint> {
  const d = pg.engine ?? docker();
  const tables = await queryJson<{ s: string; t: string }[]>(
    d,
    pg.target,
    database,
    `SELECT coalesce(json_agg(json_build_object('s', n.nspname, 't', c.relname) ORDER BY 1), '[]') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
    'listing tables',
  );
  const fp: Fingerprint = { tables: {}, sequences: {}, largeObjects: { count: 0, md5: null } };
  if (tables.length) {
    const parts = tables.map(
      ({ s, t }) =>
        `SELECT ${quoteLiteral(`${s}.${t}`)} AS k, count(*) AS rows, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS md5 FROM ${quoteIdent(s)}.${quoteIdent(t)} x`,
    );
    const rows = await queryJson<{ k: string; rows: number; md5: string }[]>(d, pg.target, database, `SELECT json_agg(r ORDER BY r.k) FROM (${parts.join(' UNION ALL ')}) r`, 'fingerprinting tables');
    for (const r of rows) fp.tables[r.k] = { rows: r.rows, md5: r.md5 };
  }
  const seqs = await queryJson<{ k: string; last: string; called: boolean }[] | null>(
    d,
    pg.target,
    database,
    `SELECT json_agg(json_build_object('k', schemaname || '.' || sequencename, 'last', coalesce(last_value::text, 'null'), 'called', last_value IS NOT NULL) ORDER BY 1) FROM pg_sequences`,
    'fingerprinting sequences',
  );
  for (const s of seqs ?? []) fp.sequences[s.k] = { last: s.last, called: s.called };
  fp.largeObjects = await queryJson<{ count: number; md5: string | null }>(
    d,
    pg.target,
    database,
    `SELECT json_build_object('count', count(*), 'md5', md5(string_agg(m.oid::text || ':' || md5(lo_get(m.oid)), ',' ORDER BY m.oid))) FROM pg_largeobject_metadata m`,
    'fingerprinting large objects',
  );
  return fp;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `pgdbt-${prefix}-`));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
}

/** Runs the built CLI (dist/cli.js) as a user would, without a TTY. */
export function cli(args: string[], env: Record<string, string | undefined> = {}, opts: { onSpawn?: (pid: number) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('error', reject);
    if (p.pid) opts.onSpawn?.(p.pid);
    p.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      if (args.includes('--json')) {
        try {
          json = JSON.parse(stdout) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

export async function cleanup(): Promise<void> {
  for (const name of created.containers.splice(0)) await docker().removeContainer(name, { force: true, removeVolumes: true }).catch(() => undefined);
  for (const { engine, name } of created.elsewhere.splice(0)) await engine.removeContainer(name, { force: true, removeVolumes: true }).catch(() => undefined);
  for (const name of created.networks.splice(0)) await docker().removeNetwork(name).catch(() => undefined);
}
