import * as vscode from 'vscode';
import { DEFAULT_COMPRESSION_LEVEL } from '../core/backup/pgDump';
import { resolveBackupDir } from '../core/store/backupStore';
import type { BackupFormat } from '../core/store/naming';

export const SECTION = 'pgDockerBackup';

/**
 * Settings that run or delete things. In an untrusted workspace their workspace values are ignored
 * (package.json also lists them as restrictedConfigurations, so VS Code does the same).
 */
const RESTRICTED = new Set(['backupDirectory', 'appContainers', 'protectedContainers', 'keepPreviousDatabase', 'demoImage', 'safetyBackupBeforeReset']);

export interface Settings {
  backupDirectory: string;
  defaultFormat: BackupFormat;
  compressionLevel: number;
  /** Database container name → app containers to stop during restore/reset. */
  appContainers: Record<string, string[]>;
  protectedContainers: string[];
  keepPreviousDatabase: boolean;
  /** pg_restore jobs for custom-format restores; undefined = automatic (CPUs, for archives ≥ 32 MiB). */
  restoreJobs?: number;
  safetyBackupBeforeReset: boolean;
  demoImage: string;
}

function get<T>(config: vscode.WorkspaceConfiguration, key: string, fallback: T): T {
  if (RESTRICTED.has(key) && !vscode.workspace.isTrusted) {
    const i = config.inspect<T>(key);
    return i?.globalValue ?? i?.defaultValue ?? fallback;
  }
  return config.get<T>(key, fallback);
}

/** Reads every setting through one typed accessor. */
export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const dir = get<string>(c, 'backupDirectory', '').trim();
  const format = get<string>(c, 'defaultFormat', 'sql');
  const level = get<number>(c, 'compressionLevel', DEFAULT_COMPRESSION_LEVEL);
  return {
    backupDirectory: resolveBackupDir(dir ? dir.replace(/^~(?=$|\/)/, process.env.HOME ?? '~') : undefined),
    defaultFormat: format === 'custom' ? 'custom' : 'sql',
    compressionLevel: Number.isInteger(level) && level >= 1 && level <= 9 ? level : DEFAULT_COMPRESSION_LEVEL,
    appContainers: get<Record<string, string[]>>(c, 'appContainers', {}),
    protectedContainers: get<string[]>(c, 'protectedContainers', []),
    keepPreviousDatabase: get<boolean>(c, 'keepPreviousDatabase', true),
    restoreJobs: ((j) => (Number.isInteger(j) && j >= 1 && j <= 64 ? j : undefined))(get<number>(c, 'restoreJobs', 0)),
    safetyBackupBeforeReset: get<boolean>(c, 'safetyBackupBeforeReset', true),
    demoImage: get<string>(c, 'demoImage', 'postgres:16'),
  };
}

export function affectsSettings(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(SECTION);
}
