import * as path from 'node:path';
import * as vscode from 'vscode';
import { backupDatabase } from '../../core/backup/backupDatabase';
import type { BackupFormat } from '../../core/store/naming';
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
  const formats: { label: string; description: string; format: BackupFormat }[] = [
    { label: 'SQL (gzip)', description: 'plain SQL script, .sql.gz: readable, restores with psql', format: 'sql' },
    { label: 'Custom', description: 'pg_dump -Fc archive, .dump: restores with pg_restore', format: 'custom' },
  ];
  formats.sort((a) => (a.format === settings.defaultFormat ? -1 : 1));
  const format = (await vscode.window.showQuickPick(formats, { placeHolder: `Format for the backup of ${database}`, title: 'Back Up Database' }))?.format;
  if (!format) return;
  try {
    const r = await runWithProgress(`Backing up ${database} (${container.name})`, (signal, onProgress) =>
      backupDatabase(services.docker, {
        container: container!.name,
        database,
        format,
        compressionLevel: settings.compressionLevel,
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
