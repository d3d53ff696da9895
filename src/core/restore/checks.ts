import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import type { AppContainer } from '../postgres/discovery';
import { openServer } from '../postgres/server';
import { describeBackup } from '../store/backupStore';
import { checkAppRunning, checkHealthUrl, healthUrlsFor } from './checkApps';
import { checkRowCounts, checkWritable, type RowCountSource } from './checkData';
import { checkAppLogin } from './checkLogin';
import { CHECK_TITLES, type CheckResult } from './checkTypes';

export type { CheckResult } from './checkTypes';

export interface CheckOptions extends OperationContext {
  container: string;
  /** Default: the container's POSTGRES_DB. */
  database?: string;
  /** The backup the database should now match (its manifest's exact row counts). */
  backupPath?: string;
  /** Or the counts themselves (a backup's manifest; a copy's source). */
  manifest?: RowCountSource;
  /** How long apps may take to run, turn healthy and answer their health URLs (default 60 s). */
  timeoutMs?: number;
  /** Health URLs per app container name (setting pgDockerBackup.healthChecks). */
  healthChecks?: Readonly<Record<string, readonly string[]>>;
  /** The app containers to check instead of the discovered ones. */
  apps?: readonly AppContainer[];
}

export interface CheckReport {
  container: string;
  database: string;
  results: CheckResult[];
  passed: number;
  failed: number;
  notChecked: number;
  durationMs: number;
  /** `Checks: 5 passed, 1 failed` (and `, 2 not checked`). */
  summary: string;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

/** Counts and the one-line summary (pure). */
export function summarize(container: string, database: string, results: CheckResult[], durationMs: number): CheckReport {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const passed = count('passed');
  const failed = count('failed');
  const notChecked = count('notChecked');
  const summary = `Checks: ${passed} passed, ${failed} failed${notChecked ? `, ${notChecked} not checked` : ''}`;
  return { container, database, results, passed, failed, notChecked, durationMs, summary };
}

const MARK: Record<CheckResult['status'], string> = { passed: 'ok', failed: 'FAILED', notChecked: '-' };

/** The checklist as a table a person reads at a glance (pure). */
export function formatCheckTable(report: CheckReport): string {
  const rows = report.results.map((r) => [MARK[r.status], CHECK_TITLES[r.check], r.subject, r.detail]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['', 'check', 'of'][i].length));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  return [`${report.summary} (${report.container}/${report.database}, ${(report.durationMs / 1000).toFixed(1)} s)`, ...rows.map(line)].join('\n');
}

/** Per app: running/healthy, then its health URLs and its password login (both need it running). */
async function checkApp(docker: DockerClient, app: AppContainer, ctx: { deadline: number; image: string; defaultHost: string; database: string; healthChecks?: CheckOptions['healthChecks']; op: ReturnType<typeof beginOperation> }): Promise<CheckResult[]> {
  const { op } = ctx;
  const { result, details } = await checkAppRunning(docker, app, ctx.deadline, op.signal);
  const out = [result];
  if (!details || details.state !== 'running') return out;
  const urls = healthUrlsFor(details, ctx.healthChecks);
  const [health, login] = await Promise.all([
    Promise.all(urls.urls.map((u) => checkHealthUrl(app.name, u, ctx.deadline, op.signal))),
    checkAppLogin(docker, details, { image: ctx.image, defaultHost: ctx.defaultHost, database: ctx.database }, { signal: op.signal, logger: op.log }),
  ]);
  if (urls.none) out.push({ check: 'health', subject: app.name, status: 'notChecked', detail: urls.none });
  return [...out, ...health, login];
}

/**
 * The after-restore checklist: the apps run (and are healthy), their health URLs answer 200, every table
 * has the backup's row count, a row can be written (and is rolled back), and each app's configured user and
 * password log in over the app's own network. Never throws for a failed check; it reports it.
 */
export async function runChecks(docker: DockerClient, options: CheckOptions): Promise<CheckReport> {
  const op = beginOperation(options);
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
  const { server } = await openServer(docker, options.container, op, { withApps: !options.apps });
  const c = server.container;
  const database = options.database ?? c.defaultDatabase;
  if (!server.databases.some((d) => d.name === database)) {
    throw new PgBackupError('usage', `There is no database "${database}" in ${c.name}; it has: ${server.databases.map((d) => d.name).join(', ')}.`);
  }
  const manifest = options.manifest ?? (options.backupPath ? (await describeBackup(options.backupPath)).manifest : undefined);
  if (options.backupPath && !manifest) op.log.warn(`${options.backupPath} has no manifest: its row counts are not known`);
  const apps = options.apps ?? c.appContainers;
  op.progress.step('check', `Checking "${database}" in ${c.name}${apps.length ? ` and ${apps.map((a) => a.name).join(', ')}` : ''}`);
  const guard = (check: CheckResult['check'], subject: string) => (e: unknown): CheckResult => ({ check, subject, status: 'failed', detail: errorMessage(e) });
  const ctx = { deadline, image: c.image, defaultHost: c.composeService ?? c.name, database, healthChecks: options.healthChecks, op };
  const [rows, write, perApp] = await Promise.all([
    checkRowCounts(docker, server.target, database, manifest, op.signal).catch(guard('rows', database)),
    checkWritable(docker, server.target, database, op.signal).catch(guard('write', database)),
    Promise.all(apps.map((a) => checkApp(docker, a, ctx).catch((e: unknown) => [guard('app', a.name)(e)]))),
  ]);
  const results = [...perApp.flat(), rows, write];
  if (apps.length === 0) results.unshift({ check: 'app', subject: c.name, status: 'notChecked', detail: `no app container found for ${c.name} (compose project, labels or the pgDockerBackup.appContainers setting)` });
  const report = summarize(c.name, database, results, Date.now() - started);
  op.log.info(`checks of ${c.name}/${database}:\n${formatCheckTable(report)}`);
  return report;
}
