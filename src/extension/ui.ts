import * as vscode from 'vscode';
import type { PgContainer } from '../core/postgres/discovery';
import { errorMessage, isPgBackupError } from '../core/errors';
import { sideDatabaseKind } from '../core/databases/sideDatabases';
import { formatBytes, formatDuration, type Progress, type ProgressListener } from '../core/progress';
import type { BackupEntry } from '../core/store/backupStore';
import type { BackupModel } from './model';
import type { Services } from './services';

/**
 * Runs long work in a cancellable notification that shows the step, bytes and rate. Cancelling fires
 * the AbortSignal that core passes down to the exec and the file streams.
 */
export function runWithProgress<T>(title: string, work: (signal: AbortSignal, onProgress: ProgressListener) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    let percent = 0;
    const onProgress = (p: Progress) => {
      let message = p.message;
      let increment: number | undefined;
      if (p.bytes !== undefined) {
        const rate = p.bytesPerSecond ? ` · ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
        message = `${p.message} — ${formatBytes(p.bytes)}${p.totalBytes ? ` of ${formatBytes(p.totalBytes)}` : ''}${rate} · ${formatDuration(p.elapsedMs)}`;
        if (p.totalBytes) {
          const now = Math.min(100, (p.bytes / p.totalBytes) * 100);
          increment = Math.max(0, now - percent);
          percent = now;
        }
      }
      progress.report({ message, increment });
    };
    try {
      return await work(controller.signal, onProgress);
    } finally {
      sub.dispose();
    }
  });
}

/** One actionable sentence, with Show Log (and Set Password… where a password is the problem). */
export async function showError(services: Services, e: unknown, container?: string): Promise<void> {
  const message = errorMessage(e);
  services.logger.error(message + (isPgBackupError(e) && e.detail ? `\n${e.detail}` : ''));
  if (isPgBackupError(e, 'cancelled')) {
    void vscode.window.showInformationMessage(message);
    return;
  }
  const buttons = ['Show Log'];
  const passwordProblem = /password/i.test(message) && container;
  if (passwordProblem) buttons.unshift('Set Password…');
  const choice = await vscode.window.showErrorMessage(message, ...buttons);
  if (choice === 'Show Log') services.channel.show(true);
  if (choice === 'Set Password…') await vscode.commands.executeCommand('pgDockerBackup.setPassword', { kind: 'container', container: { name: container } });
}

/** A modal that says what will happen; true only for the confirming button. */
export async function confirmModal(message: string, detail: string, button: string): Promise<boolean> {
  return (await vscode.window.showWarningMessage(message, { modal: true, detail }, button)) === button;
}

/** For protected containers: the user types the database name. */
export async function confirmTyped(container: string, database: string, action: string): Promise<boolean> {
  const typed = await vscode.window.showInputBox({
    title: `${container} is protected`,
    prompt: `Type the database name "${database}" to ${action}`,
    placeHolder: database,
    ignoreFocusOut: true,
    validateInput: (v) => (v === database || v === '' ? undefined : 'The name does not match'),
  });
  return typed === database;
}

export async function pickContainer(model: BackupModel, placeHolder: string, runningOnly = true): Promise<PgContainer | undefined> {
  await model.ensureLoaded();
  const candidates = model.containers.filter((c) => !runningOnly || c.running);
  if (candidates.length === 0) {
    void vscode.window.showWarningMessage(model.problem ?? 'No running Postgres container found.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    candidates.map((c) => ({
      label: c.name,
      description: [c.composeProject, c.server ? `PostgreSQL ${c.server.version.split(' ')[0]}` : c.state].filter(Boolean).join(' · '),
      detail: c.image,
      container: c,
    })),
    { placeHolder, matchOnDescription: true },
  );
  return pick?.container;
}

export async function pickDatabase(container: PgContainer, placeHolder: string): Promise<string | undefined> {
  const dbs = (container.databases ?? []).filter((d) => !sideDatabaseKind(d.name));
  if (dbs.length === 0) return container.defaultDatabase;
  if (dbs.length === 1) return dbs[0].name;
  const items = dbs.map((d) => ({ label: d.name, description: `${d.sizeBytes >= 0 ? formatBytes(d.sizeBytes) : ''}${d.name === container.defaultDatabase ? ' · POSTGRES_DB' : ''}` }));
  items.sort((a, b) => (a.label === container.defaultDatabase ? -1 : b.label === container.defaultDatabase ? 1 : a.label.localeCompare(b.label)));
  return (await vscode.window.showQuickPick(items, { placeHolder }))?.label;
}

export async function pickBackup(model: BackupModel, placeHolder: string): Promise<BackupEntry | undefined> {
  await model.ensureLoaded();
  const backups = model.backups.filter((b) => b.format !== 'unknown');
  if (backups.length === 0) {
    void vscode.window.showInformationMessage(`There are no backups in ${model.backupDir} yet.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    backups.map((b) => ({
      label: b.fileName,
      description: `${b.container ?? '?'}/${b.database ?? '?'} · ${formatBytes(b.sizeBytes)}`,
      detail: b.created.toLocaleString(),
      backup: b,
    })),
    { placeHolder, matchOnDescription: true },
  );
  return pick?.backup;
}
