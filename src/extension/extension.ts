import * as vscode from 'vscode';
import { registerCommands } from './commands/registerCommands';
import { outputChannelLogger } from './logger';
import { BackupModel } from './model';
import { Services } from './services';
import { registerTree } from './tree/registerTree';

/** Thin: create the services, register the tree and the commands. Nothing talks to Docker here. */
export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel('Postgres Backup', { log: true });
  let services: Services | undefined;
  const logger = outputChannelLogger(channel, () => services?.secrets() ?? []);
  services = new Services(context, channel, logger);
  const model = new BackupModel(services);
  context.subscriptions.push(channel, services, model);
  registerTree(context, services, model);
  registerCommands({ extension: context, services, model });
}

export function deactivate(): void {}
