import * as vscode from 'vscode';
import { previewTerminate, terminateConnections } from '../../core/terminate';
import { confirmModal, confirmTyped, pickContainer, pickDatabase, showError } from '../ui';
import type { CommandHandler } from './context';

export const terminateConnectionsCommand: CommandHandler = async ({ services, model }, node) => {
  let container = node?.kind === 'container' || node?.kind === 'database' ? node.container : undefined;
  container ??= await pickContainer(model, 'End the sessions of a database in which container?');
  if (!container) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(container, `End the sessions of which database of ${container.name}?`);
  if (!database) return;
  try {
    const preview = await previewTerminate(services.docker, { container: container.name, database, logger: services.logger, discovery: services.discovery() });
    if (preview.count === 0) {
      void vscode.window.showInformationMessage(`No other session is connected to "${database}" in ${container.name}.`);
      return;
    }
    const who = preview.applications.length ? ` (${preview.applications.join(', ')})` : '';
    const n = `${preview.count} session${preview.count === 1 ? '' : 's'}`;
    if (!(await confirmModal(`Terminate ${n} of "${database}" in ${container.name}?`, `${n}${who} will end; their open transactions roll back.`, 'Terminate'))) return;
    if (container.protected && !(await confirmTyped(container.name, database, 'terminate its sessions'))) return;
    const r = await terminateConnections(services.docker, { container: container.name, database, logger: services.logger, discovery: services.discovery() });
    await model.refresh();
    void vscode.window.showInformationMessage(`Terminated ${r.terminated} session${r.terminated === 1 ? '' : 's'} of "${database}".`);
  } catch (e) {
    await showError(services, e, container.name);
  }
};
