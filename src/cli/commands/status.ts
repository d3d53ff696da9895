import { parse } from '../args';
import { errorMessage } from '../../core/errors';
import { discoverContainers, type PgContainer } from '../../core/postgres/discovery';
import { describeCron, nextRun } from '../../core/schedule/cronExpression';
import { installedSchedules, type InstalledSchedule } from '../../core/schedule/install';
import { formatAge, parseDuration } from '../../core/status/duration';
import { assessFreshness, type DatabaseFreshness } from '../../core/status/freshness';
import { listBackups } from '../../core/store/backupStore';
import { EXIT_FAILED, EXIT_OK, writeJson, type CliContext } from '../io';
import { notifyUrlFor, sendNotification } from '../notify';
import { backupDirFor, discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup status [--dir DIR] [--container C]... [--max-age 26h] [--notify URL] [--json]';

const DEFAULT_MAX_AGE = '26h';

interface ScheduleInfo extends InstalledSchedule {
  description: string;
  next: Date | undefined;
}

/** The earliest next run of the installed schedules that cover this container. */
function nextFor(container: string | null, schedules: readonly ScheduleInfo[]): ScheduleInfo | undefined {
  return schedules
    .filter((s) => s.next && (s.containers.length === 0 || (container !== null && s.containers.includes(container))))
    .sort((a, b) => a.next!.getTime() - b.next!.getTime())[0];
}

function rowJson(r: DatabaseFreshness, schedules: readonly ScheduleInfo[]) {
  const next = nextFor(r.container, schedules);
  return {
    container: r.container,
    database: r.database,
    live: r.live,
    stale: r.stale,
    backups: r.backups,
    newest: r.newest
      ? { path: r.newest.path, created: r.newest.created.toISOString(), ageMs: r.newest.ageMs, age: formatAge(r.newest.ageMs), format: r.newest.format, verification: r.newest.verification }
      : null,
    nextRun: next ? { at: next.next!.toISOString(), kind: next.kind, cron: next.cron } : null,
  };
}

function rowText(r: DatabaseFreshness, schedules: readonly ScheduleInfo[]): string {
  const name = `${r.container ?? '(unknown container)'}/${r.database ?? '(unknown database)'}`;
  const next = nextFor(r.container, schedules);
  const parts = [`${r.stale ? 'STALE' : 'ok   '}  ${name}${r.live ? '' : ' (not running now)'}`];
  if (!r.newest) parts.push('no backup');
  else {
    const v = r.newest.verification;
    parts.push(`newest ${formatAge(r.newest.ageMs)} ago (${r.newest.created.toISOString()})`);
    parts.push(v.state === 'never' ? 'never verified' : `${v.state === 'verified' ? 'verified' : 'verification FAILED'} (${v.kind}, ${v.at})`);
  }
  parts.push(next ? `next run ${next.next!.toISOString()} (${next.kind})` : 'no schedule installed');
  return parts.join(', ');
}

async function discover(ctx: CliContext): Promise<{ containers: PgContainer[]; problems: { container: string | null; error: string }[] }> {
  try {
    const containers = await discoverContainers(dockerFor(ctx), { ...discoveryFor(ctx), withApps: false });
    const problems = containers.filter((c) => c.running && c.problem).map((c) => ({ container: c.name, error: c.problem! }));
    return { containers, problems };
  } catch (e) {
    return { containers: [], problems: [{ container: null, error: errorMessage(e) }] };
  }
}

export async function statusCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { dir: { type: 'string' }, container: { type: 'string', multiple: true }, 'max-age': { type: 'string' }, notify: { type: 'string' } },
    { min: 0, max: 0, usage },
  );
  const maxAgeText = values['max-age'] ?? DEFAULT_MAX_AGE;
  const maxAgeMs = parseDuration(maxAgeText, '--max-age');
  const notifyUrl = notifyUrlFor(ctx, values.notify);
  const dir = backupDirFor(ctx, values.dir);
  const only = values.container ?? [];
  const [found, backups, installed] = await Promise.all([discover(ctx), listBackups(dir), installedSchedules({ env: ctx.env, logger: ctx.logger })]);
  const now = new Date();
  const rows = assessFreshness({ containers: found.containers, backups, now, maxAgeMs, only });
  const problems = found.problems.filter((p) => p.container === null || only.length === 0 || only.includes(p.container));
  const schedules: ScheduleInfo[] = installed.map((s) => ({ ...s, description: describeCron(s.cron), next: nextRun(s.cron, now) }));
  const stale = rows.filter((r) => r.stale);
  const ok = stale.length === 0 && problems.length === 0;
  const report = {
    ok,
    dir,
    maxAge: maxAgeText,
    maxAgeMs,
    at: now.toISOString(),
    stale: stale.map((r) => `${r.container ?? '?'}/${r.database ?? '?'}`),
    problems,
    schedules: schedules.map((s) => ({ kind: s.kind, cron: s.cron, description: s.description, containers: s.containers, next: s.next?.toISOString() ?? null })),
    databases: rows.map((r) => rowJson(r, schedules)),
  };
  if (values.json) writeJson(ctx, report);
  else {
    for (const r of rows) ctx.stdout.write(rowText(r, schedules) + '\n');
    for (const p of problems) ctx.stdout.write(`PROBLEM ${p.container ?? 'docker'}: ${p.error}\n`);
    if (rows.length === 0 && problems.length === 0) ctx.stdout.write(`No running Postgres database and no backups in ${dir}\n`);
    ctx.stdout.write(ok ? `All ${rows.length} database(s) have a backup newer than ${maxAgeText}.\n` : `${stale.length} of ${rows.length} database(s) have no backup newer than ${maxAgeText}${problems.length ? `; ${problems.length} problem(s)` : ''}.\n`);
  }
  await sendNotification(ctx, notifyUrl, { command: 'status', ...report });
  return ok ? EXIT_OK : EXIT_FAILED;
}
