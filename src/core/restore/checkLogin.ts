import { randomBytes } from 'node:crypto';
import type { ContainerDetails, DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { appConnectionOf } from '../postgres/appEnv';
import { firstErrorLines } from '../postgres/client';
import { LABEL_ENABLE, LABEL_STOP_DURING_RESTORE } from '../postgres/discovery';
import type { CheckResult } from './checkTypes';

export interface LoginTarget {
  /** The database container: its image provides psql, its service name is the default host. */
  image: string;
  defaultHost: string;
  database: string;
}

/**
 * The app's configured user and password, tried over the app's own network: a throwaway container of the
 * database's image joins the app's network namespace (`--network container:<app>`) and runs psql with
 * the password in its environment (never in argv); it is removed afterwards, whatever happens. Connections
 * from inside the database container are trusted without a password, so they would prove nothing.
 */
export async function checkAppLogin(docker: DockerClient, app: ContainerDetails, db: LoginTarget, options: { timeoutMs?: number; signal?: AbortSignal; logger?: Logger } = {}): Promise<CheckResult> {
  const log = options.logger ?? silentLogger;
  const subject = app.name;
  const conn = appConnectionOf(app.env);
  if (!conn.user || conn.password === undefined) {
    return { check: 'login', subject, status: 'notChecked', detail: 'its environment has no database user and password (DATABASE_URL, PGUSER/PGPASSWORD or POSTGRES_USER/POSTGRES_PASSWORD)' };
  }
  if (app.state !== 'running') return { check: 'login', subject, status: 'notChecked', detail: 'it is not running, so its network cannot be joined' };
  const host = conn.host ?? db.defaultHost;
  const port = conn.port ?? 5432;
  const database = conn.database ?? db.database;
  const where = `${host}:${port}/${database} as "${conn.user}" (${conn.source})`;
  const name = `pgdb-check-${randomBytes(4).toString('hex')}`;
  let id: string | undefined;
  try {
    id = await docker.createContainer({
      name,
      image: db.image,
      entrypoint: ['psql'],
      cmd: ['-X', '-w', '-q', '-A', '-t', '-c', 'SELECT current_user'],
      env: { PGHOST: host, PGPORT: String(port), PGUSER: conn.user, PGPASSWORD: conn.password, PGDATABASE: database, PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'pg-docker-backup-check' },
      labels: { [LABEL_ENABLE]: 'false', [LABEL_STOP_DURING_RESTORE]: 'false' },
      network: `container:${app.id}`,
    });
    await docker.startContainer(id);
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    const code = await docker.waitContainer(id, options.signal ? AbortSignal.any([options.signal, timeout]) : timeout);
    const chunks: Buffer[] = [];
    for await (const c of await docker.logs(id, { tail: 50 })) chunks.push(c as Buffer);
    const output = Buffer.concat(chunks).toString('utf8');
    if (code === 0) return { check: 'login', subject, status: 'passed', detail: `logged in to ${where} over its own network` };
    const why = firstErrorLines(output, 1) || `psql exited with code ${code}`;
    const refused = /password authentication failed|no password supplied/i.test(output);
    return { check: 'login', subject, status: 'failed', detail: refused ? `the database refused its configured password for ${where}: ${why}` : `could not log in to ${where}: ${why}` };
  } catch (e) {
    if (options.signal?.aborted) return { check: 'login', subject, status: 'notChecked', detail: 'cancelled' };
    return { check: 'login', subject, status: 'failed', detail: `could not try the login to ${where}: ${errorMessage(e)}` };
  } finally {
    if (id) await docker.removeContainer(id, { force: true }).catch((e: unknown) => log.warn(`could not remove the check container ${name}: ${errorMessage(e)}`));
  }
}
