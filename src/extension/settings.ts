import * as vscode from 'vscode';
import type { ScheduleEntry } from '../core/schedule/scheduleEntries';
import { DEFAULT_COMPRESSION_LEVEL, parseCompression, type Compression } from '../core/backup/pgDump';
import { resolveBackupDir } from '../core/store/backupStore';
import type { BackupFormat } from '../core/store/naming';
import { parseRetentionDuration, type RetentionPolicy } from '../core/store/retention';
import { PgBackupError, errorMessage } from '../core/errors';
import { parseDuration } from '../core/status/duration';
import { validateNamedRemotes, type NamedRemote } from '../core/store/remote/remoteConfig';

export const SECTION = 'pgDockerBackup';

/**
 * Settings that run or delete things. In an untrusted workspace their workspace values are ignored
 * (package.json also lists them as restrictedConfigurations, so VS Code does the same).
 */
const RESTRICTED = new Set(['encryption.requiredFor', 'encryption.recipients', 'backupDirectory', 'appContainers', 'protectedContainers', 'keepPreviousDatabase', 'demoImage', 'safetyBackupBeforeReset', 'retention', 'pruneAfterBackup', 'healthChecks', 'schedules', 'remotes']);

export interface Settings {
  backupDirectory: string;
  defaultFormat: BackupFormat;
  compressionLevel: number;
  /** `pgDockerBackup.compression` (e.g. `zstd:3`), parsed; undefined = gzip at compressionLevel. */
  compression?: Compression;
  /** `pgDockerBackup.backupEncoding`: pg_dump -E for every backup; undefined = each database's own. */
  backupEncoding?: string;
  /** age public keys every backup is encrypted to (`pgDockerBackup.encryption.recipients`). */
  encryptionRecipients: string[];
  /** Container name patterns whose backups must be encrypted (`pgDockerBackup.encryption.requiredFor`). */
  encryptionRequiredFor: string[];
  /** Database container name → app containers to stop during restore/reset. */
  appContainers: Record<string, string[]>;
  protectedContainers: string[];
  keepPreviousDatabase: boolean;
  /** pg_restore jobs for custom-format restores; undefined = automatic (CPUs, for archives ≥ 32 MiB). */
  restoreJobs?: number;
  safetyBackupBeforeReset: boolean;
  demoImage: string;
  /** `pgDockerBackup.retention` as written (keepLast … keepYearly, keepWithin); see retentionPolicy(). */
  retention: RetentionSetting;
  pruneAfterBackup: boolean;
  /** App container name → health URLs the checks expect a 200 from. */
  healthChecks: Record<string, string[]>;
  checkTimeoutSeconds: number;
  /** `pgDockerBackup.schedules` as written (checked and given ids by the schedule wiring). */
  schedules: ScheduleSetting[];
  /** A database whose newest backup is older than this is stale (warning in the tree). */
  maxBackupAge: string;
  maxBackupAgeMs: number;
  /** `pgDockerBackup.remotes`, checked (never holds keys); empty with remotesProblem set when it is wrong. */
  remotes: NamedRemote[];
  remotesProblem?: string;
}

export interface RetentionSetting {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** restic duration, e.g. `1y2m`. */
  keepWithin?: string;
}

/** The runbook's policy: 30 daily and 12 monthly backups. */
export const DEFAULT_RETENTION: RetentionSetting = { keepDaily: 30, keepMonthly: 12 };

/** The retention setting as a policy; a wrong value is a usage error that names the setting. */
export function retentionPolicy(r: RetentionSetting): RetentionPolicy {
  const count = (key: keyof RetentionSetting): number | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new PgBackupError('usage', `The setting ${SECTION}.retention.${key} must be a whole number (it is ${JSON.stringify(v)}).`);
    return v;
  };
  const policy: RetentionPolicy = {
    last: count('keepLast'),
    hourly: count('keepHourly'),
    daily: count('keepDaily'),
    weekly: count('keepWeekly'),
    monthly: count('keepMonthly'),
    yearly: count('keepYearly'),
  };
  if (r.keepWithin) {
    try {
      policy.within = parseRetentionDuration(String(r.keepWithin));
    } catch {
      throw new PgBackupError('usage', `The setting ${SECTION}.retention.keepWithin must be a duration such as 1y2m3d4h (it is ${JSON.stringify(r.keepWithin)}).`);
    }
  }
  return policy;
}

