import * as vscode from 'vscode';
import { startDemoStack } from '../../core/demo';
import { pickContainer, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';

const logChannels = new Map<string, vscode.OutputChannel>();

export const showContainerLogsCommand: CommandHandler = async ({ extension, services, model }, node) => {
  const container = node?.kind === 'container' || node?.kind === 'database' ? node.container : await pickContainer(model, 'Show the logs of which container?', false);
  if (!container) return;
  try {
    const stream = await services.docker.logs(container.id, { tail: 1000 });
    let channel = logChannels.get(container.name);
    if (!channel) {
      channel = vscode.window.createOutputChannel(`Container Logs: ${container.name}`);
      logChannels.set(container.name, channel);
      extension.subscriptions.push(channel);
    }
    channel.clear();
    channel.show(true);
    for await (const chunk of stream) channel.append(chunk.toString('utf8'));
  } catch (e) {
    await showError(services, e, container.name);
  }
};

export const setPasswordCommand: CommandHandler = async ({ services, model }, node) => {
  const name = node?.kind === 'container' ? node.container.name : (await pickContainer(model, 'Set the database password for which container?', false))?.name;
  if (!name) return;
  const password = await vscode.window.showInputBox({
    title: `Password for ${name}`,
    prompt: 'Kept in VS Code SecretStorage and used instead of the container’s POSTGRES_PASSWORD. Leave empty to forget it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) return;
  await services.setPassword(name, password || undefined);
  await model.refresh();
};

export const startDemoCommand: CommandHandler = async ({ extension, services, model }) => {
  try {
    const r = await runWithProgress('Starting the demo database', async (_signal, onProgress) =>
      startDemoStack(services.docker, {
        image: services.settings.demoImage,
        chinookGz: extension.asAbsolutePath('resources/chinook_postgresql.sql.gz'),
        logger: services.logger,
        onStep: (message) => onProgress({ phase: 'demo', message, elapsedMs: 0 }),
      }),
    );
    await model.refresh();
    void vscode.window.showInformationMessage(`Demo ready: ${r.database} holds the Chinook sample as database "chinook"; ${r.app} is its app.`);
  } catch (e) {
    await model.refresh();
    await showError(services, e);
  }
};
