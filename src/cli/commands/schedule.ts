import * as fs from 'node:fs';
import * as path from 'node:path';
import { integer, oneOf, parse } from '../args';
import { parseCompression } from '../../core/backup/pgDump';
import { parseRecipients, readRecipientsFile } from '../../core/pipeline/keys';
import { PgBackupError } from '../../core/errors';
import { describeCron, parseCron } from '../../core/schedule/cronExpression';
import { installCron, installSystemd, uninstallCron, uninstallSystemd, unitPaths, withEnvFile, type InstallEnv } from '../../core/schedule/install';
import { DEFAULT_CRON, DEFAULT_KEEP, crontabBlock, systemdUnits, type ScheduledJob } from '../../core/schedule/units';
import { EXIT_OK, confirm, say, type CliContext } from '../io';
import { NOTIFY_ENV, notifyUrlFor } from '../notify';
import { backupDirFor } from '../services';

export const usage = `pg-docker-backup schedule print [--dir DIR] [--container C]... [--base-backup C]... [--cron EXPR] [--format sql|custom] [--compression C] [--recipient age1…]... [--recipients-file F] [--upload REMOTE] [--keep-daily N --keep-monthly N ...] [--notify URL]
pg-docker-backup schedule install --systemd|--crontab [same options] [--yes]
pg-docker-backup schedule uninstall [--systemd|--crontab] [--yes]`;

