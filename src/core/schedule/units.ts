import * as path from 'node:path';
import { PgBackupError } from '../errors';
import { describeCron, parseCron } from './cronExpression';
import { cronToOnCalendar } from './onCalendar';

/** What a system schedule runs: `backup --all` into `dir`, then `prune` with the retention rules (and base backups, pitr prune). */
export interface ScheduledJob {
  cron: string;
  /** Absolute path of node (process.execPath). */
  node: string;
  /** Absolute path of the CLI script (dist/cli.js). */
  cli: string;
  /** Absolute backup folder. */
  dir: string;
  /** Empty: every discovered running Postgres container. */
  containers: string[];
  /** More options of `backup --all` (checked by the CLI): --format, --compression, --recipient, --recipients-file, --upload. */
  backupFlags?: string[];
  /** prune's rule options, e.g. ['--keep-daily', '30', '--keep-monthly', '12']. */
  keep: string[];
  /** Environment file the job reads (notify URL, Docker endpoint, password), when there is one. */
  envFile?: string;
  /** Containers that also get a base backup (`pitr base-backup`) and `pitr prune` with the same rules. */
  baseBackups?: string[];
}

export const UNIT_NAME = 'pg-docker-backup';
export const CRON_BEGIN = '# BEGIN pg-docker-backup schedule';
export const CRON_END = '# END pg-docker-backup schedule';
export const UNIT_MARKER = '# Installed by pg-docker-backup schedule install';
/** The runbook's retention. */
export const DEFAULT_KEEP = ['--keep-daily', '30', '--keep-monthly', '12'];
export const DEFAULT_CRON = '0 2 * * *';

/** What the marker line records, so that `status` can tell the next run. */
export interface ScheduleMarker {
  cron: string;
  containers: string[];
}

function noNewlines(values: readonly string[]): void {
  const bad = values.find((v) => /[\r\n\0]/.test(v));
  if (bad !== undefined) throw new PgBackupError('usage', `A path or name with a line break cannot go into a crontab line or a systemd unit: ${JSON.stringify(bad)}`);
}

export function backupArgv(job: ScheduledJob): string[] {
  return [job.node, job.cli, 'backup', '--all', '--dir', job.dir, ...job.containers.flatMap((c) => ['--container', c]), ...(job.backupFlags ?? [])];
}

/** One prune per container (each keeps its own rules apart anyway), or one over the whole folder. */
export function pruneArgvs(job: ScheduledJob): string[][] {
  // --yes: a scheduled prune runs with no terminal to ask on (the rules were shown when it was installed)
  const base = [job.node, job.cli, 'prune', '--yes', '--dir', job.dir];
  if (job.containers.length === 0) return [[...base, ...job.keep]];
  return job.containers.map((c) => [...base, '--container', c, ...job.keep]);
}

/** For each container with point-in-time recovery: a base backup (encrypted and uploaded like the dumps), then `pitr prune` with the job's rules. */
export function pitrArgvs(job: ScheduledJob): string[][] {
  // a base backup is encrypted and uploaded like the dumps (their --recipient/--recipients-file/--upload)
  const flags = job.backupFlags ?? [];
  const passed = flags.flatMap((f, i) => (['--recipient', '--recipients-file', '--upload'].includes(f) && i + 1 < flags.length ? [f, flags[i + 1]] : []));
  return (job.baseBackups ?? []).flatMap((c) => [
    [job.node, job.cli, 'pitr', 'base-backup', c, '--dir', job.dir, ...passed],
    [job.node, job.cli, 'pitr', 'prune', c, '--yes', '--dir', job.dir, ...job.keep],
  ]);
}

function marker(job: ScheduledJob): string {
  return JSON.stringify({ cron: parseCron(job.cron).expression, containers: job.containers } satisfies ScheduleMarker);
}

