import { parse, integer } from '../args';
import { executePrune, planPrune, type PrunePlan } from '../../core/store/prune';
import { describePolicy, parseRetentionDuration, type RetentionPolicy } from '../../core/store/retention';
import { formatBytes } from '../../core/progress';
import { EXIT_OK, confirm, say, writeJson, type CliContext } from '../io';
import { notifyUrlFor, withNotify } from '../notify';
import { backupDirFor } from '../services';
import { openStore, remoteFor, remoteOptions } from '../remotes';
import { executeRemotePrune, planRemotePrune } from '../../core/store/remote/remotePrune';

export const usage = `pg-docker-backup prune [--dir DIR] [--container C] [--database D] [--keep-last N] [--keep-hourly N]
                       [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]
                       [--keep-within DURATION] [--remote REMOTE] [--dry-run] [--yes] [--notify URL] [--json]
    restic's forget rules, per container and database, in this machine's local time: keep-last keeps
    the N newest; keep-hourly/daily/weekly (ISO)/monthly/yearly keep the newest backup of each of the N
    most recent periods that have backups; keep-within keeps all newer than the newest backup minus
    DURATION (1y2m3d4h, m = months). As in restic 0.17+, when a rule finds fewer periods than N, the
    group's oldest backup is kept as well. Never deleted: the newest backup that passed verification,
    files this tool does not recognise, symlinks, .partial files. E.g. --keep-daily 30 --keep-monthly 12.
    --remote REMOTE applies the same rules to a remote's backups (s3://, gs:// or a named remote).`;

const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** The `--keep-*` flags (shared with `pitr prune`). */
export const retentionOptions = {
  ...(Object.fromEntries(RULES.map((r) => [`keep-${r}`, { type: 'string' as const }])) as Record<`keep-${(typeof RULES)[number]}`, { type: 'string' }>),
  'keep-within': { type: 'string' },
} as const;

/** The policy the `--keep-*` flags give. */
export function policyFromFlags(values: Record<string, unknown>): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const r of RULES) policy[r] = integer(values[`keep-${r}`] as string | undefined, `--keep-${r}`);
  if (values['keep-within'] !== undefined) policy.within = parseRetentionDuration(String(values['keep-within']));
  return policy;
}

function groupName(item: PrunePlan['delete'][number]): string {
  return `${item.entry.container ?? '(no container)'}/${item.entry.database ?? '?'}`;
}

/** The deletions grouped by container/database, for the question and the human output. */
export function describeDeletions(plan: PrunePlan): string {
  const groups = new Map<string, string[]>();
  for (const item of plan.delete) {
    const g = groups.get(groupName(item)) ?? [];
    g.push(`    ${item.entry.created.toISOString()}  ${formatBytes(item.entry.sizeBytes)}  ${item.entry.path}`);
    groups.set(groupName(item), g);
  }
  return [...groups].map(([name, lines]) => `  ${name} (${lines.length}):\n${lines.join('\n')}`).join('\n');
}

export async function pruneCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      dir: { type: 'string' },
      container: { type: 'string' },
      database: { type: 'string', short: 'd' },
      ...retentionOptions,
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      remote: { type: 'string' },
      notify: { type: 'string' },
      ...remoteOptions,
    },
    { min: 0, max: 0, usage },
  );
  const notifyUrl = notifyUrlFor(ctx, values.notify);
  const what = { command: 'prune', container: values.container ?? null, database: values.database ?? null, remote: values.remote ?? null, dryRun: !!values['dry-run'] };
  const r = await withNotify(ctx, notifyUrl, what, () => prune(ctx, values), (x) => x.summary);
  return r.code;
}

type Summary = { code: number; summary: Record<string, unknown> };

type PruneFlags = Omit<Parameters<typeof pruneRemote>[1], 'remote'> & { remote?: string; dir?: string; 'keep-within'?: string };

