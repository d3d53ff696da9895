import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backupDatabase } from '../../core/backup/backupDatabase';
import type { Compression } from '../../core/backup/pgDump';
import type { BackupFormat } from '../../core/store/naming';
import { matchesContainerPattern, recipientStages } from '../encryptionKeys';
import { formatBytes, formatDuration } from '../../core/progress';
import { pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';
import { pruneAfterBackup } from './pruneBackups';

export const backupDatabaseCommand: CommandHandler = async ({ services, model }, node) => {
  let container = node?.kind === 'container' || node?.kind === 'database' ? node.container : undefined;
  container ??= await pickContainer(model, 'Back up a database of which container?');
  if (!container) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(container, `Back up which database of ${container.name}?`);
  if (!database) return;
  const settings = services.settings;
  // One pick for the format; the compression (the setting by default) only when asked for.
  let compression: Compression = settings.compression ?? { codec: 'gzip', level: settings.compressionLevel };
  let format: BackupFormat | undefined;
  for (;;) {
    const pick = await pickFormat(settings.defaultFormat, database, compression);
    if (!pick) return;
    if (pick !== 'compression') {
      format = pick;
      break;
    }
    compression = (await pickCompression(compression)) ?? compression;
  }
  try {
    const hostStages = await recipientStages(settings.encryptionRecipients);
    const r = await runWithProgress(`Backing up ${database} (${container.name})`, (signal, onProgress) =>
      backupDatabase(services.docker, {
        container: container!.name,
        database,
        format,
        compression,
        encoding: settings.backupEncoding,
        ...(format === 'directory' ? { jobs: Math.max(1, Math.min(8, os.cpus().length)) } : {}),
        hostStages,
        requireEncryption: matchesContainerPattern(container!.name, settings.encryptionRequiredFor),
        dir: settings.backupDirectory,
        signal,
        onProgress,
        logger: services.logger,
        discovery: services.discovery(signal),
      }),
    );
    const pruned = settings.pruneAfterBackup ? await pruneAfterBackup(services, container.name, database) : '';
    await model.refresh();
    const choice = await vscode.window.showInformationMessage(`Backed up ${database} to ${path.basename(r.path)} (${formatBytes(r.bytes)} in ${formatDuration(r.durationMs)}).${pruned}`, 'Reveal', 'Copy Path');
    if (choice === 'Reveal') await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.path));
    if (choice === 'Copy Path') await vscode.env.clipboard.writeText(r.path);
  } catch (e) {
    await model.refresh();
    await showError(services, e, container.name);
  }
};

/** Format, with a one-line hint each; the default (setting) first; last, the compression to change it. */
async function pickFormat(preferred: BackupFormat, database: string, compression: Compression): Promise<BackupFormat | 'compression' | undefined> {
  const formats: (vscode.QuickPickItem & { format: BackupFormat | 'compression' })[] = [
    { label: 'SQL', description: 'plain SQL script (.sql.gz, .sql.zst…): readable, restores with psql', format: 'sql' },
    { label: 'Custom', description: 'pg_dump -Fc archive (.dump): pg_restore, selective and parallel restores', format: 'custom' },
    { label: 'Directory', description: 'pg_dump -Fd with parallel jobs, one .dir.tar: fastest for large databases, needs room in the container', format: 'directory' },
  ];
  formats.sort((a, b) => (a.format === preferred ? -1 : b.format === preferred ? 1 : 0));
  const now = compression.codec === 'none' ? 'none' : `${compression.codec}${compression.level !== undefined ? ` level ${compression.level}` : ''}`;
  formats.push({ label: '$(settings) Compression…', description: `now ${now} (pgDockerBackup.compression); gzip, zstd or lz4 and their level`, format: 'compression' });
  return (await vscode.window.showQuickPick(formats, { placeHolder: `Format for the backup of ${database}`, title: 'Back Up Database' }))?.format;
}

const CODECS: (vscode.QuickPickItem & { codec: Compression['codec']; levels: [number, number][] })[] = [
  { label: 'gzip', description: 'every PostgreSQL version; level 1 is fast, 6 about 5% smaller and 3x slower', codec: 'gzip', levels: [[1, 9]] },
  { label: 'zstd', description: 'PostgreSQL 16 and later: smaller and faster than gzip', codec: 'zstd', levels: [[1, 22]] },
  { label: 'lz4', description: 'PostgreSQL 16 and later: fastest, largest files', codec: 'lz4', levels: [[1, 12]] },
  { label: 'none', description: 'no compression: biggest files, least CPU', codec: 'none', levels: [] },
];

const LEVEL_HINTS: Record<string, string> = { 1: 'fastest', 3: 'zstd default', 6: 'gzip default: smaller, slower', 9: 'smallest gzip, slowest' };

/** Codec, then level, with a one-line hint each; `preferred` (the setting) first. */
async function pickCompression(preferred: Compression): Promise<Compression | undefined> {
  const codecs = [...CODECS].sort((a, b) => (a.codec === preferred.codec ? -1 : b.codec === preferred.codec ? 1 : 0));
  const codec = await vscode.window.showQuickPick(codecs, { title: 'Back Up Database: Compression', placeHolder: 'Compression codec (pg_dump compresses in the container)' });
  if (!codec) return undefined;
  if (!codec.levels.length) return { codec: 'none' };
  const [lo, hi] = codec.levels[0];
  const levels = Array.from({ length: Math.min(hi, 9) - lo + 1 }, (_, i) => lo + i).map((n) => ({ label: String(n), description: LEVEL_HINTS[n] ?? (n === lo ? 'fastest' : ''), level: n }));
  const prefer = codec.codec === preferred.codec ? preferred.level : undefined;
  if (prefer !== undefined) levels.sort((a, b) => (a.level === prefer ? -1 : b.level === prefer ? 1 : 0));
  const level = await vscode.window.showQuickPick(levels, { title: `Back Up Database: ${codec.label} level`, placeHolder: `Level ${lo}–${hi}: higher is smaller and slower` });
  return level ? { codec: codec.codec, level: level.level } : undefined;
}
