import { parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { createMissingRoles, dangerousRefusal, planMissingRoles, type MissingRolesPlan } from '../../core/restore/missingRoles';
import { EXIT_OK, confirm, say, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage = 'pg-docker-backup roles create-missing <roles-file> --to CONTAINER [--role NAME]... [--allow-superuser] [--dry-run] [--yes] [--json]';

function describePlan(plan: MissingRolesPlan): string {
  const lines = [`Roles file ${plan.rolesFile} against ${plan.container}:`];
  lines.push(`  already there: ${plan.present.join(', ') || 'none'}`);
  if (plan.missing.length === 0) lines.push('  missing: none');
  for (const r of plan.missing) {
    const danger = r.dangerous.length ? `  <-- ${r.dangerous.map((d) => d.toUpperCase()).join(', ')}` : '';
    lines.push(`  create ${r.name}: ${r.attributes.join(' ') || '(defaults)'}${r.hasPassword ? ' PASSWORD (from the file)' : ''}${danger}`);
  }
  const skipped = new Map<string, number>();
  for (const n of plan.notApplied) skipped.set(n.kind, (skipped.get(n.kind) ?? 0) + 1);
  if (skipped.size) lines.push(`  not applied: ${[...skipped].map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`).join(', ')} (per-role settings, comments and memberships are left to you)`);
  return lines.join('\n');
}

export async function rolesCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { to: { type: 'string' }, role: { type: 'string', multiple: true }, 'allow-superuser': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } },
    { min: 2, max: 2, usage },
  );
  if (positionals[0] !== 'create-missing') throw new PgBackupError('usage', `unknown roles command "${positionals[0]}"\nusage: ${usage}`);
  if (!values.to) throw new PgBackupError('usage', `roles create-missing needs --to CONTAINER (the server to create the roles in).\nusage: ${usage}`);
  const plan = await planMissingRoles(dockerFor(ctx), { rolesFile: positionals[1], to: values.to, only: values.role, signal: ctx.signal, logger: ctx.logger, discovery: discoveryFor(ctx) });
  const report = (created: string[]) => ({ ...plan, dryRun: !!values['dry-run'], created });
  if (!values.json) say(ctx, describePlan(plan));
  if (values['dry-run'] || plan.missing.length === 0) {
    if (values.json) writeJson(ctx, report([]));
    else if (plan.dangerous.length) say(ctx, 'Creating them needs --allow-superuser.');
    return EXIT_OK;
  }
  if (plan.dangerous.length && !values['allow-superuser']) throw dangerousRefusal(plan);
  await confirm(ctx, `Create ${plan.missing.length} role(s) in ${plan.container}: ${plan.missing.map((r) => r.name).join(', ')}?`, { yes: !!values.yes });
  const r = await createMissingRoles(plan, { allowDangerous: !!values['allow-superuser'], signal: ctx.signal, logger: ctx.logger });
  if (values.json) writeJson(ctx, report(r.created));
  else say(ctx, `Created ${r.created.length} role(s) in ${plan.container}: ${r.created.join(', ')}`);
  return EXIT_OK;
}
