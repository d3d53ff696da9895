import { integer, parse } from '../args';
import { PgBackupError, errorMessage } from '../../core/errors';
import type { DockerClient } from '../../core/docker/client';
import { formatCheckTable, runChecks, summarize, type CheckOptions, type CheckReport } from '../../core/restore/checks';
import { EXIT_CHECKS_FAILED, EXIT_OK, progressPrinter, say, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup check <container> [--database DB] [--backup FILE] [--health APP=URL]... [--timeout S] [--json]';

/** `--timeout S` / `--check-timeout S` in seconds → ms. */
export function checkTimeoutMs(value: string | undefined, name: string): number | undefined {
  const s = integer(value, name);
  if (s !== undefined && (s < 1 || s > 3600)) throw new PgBackupError('usage', `${name} must be between 1 and 3600 seconds (got ${s})`);
  return s === undefined ? undefined : s * 1000;
}

/** `APP=URL` pairs → the per-app health URL map. */
function healthMap(pairs: string[] | undefined): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0 || !/^https?:\/\//i.test(p.slice(i + 1))) throw new PgBackupError('usage', `--health takes APP=URL with an http(s) URL (got ${p})`);
    (map[p.slice(0, i)] ??= []).push(p.slice(i + 1));
  }
  return map;
}

/**
 * The checklist after a restore, undo or reset: printed after the operation's own message (the table on
 * stderr, or returned for --json); a failed check undoes nothing, it says how to undo.
 */
export async function checksAfter(ctx: CliContext, docker: DockerClient, options: Omit<CheckOptions, 'signal' | 'logger' | 'discovery'>, json: boolean, undoHint?: string): Promise<CheckReport> {
  const started = Date.now();
  const report = await runChecks(docker, { ...options, signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx), onProgress: progressPrinter(ctx) }).catch((e: unknown) =>
    // The operation is done: a checklist that could not run is one failed line, not a failed operation.
    summarize(options.container, options.database ?? '', [{ check: 'app', subject: options.container, status: 'failed', detail: `the checks could not run: ${errorMessage(e)}` }], Date.now() - started),
  );
  if (!json) {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    say(ctx, formatCheckTable(report));
    if (report.failed && undoHint) say(ctx, `Nothing was undone because of this. ${undoHint}`);
  }
  return report;
}

export function checksJson(report: CheckReport): Record<string, unknown> {
  return { summary: report.summary, passed: report.passed, failed: report.failed, notChecked: report.notChecked, durationMs: report.durationMs, results: report.results };
}

export async function checkCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { database: { type: 'string', short: 'd' }, backup: { type: 'string' }, health: { type: 'string', multiple: true }, timeout: { type: 'string' } },
    { min: 1, max: 1, usage },
  );
  const docker = dockerFor(ctx);
  const report = await runChecks(docker, {
    container: positionals[0],
    database: values.database,
    backupPath: values.backup,
    healthChecks: healthMap(values.health),
    timeoutMs: checkTimeoutMs(values.timeout, '--timeout'),
    signal: ctx.signal,
    logger: ctx.logger,
    discovery: discoveryFor(ctx),
    onProgress: progressPrinter(ctx),
  });
  if (values.json) writeJson(ctx, { container: report.container, database: report.database, ...checksJson(report) });
  else {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    ctx.stdout.write(`${formatCheckTable(report)}\n`);
  }
  return report.failed ? EXIT_CHECKS_FAILED : EXIT_OK;
}