async function prune(ctx: CliContext, values: PruneFlags): Promise<Summary> {
  const policy = policyFromFlags(values as Record<string, unknown>);
  if (values.remote) return { code: await pruneRemote(ctx, values as typeof values & { remote: string }, policy), summary: {} };
  const plan = await planPrune({ dir: backupDirFor(ctx, values.dir), container: values.container, database: values.database, policy });
  const reasons = Object.fromEntries(plan.keep.map((k) => [k.entry.path, k.reasons]));
  const keep = plan.keep.map((k) => k.entry.path);
  const toDelete = plan.delete.map((d) => d.entry.path);
  if (!values.json) {
    say(ctx, `Policy: keep ${describePolicy(policy)} (per container and database, local time). ${plan.keep.length} kept, ${plan.delete.length} to delete in ${plan.dir}.`);
    for (const k of plan.keep) say(ctx, `  keep    ${k.entry.path}  (${k.reasons.join(', ')})`);
    if (plan.delete.length) say(ctx, `To delete:\n${describeDeletions(plan)}`);
  }
  if (values['dry-run'] || plan.delete.length === 0) {
    if (values.json) writeJson(ctx, { dryRun: !!values['dry-run'], keep, delete: toDelete, reasons, deleted: [] });
    else if (values['dry-run']) say(ctx, 'Dry run: nothing was deleted.');
    return { code: EXIT_OK, summary: { dir: plan.dir, kept: keep.length, toDelete: toDelete.length, deleted: [] } };
  }
  const bytes = plan.delete.reduce((n, d) => n + d.entry.sizeBytes, 0);
  await confirm(ctx, `Delete ${plan.delete.length} backup${plan.delete.length === 1 ? '' : 's'} (${formatBytes(bytes)}) and their manifests? This cannot be undone.`, {
    yes: !!values.yes,
  });
  const r = await executePrune(plan, { signal: ctx.signal, logger: ctx.logger });
  if (values.json) writeJson(ctx, { dryRun: false, keep, delete: toDelete, reasons, deleted: r.deleted, skipped: r.skipped });
  else {
    say(ctx, `Deleted ${r.deleted.length} backup${r.deleted.length === 1 ? '' : 's'}.`);
    for (const s of r.skipped) say(ctx, `warning: left ${s.path} alone: ${s.reason}`);
  }
  return { code: EXIT_OK, summary: { dir: plan.dir, kept: keep.length, deleted: r.deleted, skipped: r.skipped } };
}

/** `prune --remote R`: the same rules over the remote's backups; deletes objects with their sidecars. */
async function pruneRemote(ctx: CliContext, values: { remote: string; container?: string; database?: string; json?: boolean; 'dry-run'?: boolean; yes?: boolean; endpoint?: string; region?: string; 'path-style'?: boolean }, policy: RetentionPolicy): Promise<number> {
  const store = await openStore(ctx, await remoteFor(ctx, values.remote, values));
  try {
    const plan = await planRemotePrune(store, { policy, container: values.container, database: values.database, signal: ctx.signal });
    const keep = plan.keep.map((k) => k.backup.url);
    const toDelete = plan.delete.map((d) => d.backup.url);
    const reasons = Object.fromEntries(plan.keep.map((k) => [k.backup.url, k.reasons]));
    if (!values.json) {
      say(ctx, `Policy: keep ${describePolicy(policy)} (per container and database, local time). ${keep.length} kept, ${toDelete.length} to delete on ${plan.remote}.`);
      for (const k of plan.keep) say(ctx, `  keep    ${k.backup.url}  (${k.reasons.join(', ')})`);
      for (const d of plan.delete) say(ctx, `  delete  ${d.backup.url}  ${formatBytes(d.backup.bytes)}`);
    }
    if (values['dry-run'] || toDelete.length === 0) {
      if (values.json) writeJson(ctx, { dryRun: !!values['dry-run'], remote: plan.remote, keep, delete: toDelete, reasons, deleted: [] });
      else if (values['dry-run']) say(ctx, 'Dry run: nothing was deleted.');
      return EXIT_OK;
    }
    await confirm(ctx, `Delete ${toDelete.length} backup${toDelete.length === 1 ? '' : 's'} (with their sidecars) from ${plan.remote}? This cannot be undone.`, { yes: !!values.yes });
    const deleted = await executeRemotePrune(store, plan, ctx.logger);
    if (values.json) writeJson(ctx, { dryRun: false, remote: plan.remote, keep, delete: toDelete, reasons, deleted });
    else say(ctx, `Deleted ${deleted.length} backup${deleted.length === 1 ? '' : 's'} from ${plan.remote}.`);
    return EXIT_OK;
  } finally {
    store.close();
  }
}
