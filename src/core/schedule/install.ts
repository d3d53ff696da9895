import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgBackupError, errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { CRON_BEGIN, CRON_END, UNIT_MARKER, UNIT_NAME, crontabBlock, envFileText, envFilePath, readMarker, systemdUnits, systemdUserDir, type ScheduleMarker, type ScheduledJob } from './units';

/**
 * Installs and removes the system schedule: a marked block in the user's crontab (through `crontab -l` /
 * `crontab -`), or two user units in ~/.config/systemd/user enabled with `systemctl --user`. Only what
 * carries our markers is ever replaced or removed. Programs are run with argv arrays, never a shell.
 */
export interface InstallEnv {
  env: NodeJS.ProcessEnv;
  home?: string;
  logger?: Logger;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** ENOENT and the like: the program could not be started. */
  spawnError?: string;
}

function run(program: string, args: string[], ie: InstallEnv, input?: string): Promise<Ran> {
  (ie.logger ?? silentLogger).debug(`running ${[program, ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = execFile(program, args, { env: ie.env, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && typeof e.code === 'string') resolve({ code: -1, stdout, stderr, spawnError: e.code === 'ENOENT' ? `${program} is not installed` : errorMessage(e) });
      else resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const homeOf = (ie: InstallEnv) => ie.home ?? ie.env.HOME ?? os.homedir();
const firstLine = (r: Ran) => r.spawnError ?? (r.stderr.trim().split('\n')[0] || `exit code ${r.code}`);

async function writeEnvFile(file: string, vars: Record<string, string>): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.rm(file, { force: true }); // a new file gets mode 0600 from the start
  await fs.writeFile(file, envFileText(vars), { mode: 0o600, flag: 'wx' });
}

/** The job with its environment file set when there are variables to pass. */
export function withEnvFile(job: ScheduledJob, vars: Record<string, string>, ie: InstallEnv, kind: 'cron' | 'systemd'): ScheduledJob {
  return Object.keys(vars).length ? { ...job, envFile: envFilePath(ie.env, homeOf(ie), kind) } : { ...job, envFile: undefined };
}

// ---- crontab ------------------------------------------------------------------------------------

async function readCrontab(ie: InstallEnv, missingIsEmpty = false): Promise<string> {
  const r = await run('crontab', ['-l'], ie);
  if (r.code === 0) return r.stdout;
  if (/no crontab/i.test(r.stderr) || (missingIsEmpty && r.spawnError)) return '';
  if (r.spawnError) throw new PgBackupError('failed', `${r.spawnError} (on Debian: apt-get install cron); use \`schedule install --systemd\` instead, or install cron. Nothing was changed.`);
  throw new PgBackupError('failed', `Cannot read your crontab (crontab -l: ${firstLine(r)}); nothing was changed.`);
}

/** The crontab without our block (and whether there was one). */
export function removeCronBlock(text: string): { text: string; found: boolean } {
  const lines = text.split('\n');
  const out: string[] = [];
  let inside = false;
  let found = false;
  for (const line of lines) {
    if (!inside && line.startsWith(CRON_BEGIN)) {
      inside = found = true;
      continue;
    }
    if (inside) {
      if (line.startsWith(CRON_END)) inside = false;
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), found };
}

async function writeCrontab(text: string, ie: InstallEnv): Promise<void> {
  const r = await run('crontab', ['-'], ie, text);
  if (r.code !== 0) throw new PgBackupError('failed', `Could not write your crontab (crontab -: ${firstLine(r)}); it was left as it was.`);
}

export async function installCron(job: ScheduledJob, vars: Record<string, string>, ie: InstallEnv): Promise<{ replaced: boolean; envFile?: string }> {
  const current = await readCrontab(ie);
  const { text, found } = removeCronBlock(current);
  const final = withEnvFile(job, vars, ie, 'cron');
  const base = text.length === 0 || text.endsWith('\n') ? text : `${text}\n`;
  const block = crontabBlock(final);
  if (final.envFile) await writeEnvFile(final.envFile, vars);
  try {
    await writeCrontab(base + block, ie);
  } catch (e) {
    if (final.envFile) await fs.rm(final.envFile, { force: true });
    throw e;
  }
  if (!final.envFile) await fs.rm(envFilePath(ie.env, homeOf(ie), 'cron'), { force: true }); // left by an earlier install
  return { replaced: found, envFile: final.envFile };
}

export async function uninstallCron(ie: InstallEnv): Promise<{ removed: boolean }> {
  const current = await readCrontab(ie, true);
  const { text, found } = removeCronBlock(current);
  if (found) await writeCrontab(text, ie);
  await fs.rm(envFilePath(ie.env, homeOf(ie), 'cron'), { force: true });
  return { removed: found };
}

// ---- systemd ------------------------------------------------------------------------------------

