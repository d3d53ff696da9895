import { parse } from '../args';
import { describePitrPrune, executePitrPrune, planPitrPrune } from '../../core/pitr/prune';
import { describePolicy } from '../../core/store/retention';
import { formatBytes } from '../../core/progress';
import { EXIT_OK, confirm, progressPrinter, say, writeJson, type CliContext } from '../io';
import { backupDirFor, discoveryFor, dockerFor } from '../services';
import { policyFromFlags, retentionOptions } from './prune';

export const pitrPruneUsage = `pg-docker-backup pitr prune <container> [--dir DIR] [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
                        [--keep-monthly N] [--keep-yearly N] [--keep-within DURATION] [--dry-run] [--yes] [--json]`;

/**
 * `pitr prune`: prune's rules over the container's base backups, then the archived WAL no kept base backup
 * needs. Prints the plan; deletes only after confirmation (--yes, or a terminal's answer).
 */
export async function pitrPruneCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { dir: { type: 'string' }, ...retentionOptions, 'dry-run': { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } }, { min: 1, max: 1, usage: pitrPruneUsage });
  const policy = policyFromFlags(values);
  const docker = dockerFor(ctx);
  const common = { signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx), onProgress: progressPrinter(ctx) };
  const plan = await planPitrPrune(docker, { container: positionals[0], dir: backupDirFor(ctx, values.dir), policy, ...common });
  const summary = {
    container: plan.container,
    policy: describePolicy(policy),
    keep: plan.keep.map((k) => k.base.path),
    delete: plan.delete.map((d) => d.base.path),
    reasons: Object.fromEntries(plan.keep.map((k) => [k.base.path, k.reasons])),
    wal: { archive: plan.archive ?? null, note: plan.walNote ?? null, cutoff: plan.wal.cutoff ?? null, delete: plan.wal.delete, segmentsKept: plan.wal.segmentsKept, left: plan.wal.left },
  };
  if (!values.json) {
    say(ctx, `Policy: keep ${describePolicy(policy)} (base backups, local time).`);
    ctx.stdout.write(describePitrPrune(plan).join('\n') + '\n');
  }
  const walCount = plan.walNote ? 0 : plan.wal.delete.length;
  if (values['dry-run'] || plan.delete.length + walCount === 0) {
    if (values.json) writeJson(ctx, { dryRun: !!values['dry-run'], ...summary, deleted: [], walDeleted: [] });
    else say(ctx, values['dry-run'] ? 'Dry run: nothing was deleted.' : 'Nothing to delete.');
    return EXIT_OK;
  }
  const bytes = plan.delete.reduce((n, d) => n + d.base.sizeBytes, 0);
  await confirm(ctx, `Delete ${plan.delete.length} base backup(s) (${formatBytes(bytes)}) and ${walCount} WAL file(s) (about ${formatBytes(plan.wal.bytes)}) from ${plan.archive?.dir ?? 'the archive'}? This cannot be undone.`, { yes: !!values.yes });
  const r = await executePitrPrune(docker, plan, common);
  if (values.json) writeJson(ctx, { dryRun: false, ...summary, deleted: r.deleted, skipped: r.skipped, walDeleted: r.wal.deleted, walSkipped: r.wal.skipped });
  else {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    say(ctx, `Deleted ${r.deleted.length} base backup(s) and ${r.wal.deleted.length} WAL file(s).`);
    for (const s of r.skipped) say(ctx, `warning: left ${s.path} alone: ${s.reason}`);
    for (const s of r.wal.skipped) say(ctx, `warning: left ${s.name} alone: ${s.reason}`);
  }
  return EXIT_OK;
}
