import * as vscode from 'vscode';
import type { BackupModel } from '../model';
import type { RemoteModel } from '../remoteModel';
import type { ScheduleService } from '../schedules';
import type { Services } from '../services';
import { BackupFolderTree } from './backupFolderTree';
import { ContainersTree } from './containersTree';
import type { Node } from './nodes';
import { RefreshManager } from './refreshManager';
import { RemoteBackupsTree } from './remoteBackupsTree';

export interface Trees {
  containers: vscode.TreeView<Node>;
  folder: vscode.TreeView<Node>;
  containersProvider: ContainersTree;
  folderProvider: BackupFolderTree;
  remote: vscode.TreeView<Node>;
  remoteProvider: RemoteBackupsTree;
  refresh: RefreshManager;
}

export function registerTree(context: vscode.ExtensionContext, services: Services, model: BackupModel, remotes: RemoteModel, schedules?: ScheduleService): Trees {
  const containersProvider = new ContainersTree(model, services, schedules);
  const folderProvider = new BackupFolderTree(model);
  const containers = vscode.window.createTreeView('pgDockerBackup.containers', { treeDataProvider: containersProvider, canSelectMany: true, showCollapseAll: true });
  const folder = vscode.window.createTreeView('pgDockerBackup.backupFolder', { treeDataProvider: folderProvider, canSelectMany: true, showCollapseAll: true });
  // the remote view lists nothing until a remote is expanded, and is not refreshed by Docker events
  const remoteProvider = new RemoteBackupsTree(remotes);
  const remote = vscode.window.createTreeView('pgDockerBackup.remotes', { treeDataProvider: remoteProvider, canSelectMany: true, showCollapseAll: true });
  const refresh = new RefreshManager(model, services, [containers as vscode.TreeView<unknown>, folder as vscode.TreeView<unknown>]);
  const updateMessages = () => {
    // No containers.message for dockerUnreachable / noContainers: VS Code hides a view's welcome
    // content (the explanation and its Retry / Open Settings / Start Demo Database buttons) while a
    // message is set. The precise reason is in the log (model.load warns it).
    containers.message = undefined;
    folder.description = model.backupDir;
  };
  context.subscriptions.push(containersProvider, folderProvider, containers, folder, refresh, model.onDidChange(updateMessages), remoteProvider, remote);
  return { containers, folder, containersProvider, folderProvider, remote, remoteProvider, refresh };
}