const KEEP_RULES = ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'] as const;
/** Variables a scheduled job needs from this shell, written to its 0600 environment file, never into a unit. */
const PASSED_ENV = [NOTIFY_ENV, 'PG_DOCKER_BACKUP_PASSWORD', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONFIG'];
/** Where `--upload` finds its remote and credentials (names and file paths; the AWS chain reads the rest). */
const REMOTE_ENV = ['PG_DOCKER_BACKUP_REMOTES', 'AWS_PROFILE', 'AWS_REGION', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'GOOGLE_APPLICATION_CREDENTIALS'];

const OPTIONS = {
  dir: { type: 'string' },
  container: { type: 'string', multiple: true },
  'base-backup': { type: 'string', multiple: true },
  cron: { type: 'string' },
  notify: { type: 'string' },
  systemd: { type: 'boolean' },
  crontab: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'keep-within': { type: 'string' },
  format: { type: 'string' },
  compression: { type: 'string' },
  recipient: { type: 'string', multiple: true },
  'recipients-file': { type: 'string' },
  upload: { type: 'string' },
  ...Object.fromEntries(KEEP_RULES.map((r) => [r, { type: 'string' }])),
} as const;

/**
 * The job's own `backup --all` options, checked now (a typo must not wait for 2 a.m.): public keys only (the
 * job needs no secret to encrypt), the recipients file as an absolute path that exists.
 */
async function backupFlags(values: Record<string, unknown>): Promise<string[]> {
  const flags: string[] = [];
  const format = values.format as string | undefined;
  if (format !== undefined) flags.push('--format', oneOf(format, ['sql', 'custom'] as const, '--format')!);
  const compression = values.compression as string | undefined;
  if (compression !== undefined) {
    parseCompression(compression); // throws a usage error for a wrong value
    flags.push('--compression', compression);
  }
  for (const r of await parseRecipients((values.recipient as string[] | undefined) ?? [], '--recipient')) flags.push('--recipient', r);
  const file = values['recipients-file'] as string | undefined;
  if (file !== undefined) {
    await readRecipientsFile(file);
    flags.push('--recipients-file', path.resolve(file));
  }
  const upload = values.upload as string | undefined;
  if (upload !== undefined) flags.push('--upload', upload);
  return flags;
}

/** The CLI script that is running now, as an absolute real path (what the scheduled job will run). */
function cliScript(): string {
  const script = process.argv[1];
  if (!script) throw new PgBackupError('failed', 'Cannot tell where the pg-docker-backup script is; run it as `node /path/to/dist/cli.js schedule …`.');
  return fs.realpathSync(path.resolve(script));
}

function keepRules(values: Record<string, unknown>): string[] {
  const keep: string[] = [];
  for (const rule of KEEP_RULES) {
    const n = integer(values[rule] as string | undefined, `--${rule}`);
    if (n !== undefined) keep.push(`--${rule}`, String(n));
  }
  const within = values['keep-within'] as string | undefined;
  if (within !== undefined) {
    if (!/^(\d+[ymdh])+$/.test(within)) throw new PgBackupError('usage', `--keep-within must be like 1y2m3d4h (years, months, days, hours; got ${within})`);
    keep.push('--keep-within', within);
  }
  return keep.length ? keep : DEFAULT_KEEP;
}

/** `install --cron` (no expression after it) means the crontab kind, as the issue writes it. */
function normalizeArgs(args: string[]): string[] {
  return args.map((a, i) => (a === '--cron' && args[0] !== 'print' && (i + 1 === args.length || args[i + 1].startsWith('-')) ? '--crontab' : a));
}

interface Plan {
  job: ScheduledJob;
  vars: Record<string, string>;
  ie: InstallEnv;
}

async function planFrom(ctx: CliContext, values: Record<string, unknown>): Promise<Plan> {
  const cron = parseCron((values.cron as string | undefined) ?? DEFAULT_CRON).expression;
  const notifyUrl = notifyUrlFor(ctx, values.notify as string | undefined);
  const vars: Record<string, string> = {};
  for (const name of [...PASSED_ENV, ...(values.upload !== undefined ? REMOTE_ENV : [])]) if (ctx.env[name]) vars[name] = ctx.env[name]!;
  if (notifyUrl) vars[NOTIFY_ENV] = notifyUrl;
  const job: ScheduledJob = {
    cron,
    node: process.execPath,
    cli: cliScript(),
    dir: backupDirFor(ctx, values.dir as string | undefined),
    containers: (values.container as string[] | undefined) ?? [],
    backupFlags: await backupFlags(values),
    keep: keepRules(values),
    baseBackups: (values['base-backup'] as string[] | undefined) ?? [],
  };
  return { job, vars, ie: { env: ctx.env, logger: ctx.logger } };
}

function envNote(plan: Plan, envFile: string | undefined): string[] {
  if (!envFile) return [];
  const names = Object.keys(plan.vars).join(', ');
  return [`# The job reads ${names} from ${envFile} (mode 0600; \`schedule install\` writes it). Values are not shown here.`];
}

function cronText(plan: Plan): string {
  const job = withEnvFile(plan.job, plan.vars, plan.ie, 'cron');
  return [...envNote(plan, job.envFile), crontabBlock(job)].join('\n');
}

function systemdText(plan: Plan): string {
  const job = withEnvFile(plan.job, plan.vars, plan.ie, 'systemd');
  const units = systemdUnits(job);
  const paths = unitPaths(plan.ie);
  return [...envNote(plan, job.envFile), `# ${paths.service}`, units.service.text, `# ${paths.timer}`, units.timer.text].join('\n');
}

const LINGER = 'A user timer runs only while you are logged in, unless lingering is on: `loginctl enable-linger $USER`.';

function printAll(ctx: CliContext, plan: Plan): void {
  const { job } = plan;
  const what = job.containers.length ? `containers ${job.containers.join(', ')}` : 'every running Postgres container';
  ctx.stdout.write(
    [
      `# pg-docker-backup schedule: ${job.cron} (${describeCron(job.cron)}, local time): back up ${what} into ${job.dir}${job.backupFlags?.length ? ` (${job.backupFlags.join(' ')})` : ''}, then prune ${job.keep.join(' ')}${job.baseBackups?.length ? `; base backups of ${job.baseBackups.join(', ')}, then pitr prune with the same rules` : ''}`,
      '',
      '## crontab: `pg-docker-backup schedule install --crontab`, or add these lines with `crontab -e`',
      cronText(plan),
      '## systemd user units: `pg-docker-backup schedule install --systemd`, or write these two files and run',
      '## `systemctl --user daemon-reload && systemctl --user enable --now pg-docker-backup.timer`',
      systemdText(plan),
      `# ${LINGER}`,
      '',
    ].join('\n'),
  );
}

async function install(ctx: CliContext, plan: Plan, kind: 'systemd' | 'cron', yes: boolean): Promise<number> {
  say(ctx, kind === 'cron' ? `This block goes into your crontab:\n\n${cronText(plan)}` : `These units go into ${path.dirname(unitPaths(plan.ie).service)}:\n\n${systemdText(plan)}`);
  await confirm(ctx, `Install the ${kind === 'cron' ? 'crontab entry' : 'systemd user timer'}?`, { yes });
  if (kind === 'cron') {
    const r = await installCron(plan.job, plan.vars, plan.ie);
    say(ctx, `${r.replaced ? 'Replaced' : 'Added'} the pg-docker-backup block in your crontab${r.envFile ? `; secrets in ${r.envFile} (mode 0600)` : ''}.`);
  } else {
    const r = await installSystemd(plan.job, plan.vars, plan.ie);
    say(ctx, `Installed and started ${r.files.join(' and ')}${r.envFile ? `; secrets in ${r.envFile} (mode 0600)` : ''}.\n${LINGER}`);
  }
  return EXIT_OK;
}

async function uninstall(ctx: CliContext, ie: InstallEnv, kinds: ('systemd' | 'cron')[], yes: boolean): Promise<number> {
  await confirm(ctx, `Remove the pg-docker-backup schedule from ${kinds.map((k) => (k === 'cron' ? 'your crontab' : 'systemd (user timer)')).join(' and ')} (nothing else is touched)?`, { yes });
  for (const kind of kinds) {
    if (kind === 'cron') {
      const r = await uninstallCron(ie);
      say(ctx, r.removed ? 'Removed the pg-docker-backup block from your crontab.' : 'Your crontab has no pg-docker-backup block.');
    } else {
      const r = await uninstallSystemd(ie);
      if (r.warning) ctx.logger.warn(r.warning);
      say(ctx, r.removed.length ? `Removed ${r.removed.join(' and ')}.` : 'No pg-docker-backup systemd units are installed.');
    }
  }
  return EXIT_OK;
}

export async function scheduleCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(normalizeArgs(args), OPTIONS, { min: 1, max: 1, usage });
  const action = positionals[0];
  const kinds = (['systemd', 'cron'] as const).filter((k) => values[k === 'cron' ? 'crontab' : 'systemd']);
  if (action === 'print') {
    printAll(ctx, await planFrom(ctx, values));
    return EXIT_OK;
  }
  if (action === 'install') {
    if (kinds.length !== 1) throw new PgBackupError('usage', `schedule install needs exactly one of --systemd or --crontab (--cron)\nusage: ${usage}`);
    return install(ctx, await planFrom(ctx, values), kinds[0], !!values.yes);
  }
  if (action === 'uninstall') {
    return uninstall(ctx, { env: ctx.env, logger: ctx.logger }, kinds.length ? [...kinds] : ['systemd', 'cron'], !!values.yes);
  }
  throw new PgBackupError('usage', `unknown schedule action "${action}"\nusage: ${usage}`);
}