export function unitPaths(ie: InstallEnv): { service: string; timer: string } {
  const dir = systemdUserDir(ie.env, homeOf(ie));
  return { service: path.join(dir, `${UNIT_NAME}.service`), timer: path.join(dir, `${UNIT_NAME}.timer`) };
}

async function readIfExists(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

async function systemctl(args: string[], ie: InstallEnv): Promise<Ran> {
  return run('systemctl', ['--user', ...args], ie);
}

function noUserSystemd(r: Ran, step: string, undone: string): PgBackupError {
  return new PgBackupError(
    'failed',
    `There is no user systemd to talk to here (systemctl --user ${step}: ${firstLine(r)}); ${undone}. Use \`schedule install --cron\`, or install from a login session (and run \`loginctl enable-linger $USER\` so the timer runs while you are logged out).`,
  );
}

export async function installSystemd(job: ScheduledJob, vars: Record<string, string>, ie: InstallEnv): Promise<{ files: string[]; envFile?: string }> {
  const paths = unitPaths(ie);
  const before = { service: await readIfExists(paths.service), timer: await readIfExists(paths.timer) };
  for (const [kind, text] of Object.entries(before)) {
    if (text !== undefined && !text.startsWith(UNIT_MARKER)) {
      throw new PgBackupError('refused', `${paths[kind as 'service' | 'timer']} exists and was not installed by pg-docker-backup; move it away first. Nothing was changed.`);
    }
  }
  const final = withEnvFile(job, vars, ie, 'systemd');
  const units = systemdUnits(final);
  const envBefore = final.envFile ? await readIfExists(final.envFile) : undefined;
  await fs.mkdir(path.dirname(paths.service), { recursive: true });
  await fs.writeFile(paths.service, units.service.text);
  await fs.writeFile(paths.timer, units.timer.text);
  if (final.envFile) await writeEnvFile(final.envFile, vars);
  const undo = async () => {
    for (const k of ['service', 'timer'] as const) {
      if (before[k] === undefined) await fs.rm(paths[k], { force: true });
      else await fs.writeFile(paths[k], before[k]!);
    }
    if (final.envFile) {
      if (envBefore === undefined) await fs.rm(final.envFile, { force: true });
      else await fs.writeFile(final.envFile, envBefore, { mode: 0o600 });
    }
  };
  for (const step of [['daemon-reload'], ['enable', '--now', units.timer.name]]) {
    const r = await systemctl(step, ie);
    if (r.code !== 0) {
      await undo();
      throw noUserSystemd(r, step.join(' '), before.timer === undefined ? 'the unit files were removed again, nothing is installed' : 'the previous unit files were put back');
    }
  }
  if (!final.envFile) await fs.rm(envFilePath(ie.env, homeOf(ie), 'systemd'), { force: true }); // left by an earlier install
  return { files: [paths.service, paths.timer], envFile: final.envFile };
}

export async function uninstallSystemd(ie: InstallEnv): Promise<{ removed: string[]; warning?: string }> {
  const paths = unitPaths(ie);
  const ours = async (f: string) => (await readIfExists(f))?.startsWith(UNIT_MARKER) ?? false;
  const targets = [];
  for (const f of [paths.timer, paths.service]) if (await ours(f)) targets.push(f);
  if (targets.length === 0) return { removed: [] };
  let warning: string | undefined;
  const disabled = await systemctl(['disable', '--now', `${UNIT_NAME}.timer`], ie);
  if (disabled.code !== 0) warning = `systemctl --user disable --now ${UNIT_NAME}.timer failed (${firstLine(disabled)}); the unit files are removed anyway`;
  for (const f of targets) await fs.rm(f, { force: true });
  await fs.rm(envFilePath(ie.env, homeOf(ie), 'systemd'), { force: true });
  if (disabled.code === 0) await systemctl(['daemon-reload'], ie);
  return { removed: targets, warning };
}

// ---- what is installed ----------------------------------------------------------------------------

export interface InstalledSchedule extends ScheduleMarker {
  kind: 'cron' | 'systemd';
}

/** Our schedules found in the crontab and the systemd user folder (for `status`). Never throws. */
export async function installedSchedules(ie: InstallEnv): Promise<InstalledSchedule[]> {
  const found: InstalledSchedule[] = [];
  const timer = await readIfExists(unitPaths(ie).timer).catch(() => undefined);
  const fromTimer = timer ? readMarker(timer, UNIT_MARKER) : undefined;
  if (fromTimer) found.push({ kind: 'systemd', ...fromTimer });
  const cron = await run('crontab', ['-l'], ie);
  const fromCron = cron.code === 0 ? readMarker(cron.stdout, CRON_BEGIN) : undefined;
  if (fromCron) found.push({ kind: 'cron', ...fromCron });
  return found;
}
