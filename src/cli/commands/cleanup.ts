import { parse } from '../args';
import { cleanupLeftovers, type CleanupResult } from '../../core/cleanup';
import { EXIT_OK, confirm, say, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup cleanup <container> [--database DB] [--dry-run] [--yes] [--json]';

/** Removes scratch databases, copied archives and recovery containers left by interrupted restores (never one still in use). */
export async function cleanupCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { database: { type: 'string', short: 'd' }, 'dry-run': { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } }, { min: 1, max: 1, usage });
  const docker = dockerFor(ctx);
  const base = { container: positionals[0], database: values.database, signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx) };
  const preview = await cleanupLeftovers(docker, { ...base, dryRun: true });
  const recovery = (r: CleanupResult['recoveries']['removed'][number]) => `${r.kind} ${r.name} (${r.why})`;
  const found = [...preview.databases.flatMap((d) => [...d.dropped, ...d.archivesRemoved]), ...preview.recoveries.removed.map(recovery)];
  const inUse = [...preview.databases.flatMap((d) => [...d.inUse, ...d.archivesLeft]), ...preview.recoveries.left.map(recovery)];
  const busy = preview.busy.map((b) => b.database);
  const describe = (what: string[]) => what.map((w) => `  ${w}`).join('\n');
  if (values['dry-run'] || found.length === 0) {
    if (values.json) writeJson(ctx, { dryRun: !!values['dry-run'], container: preview.container, remove: found, inUse, busy });
    else {
      say(ctx, found.length ? `Would remove (left by interrupted restores):\n${describe(found)}` : `Nothing left by interrupted restores in ${preview.container}.`);
      if (inUse.length) say(ctx, `Still in use, left alone:\n${describe(inUse)}`);
      if (busy.length) say(ctx, `Skipped (an operation on it is running): ${busy.join(', ')}`);
    }
    return EXIT_OK;
  }
  if (!values.json) say(ctx, `Left by interrupted restores in ${preview.container}:\n${describe(found)}`);
  await confirm(ctx, `Remove ${found.length === 1 ? 'it' : `these ${found.length}`}?`, { yes: !!values.yes });
  const r = await cleanupLeftovers(docker, base);
  const removed = [...r.databases.flatMap((d) => [...d.dropped, ...d.archivesRemoved]), ...r.recoveries.removed.map(recovery)];
  const left = [...r.databases.flatMap((d) => [...d.inUse, ...d.archivesLeft]), ...r.recoveries.left.map(recovery)];
  const failed = r.recoveries.failed.map((f) => `${f.name}: ${f.reason}`);
  if (values.json) writeJson(ctx, { container: r.container, removed, inUse: left, busy: r.busy.map((b) => b.database), failed });
  else {
    say(ctx, `Removed ${removed.length} leftover${removed.length === 1 ? '' : 's'} in ${r.container}.`);
    if (left.length) say(ctx, `Still in use, left alone (run cleanup again once it ends):\n${describe(left)}`);
    for (const f of failed) say(ctx, `warning: could not remove ${f}`);
  }
  return EXIT_OK;
}
