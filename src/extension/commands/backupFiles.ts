import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { deleteBackup } from '../../core/store/backupStore';
import { confirmModal, pickBackup, showError } from '../ui';
import type { CommandHandler } from './context';
import type { Node } from '../tree/nodes';

function selectedBackups(node?: Node, nodes?: Node[]) {
  const all = nodes && nodes.length ? nodes : node ? [node] : [];
  return all.flatMap((n) => (n.kind === 'backup' ? [n.backup] : []));
}

export const deleteBackupCommand: CommandHandler = async ({ services, model }, node, nodes) => {
  let backups = selectedBackups(node, nodes);
  if (backups.length === 0) {
    const b = await pickBackup(model, 'Delete which backup?');
    if (!b) return;
    backups = [b];
  }
  const what = backups.length === 1 ? backups[0].fileName : `${backups.length} backups`;
  if (!(await confirmModal(`Delete ${what}?`, `${backups.map((b) => b.path).join('\n')}\n\nThe file${backups.length === 1 ? '' : 's'} and manifest${backups.length === 1 ? '' : 's'} are deleted from disk. This cannot be undone.`, 'Delete'))) return;
  try {
    for (const b of backups) await deleteBackup(b.path, model.backupDir);
    services.logger.info(`deleted ${backups.map((b) => b.path).join(', ')}`);
  } catch (e) {
    await showError(services, e);
  }
  await model.refresh();
};

export const revealBackupCommand: CommandHandler = async ({ model }, node) => {
  const b = node?.kind === 'backup' ? node.backup : await pickBackup(model, 'Reveal which backup?');
  if (b) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(b.path));
};

export const copyPathCommand: CommandHandler = async ({ model }, node) => {
  const p = node?.kind === 'backup' ? node.backup.path : node?.kind === 'folder' ? node.path : (await pickBackup(model, 'Copy the path of which backup?'))?.path;
  if (p) {
    await vscode.env.clipboard.writeText(p);
    void vscode.window.setStatusBarMessage(`Copied ${p}`, 3000);
  }
};

export const openBackupFolderCommand: CommandHandler = async ({ services }, node) => {
  const dir = node?.kind === 'folder' ? node.path : services.settings.backupDirectory;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dir));
};
