import * as vscode from 'vscode';
import { registerCommands } from './commands/registerCommands';
import { outputChannelLogger } from './logger';
import { BackupModel } from './model';
import { RemoteModel } from './remoteModel';
import { Services } from './services';
import { registerSchedules } from './schedules';
import { registerTree, type Trees } from './tree/registerTree';

/** What `activate` returns: used by the extension-host tests (and other extensions, read-only). */
export interface ExtensionApi {
  model: BackupModel;
  remotes: RemoteModel;
  trees: Trees;
}

/** Thin: create the services, register the tree and the commands. Nothing talks to Docker here. */
export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const channel = vscode.window.createOutputChannel('Postgres Backup', { log: true });
  let services: Services | undefined;
  const logger = outputChannelLogger(channel, () => services?.secrets() ?? []);
  services = new Services(context, channel, logger);
  const model = new BackupModel(services);
  const remotes = new RemoteModel(services);
  context.subscriptions.push(channel, services, model, remotes);
  const trees = registerTree(context, services, model, remotes, registerSchedules(context, services, model));
  registerCommands({ extension: context, services, model, remotes });
  return { model, remotes, trees };
}

export function deactivate(): void {}
