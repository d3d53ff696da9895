import { parse } from '../args';
import { planReset, resetDatabase } from '../../core/reset';
import { checkTimeoutMs, checksAfter, checksJson } from './check';
import { EXIT_CHECKS_FAILED, EXIT_OK, confirm, progressPrinter, say, writeJson, type CliContext } from '../io';
import { backupDirFor, discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup reset <container> [--database DB] [--restart CONTAINER]... [--no-safety-backup] [--dir DIR] [--no-checks] [--check-timeout S] [--yes] [--json]';

export async function resetCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      database: { type: 'string', short: 'd' },
      restart: { type: 'string', multiple: true },
      'no-safety-backup': { type: 'boolean' },
      dir: { type: 'string' },
      'no-checks': { type: 'boolean' },
      'check-timeout': { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
    },
    { min: 1, max: 1, usage },
  );
  const docker = dockerFor(ctx);
  const discovery = discoveryFor(ctx);
  const options = {
    container: positionals[0],
    database: values.database,
    restart: values.restart,
    noSafetyBackup: values['no-safety-backup'],
    dir: backupDirFor(ctx, values.dir),
    signal: ctx.signal,
    logger: ctx.logger,
    discovery,
    onProgress: progressPrinter(ctx),
  };
  const plan = await planReset(docker, options);
  if (!values.json) say(ctx, `Plan:\n  ${plan.steps.join('\n  ')}`);
  await confirm(ctx, `Reset "${plan.database}" in ${plan.container.name}? All its data is deleted${plan.safetyBackup ? ' (a safety backup is taken first)' : ' and there is NO safety backup'}.`, {
    yes: !!values.yes,
    typeToConfirm: plan.container.protected ? plan.database : undefined,
  });
  const timeoutMs = checkTimeoutMs(values['check-timeout'], '--check-timeout');
  const r = await resetDatabase(docker, plan, options);
  if (!values.json) {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    say(ctx, `Reset "${plan.database}" in ${plan.container.name}.${r.safetyBackup ? ` Safety backup: ${r.safetyBackup.path}` : ''}`);
    for (const w of r.warnings) say(ctx, `warning: ${w}`);
  }
  const undoHint = r.safetyBackup ? `The data is in the safety backup: \`pg-docker-backup restore ${r.safetyBackup.path} --to ${plan.container.name}\`.` : 'There was no safety backup (--no-safety-backup).';
  const checks = values['no-checks'] ? undefined : await checksAfter(ctx, docker, { container: plan.container.name, database: plan.database, timeoutMs }, !!values.json, undoHint);
  if (values.json) writeJson(ctx, { reset: true, container: plan.container.name, database: plan.database, safetyBackup: r.safetyBackup?.path ?? null, downtimeMs: r.downtimeMs, warnings: r.warnings, checks: checks ? checksJson(checks) : null });
  return checks?.failed ? EXIT_CHECKS_FAILED : EXIT_OK;
}