/** Reads the marker JSON back from a line that starts with `prefix`. */
export function readMarker(text: string, prefix: string): ScheduleMarker | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const json = /(\{.*\})/.exec(line)?.[1];
    try {
      const m = JSON.parse(json ?? '') as ScheduleMarker;
      if (typeof m.cron === 'string' && Array.isArray(m.containers)) return m;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** One word for /bin/sh inside a crontab line: single-quoted when needed, and cron's `%` escaped. */
export function crontabWord(word: string): string {
  const quoted = /^[\w@+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, '\\%');
}

/** The crontab block: begin marker, the job line, end marker. */
export function crontabBlock(job: ScheduledJob): string {
  const spec = parseCron(job.cron);
  const all = [backupArgv(job), ...pruneArgvs(job), ...pitrArgvs(job)];
  noNewlines([...all.flat(), job.envFile ?? '']);
  const commands = all.map((argv) => argv.map(crontabWord).join(' '));
  const env = job.envFile ? `set -a; . ${crontabWord(job.envFile)}; set +a; ` : '';
  return [
    `${CRON_BEGIN} ${marker(job)} (${describeCron(job.cron)}; \`pg-docker-backup schedule uninstall --cron\` removes it)`,
    `${spec.fields.join(' ')} ${env}${commands.join('; ')}`,
    CRON_END,
    '',
  ].join('\n');
}

/** One word of a systemd command line: double-quoted when needed; `%` and `$` escaped. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[\w@+=:,./-]+$/.test(word)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface SystemdUnits {
  service: { name: string; text: string };
  timer: { name: string; text: string };
}

export function systemdUnits(job: ScheduledJob): SystemdUnits {
  const spec = parseCron(job.cron);
  const prunes = [...pruneArgvs(job), ...pitrArgvs(job)];
  noNewlines([...backupArgv(job), ...prunes.flat(), job.envFile ?? '']);
  const head = `${UNIT_MARKER} ${marker(job)}; \`pg-docker-backup schedule uninstall --systemd\` removes it.`;
  const service = [
    head,
    '[Unit]',
    'Description=Back up every Postgres database in Docker, then prune old backups (pg-docker-backup)',
    '',
    '[Service]',
    'Type=oneshot',
    ...(job.envFile ? [`EnvironmentFile=${job.envFile.replace(/%/g, '%%')}`] : []),
    `ExecStart=${backupArgv(job).map(systemdWord).join(' ')}`,
    `# prune runs after the backup whatever its result: its rules never delete the newest good backup${job.baseBackups?.length ? '; then base backups for point-in-time recovery, each followed by pitr prune (never deletes the newest base backup)' : ''}`,
    ...prunes.map((argv) => `ExecStopPost=${argv.map(systemdWord).join(' ')}`),
    '',
  ].join('\n');
  const timer = [
    head,
    '[Unit]',
    `Description=pg-docker-backup schedule: ${spec.expression} (${describeCron(job.cron).replace(/%/g, '%%')})`,
    '',
    '[Timer]',
    ...cronToOnCalendar(spec).map((c) => `OnCalendar=${c}`),
    '# a run missed while the machine was off runs once at the next boot',
    'Persistent=true',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service: { name: `${UNIT_NAME}.service`, text: service }, timer: { name: `${UNIT_NAME}.timer`, text: timer } };
}

/** ~/.config or $XDG_CONFIG_HOME. */
export function configHome(env: NodeJS.ProcessEnv, home: string): string {
  return env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
}

export function systemdUserDir(env: NodeJS.ProcessEnv, home: string): string {
  return path.join(configHome(env, home), 'systemd', 'user');
}

export function envFilePath(env: NodeJS.ProcessEnv, home: string, kind: 'cron' | 'systemd'): string {
  return path.join(configHome(env, home), 'pg-docker-backup', `schedule-${kind}.env`);
}

/**
 * NAME="value" lines that both /bin/sh (`set -a; . file`) and systemd's EnvironmentFile= read the same
 * way: double quotes with `\`, `"`, `$` and backquote escaped.
 */
export function envFileText(vars: Record<string, string>): string {
  const lines = ['# Written by pg-docker-backup schedule install (mode 0600): secrets for the scheduled backup.'];
  for (const [name, value] of Object.entries(vars)) {
    noNewlines([value]);
    lines.push(`${name}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`);
  }
  return lines.join('\n') + '\n';
}