/** One entry of `pgDockerBackup.schedules`, as the settings file holds it (checked by schedulesFromEntries). */
export type ScheduleSetting = ScheduleEntry;

export const DEFAULT_MAX_BACKUP_AGE = '26h';

function maxAge(text: string): { maxBackupAge: string; maxBackupAgeMs: number } {
  try {
    return { maxBackupAge: text, maxBackupAgeMs: parseDuration(text, 'pgDockerBackup.maxBackupAge') };
  } catch {
    return { maxBackupAge: DEFAULT_MAX_BACKUP_AGE, maxBackupAgeMs: parseDuration(DEFAULT_MAX_BACKUP_AGE) };
  }
}

function get<T>(config: vscode.WorkspaceConfiguration, key: string, fallback: T): T {
  if (RESTRICTED.has(key) && !vscode.workspace.isTrusted) {
    const i = config.inspect<T>(key);
    return i?.globalValue ?? i?.defaultValue ?? fallback;
  }
  return config.get<T>(key, fallback);
}

/** The remotes setting, checked by core: a wrong value is one sentence instead of remotes. */
function readRemotes(value: unknown): { remotes: NamedRemote[]; remotesProblem?: string } {
  try {
    return { remotes: validateNamedRemotes(value ?? [], `The setting ${SECTION}.remotes`) };
  } catch (e) {
    return { remotes: [], remotesProblem: errorMessage(e) };
  }
}

/** Reads every setting through one typed accessor. */
export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const dir = get<string>(c, 'backupDirectory', '').trim();
  const format = get<string>(c, 'defaultFormat', 'sql');
  const level = get<number>(c, 'compressionLevel', DEFAULT_COMPRESSION_LEVEL);
  return {
    backupDirectory: resolveBackupDir(dir ? dir.replace(/^~(?=$|\/)/, process.env.HOME ?? '~') : undefined),
    defaultFormat: format === 'custom' || format === 'directory' ? format : 'sql',
    compression: ((t) => {
      try {
        return t.trim() ? parseCompression(t.trim()) : undefined;
      } catch {
        return undefined; // a wrong value: the default codec (the setting's pattern flags it)
      }
    })(get<string>(c, 'compression', '')),
    backupEncoding: ((e) => (/^[A-Za-z0-9_-]+$/.test(e) ? e : undefined))(get<string>(c, 'backupEncoding', '').trim()),
    encryptionRecipients: get<string[]>(c, 'encryption.recipients', []).filter((r) => typeof r === 'string' && r.trim()),
    encryptionRequiredFor: get<string[]>(c, 'encryption.requiredFor', []).filter((r) => typeof r === 'string' && r.trim()),
    compressionLevel: Number.isInteger(level) && level >= 1 && level <= 9 ? level : DEFAULT_COMPRESSION_LEVEL,
    appContainers: get<Record<string, string[]>>(c, 'appContainers', {}),
    protectedContainers: get<string[]>(c, 'protectedContainers', []),
    keepPreviousDatabase: get<boolean>(c, 'keepPreviousDatabase', true),
    restoreJobs: ((j) => (Number.isInteger(j) && j >= 1 && j <= 64 ? j : undefined))(get<number>(c, 'restoreJobs', 0)),
    safetyBackupBeforeReset: get<boolean>(c, 'safetyBackupBeforeReset', true),
    demoImage: get<string>(c, 'demoImage', 'postgres:16'),
    retention: ((r) => (r && typeof r === 'object' ? r : DEFAULT_RETENTION))(get<RetentionSetting>(c, 'retention', DEFAULT_RETENTION)),
    pruneAfterBackup: get<boolean>(c, 'pruneAfterBackup', false) === true,
    healthChecks: get<Record<string, string[]>>(c, 'healthChecks', {}),
    checkTimeoutSeconds: ((t) => (Number.isFinite(t) && t >= 1 && t <= 3600 ? t : 60))(get<number>(c, 'checkTimeoutSeconds', 60)),
    schedules: ((v) => (Array.isArray(v) ? v : []))(get<ScheduleSetting[]>(c, 'schedules', [])),
    ...maxAge(get<string>(c, 'maxBackupAge', DEFAULT_MAX_BACKUP_AGE)),
    ...readRemotes(get<unknown>(c, 'remotes', [])),
  };
}

export function affectsSettings(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(SECTION);
}
