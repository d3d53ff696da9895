import * as vscode from 'vscode';
import type { Node } from '../tree/nodes';
import { backupDatabaseCommand } from './backupDatabase';
import { copyPathCommand, deleteBackupCommand, openBackupFolderCommand, revealBackupCommand } from './backupFiles';
import { setPasswordCommand, showContainerLogsCommand, startDemoCommand } from './containerCommands';
import { copyToContainerCommand } from './copyToContainer';
import type { CommandContext, CommandHandler } from './context';
import { deleteRemoteBackupCommand } from './deleteRemoteBackup';
import { downloadRemoteBackupCommand } from './downloadRemoteBackup';
import { pitrBaseBackupCommand, pitrEnableCommand, pitrMarkCommand, pitrPruneCommand, pitrRecoverCommand } from './pitr';
import { pruneBackupsCommand } from './pruneBackups';
import { pruneRemoteCommand } from './pruneRemote';
import { resetDatabaseCommand } from './resetDatabase';
import { restoreBackupCommand, restoreTablesCommand } from './restoreBackup';
import { restoreFromRemoteCommand } from './restoreFromRemote';
import { runChecksCommand } from './runChecks';
import { remoteOfNode } from './remotePicks';
import { setNotifyUrlCommand } from './setNotifyUrl';
import { setEncryptionSecretCommand } from './setEncryptionSecret';
import { setRemoteCredentialsCommand } from './setRemoteCredentials';
import { terminateConnectionsCommand } from './terminateConnections';
import { undoRestoreCommand } from './undoRestore';
import { uploadToRemoteCommand } from './uploadToRemote';
import { verifyBackupCommand } from './verifyBackup';

const COMMANDS: Record<string, CommandHandler> = {
  'pgDockerBackup.backupDatabase': backupDatabaseCommand,
  'pgDockerBackup.restoreBackup': restoreBackupCommand,
  'pgDockerBackup.restoreTables': restoreTablesCommand,
  'pgDockerBackup.undoRestore': undoRestoreCommand,
  'pgDockerBackup.resetDatabase': resetDatabaseCommand,
  'pgDockerBackup.copyToContainer': copyToContainerCommand,
  'pgDockerBackup.runChecks': runChecksCommand,
  'pgDockerBackup.terminateConnections': terminateConnectionsCommand,
  'pgDockerBackup.verifyBackup': verifyBackupCommand,
  'pgDockerBackup.deleteBackup': deleteBackupCommand,
  'pgDockerBackup.pruneBackups': pruneBackupsCommand,
  'pgDockerBackup.revealBackup': revealBackupCommand,
  'pgDockerBackup.copyPath': copyPathCommand,
  'pgDockerBackup.openBackupFolder': openBackupFolderCommand,
  'pgDockerBackup.showContainerLogs': showContainerLogsCommand,
  'pgDockerBackup.setPassword': setPasswordCommand,
  'pgDockerBackup.startDemo': startDemoCommand,
  'pgDockerBackup.setNotifyUrl': setNotifyUrlCommand,
  'pgDockerBackup.setEncryptionSecret': setEncryptionSecretCommand,
  'pgDockerBackup.pitrRecover': pitrRecoverCommand,
  'pgDockerBackup.pitrEnable': pitrEnableCommand,
  'pgDockerBackup.pitrBaseBackup': pitrBaseBackupCommand,
  'pgDockerBackup.pitrPrune': pitrPruneCommand,
  'pgDockerBackup.pitrMark': pitrMarkCommand,
  'pgDockerBackup.uploadToRemote': uploadToRemoteCommand,
  'pgDockerBackup.downloadRemoteBackup': downloadRemoteBackupCommand,
  'pgDockerBackup.restoreFromRemote': restoreFromRemoteCommand,
  'pgDockerBackup.deleteRemoteBackup': deleteRemoteBackupCommand,
  'pgDockerBackup.pruneRemote': pruneRemoteCommand,
  'pgDockerBackup.setRemoteCredentials': setRemoteCredentialsCommand,
  // Refresh in the Remote Backups title bar, Retry on a remote's error row: list one remote, or all, again
  'pgDockerBackup.refreshRemotes': async ({ remotes }, node) => remotes.invalidate(remoteOfNode(node)),
  'pgDockerBackup.refresh': async ({ model }) => model.refresh(),
  'pgDockerBackup.showLog': async ({ services }) => services.channel.show(),
  'pgDockerBackup.openSettings': async () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:pg-docker-backup.pg-docker-backup'),
};

export function registerCommands(ctx: CommandContext): void {
  for (const [id, handler] of Object.entries(COMMANDS)) {
    ctx.extension.subscriptions.push(vscode.commands.registerCommand(id, (node?: Node, nodes?: Node[]) => handler(ctx, node, Array.isArray(nodes) ? nodes : undefined)));
  }
}
