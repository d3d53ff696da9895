import { parse } from '../args';
import { createDockerClient, defaultEndpointEnvironment, type DockerClient } from '../../core/docker/client';
import { parseDockerHost, resolveDockerEndpoints } from '../../core/docker/endpoint';
import { PgBackupError, errorMessage } from '../../core/errors';
import { formatBytes, formatDuration } from '../../core/progress';
import type { CheckReport } from '../../core/restore/checks';
import { executeCopy, planCopy, type CopyEngines, type CopyPlan, type CopyResult } from '../../core/restore/copy';
import { checkTimeoutMs, checksAfter, checksJson } from './check';
import { EXIT_CHECKS_FAILED, EXIT_OK, confirm, progressPrinter, say, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage =
  'pg-docker-backup copy <src-container> <dst-container> [--database DB] [--to-database DB] [--table T]... [--schema S]... [--from-host H] [--to-host H] [--stop CONTAINER]... [--drop-previous] [--no-owner] [--dry-run] [--no-checks] [--check-timeout S] [--yes] [--json]';

const COPY_OPTIONS = {
  database: { type: 'string', short: 'd' },
  'to-database': { type: 'string' },
  table: { type: 'string', short: 't', multiple: true },
  schema: { type: 'string', short: 'n', multiple: true },
  'from-host': { type: 'string' },
  'to-host': { type: 'string' },
  stop: { type: 'string', multiple: true },
  'drop-previous': { type: 'boolean' },
  'no-owner': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'no-checks': { type: 'boolean' },
  'check-timeout': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
} as const;

/**
 * A Docker engine named by `--from-host/--to-host`: a DOCKER_HOST-style URL (unix://, tcp://, ssh://…) or a
 * Docker context name. A context that does not exist is refused here, rather than quietly using the local engine.
 */
export async function engineFor(ctx: CliContext, spec: string, flag: string): Promise<DockerClient> {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(spec) || spec.startsWith('/');
  if (isUrl) {
    try {
      parseDockerHost(spec, process.platform);
    } catch (e) {
      throw new PgBackupError('usage', `${flag} ${spec}: ${errorMessage(e)}.`);
    }
  }
  const env = isUrl ? { ...ctx.env, DOCKER_HOST: spec, DOCKER_CONTEXT: undefined } : { ...ctx.env, DOCKER_HOST: undefined, DOCKER_CONTEXT: spec };
  const environment = defaultEndpointEnvironment(env);
  if (!isUrl && spec !== 'default') {
    const [first] = await resolveDockerEndpoints(environment);
    if (!first?.source.startsWith('docker context')) {
      throw new PgBackupError('usage', `${flag} ${spec}: there is no Docker context "${spec}" (\`docker context ls\` lists them); give a context name or a URL such as unix:///var/run/docker.sock or tcp://host:2376.`);
    }
  }
  return createDockerClient({ logger: ctx.logger, environment });
}

/** The two engines: the default one (DOCKER_HOST / context / socket) unless a flag names another. */
async function enginesFor(ctx: CliContext, fromHost: string | undefined, toHost: string | undefined): Promise<CopyEngines> {
  const local = fromHost && toHost ? undefined : dockerFor(ctx);
  const source = fromHost ? await engineFor(ctx, fromHost, '--from-host') : local!;
  const target = toHost ? await engineFor(ctx, toHost, '--to-host') : local!;
  return { source, target };
}

function confirmQuestion(plan: CopyPlan): string {
  const from = `"${plan.source.database}" in ${plan.source.container.name}`;
  if (plan.mode === 'tables') {
    const sel = plan.selection!;
    const refs = sel.referencing.length ? ` Tables that reference them (not touched): ${[...new Set(sel.referencing.map((r) => r.table))].join(', ')}.` : '';
    return `Replace the rows of ${sel.tables.join(', ')} in "${plan.target.database}" in ${plan.target.container.name} with those of ${from}?${refs}`;
  }
  return plan.whole!.liveExists
    ? `Replace "${plan.target.database}" in ${plan.target.container.name} with a copy of ${from} (the current one is kept for undo${plan.whole!.dropPrevious ? ', no: --drop-previous' : ''})?`
    : `Copy ${from} into a new database "${plan.target.database}" in ${plan.target.container.name}?`;
}

function copyJson(plan: CopyPlan, r: CopyResult, checks: CheckReport | undefined): Record<string, unknown> {
  return {
    copied: true,
    mode: plan.mode,
    source: { container: plan.source.container.name, database: plan.source.database, version: plan.source.server.version, host: plan.source.host },
    target: { container: plan.target.container.name, database: plan.target.database, version: plan.target.server.version, host: plan.target.host },
    tables: plan.selection?.tables ?? null,
    sequences: plan.selection?.sequences ?? null,
    referencing: plan.selection?.referencing ?? null,
    keptPrevious: r.keptPrevious ?? null,
    dropped: r.dropped,
    stopped: plan.whole?.stopContainers.map((a) => a.name) ?? [],
    missingRoles: plan.missingRoles,
    bytes: r.bytes,
    durationMs: r.durationMs,
    downtimeMs: r.downtimeMs,
    warnings: r.warnings,
    checks: checks ? checksJson(checks) : null,
  };
}

export async function copyCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COPY_OPTIONS, { min: 2, max: 2, usage });
  const timeoutMs = checkTimeoutMs(values['check-timeout'], '--check-timeout');
  const engines = await enginesFor(ctx, values['from-host'], values['to-host']);
  const common = { signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx), onProgress: progressPrinter(ctx) };
  const plan = await planCopy(engines, {
    from: positionals[0],
    to: positionals[1],
    database: values.database,
    toDatabase: values['to-database'],
    tables: values.table,
    schemas: values.schema,
    stop: values.stop,
    dropPrevious: values['drop-previous'],
    noOwner: values['no-owner'],
    ...common,
  });
  if (values['dry-run']) {
    if (values.json) writeJson(ctx, { dryRun: true, plan });
    else ctx.stdout.write(`Plan (nothing done, --dry-run):\n  ${plan.steps.join('\n  ')}\n`);
    return EXIT_OK;
  }
  if (!values.json) say(ctx, `Plan:\n  ${plan.steps.join('\n  ')}`);
  await confirm(ctx, confirmQuestion(plan), { yes: !!values.yes, typeToConfirm: plan.target.container.protected ? plan.target.database : undefined });
  const r = await executeCopy(engines, plan, common);
  const where = `"${plan.target.database}" in ${plan.target.container.name}`;
  if (!values.json) {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    if (plan.mode === 'tables') say(ctx, `Replaced the rows of ${plan.selection!.tables.join(', ')} in ${where} in ${formatDuration(r.durationMs)} (${formatBytes(r.bytes)}); every other table is untouched.`);
    else say(ctx, `Copied "${plan.source.database}" from ${plan.source.container.name} into ${where} in ${formatDuration(r.durationMs)} (${formatBytes(r.bytes)}, apps down ${formatDuration(r.downtimeMs)}).`);
    if (r.keptPrevious) say(ctx, `The previous database is kept as "${r.keptPrevious}": undo with \`pg-docker-backup restore --undo ${plan.target.container.name} --database ${JSON.stringify(plan.target.database)}\`.`);
    for (const w of r.warnings) say(ctx, `warning: ${w}`);
  }
  const undoHint = r.keptPrevious
    ? `Undo the copy with \`pg-docker-backup restore --undo ${plan.target.container.name} --database ${JSON.stringify(plan.target.database)}\`.`
    : plan.mode === 'tables'
      ? 'A copy of tables has no undo: copy them again from where they are right.'
      : 'There is no previous database to go back to (--drop-previous, or there was none).';
  const checks = values['no-checks'] ? undefined : await checksAfter(ctx, engines.target, { container: plan.target.container.id, database: plan.target.database, manifest: r.sourceRows, timeoutMs }, !!values.json, undoHint);
  if (values.json) writeJson(ctx, copyJson(plan, r, checks));
  return checks?.failed ? EXIT_CHECKS_FAILED : EXIT_OK;
}
