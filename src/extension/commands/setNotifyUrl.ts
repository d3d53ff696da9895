import * as vscode from 'vscode';
import { notifyUrlProblem, redactUrl } from '../../core/notify';
import { NOTIFY_URL_KEY } from '../schedules';
import type { CommandHandler } from './context';

/**
 * Sets the URL that scheduled backups POST their result to (e.g. a Healthchecks ping URL). It carries a
 * token, so it lives in SecretStorage, never in settings; an empty answer removes it.
 */
export const setNotifyUrlCommand: CommandHandler = async ({ extension, services }) => {
  const had = !!(await extension.secrets.get(NOTIFY_URL_KEY));
  const url = await vscode.window.showInputBox({
    title: 'Notify URL for scheduled backups',
    prompt: `An http(s) URL that gets a POST of each scheduled run's result (Healthchecks URLs get /fail on failure). Kept in VS Code's secret storage.${had ? ' Leave empty to remove the current one.' : ''}`,
    placeHolder: 'https://hc-ping.com/<uuid>',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? undefined : notifyUrlProblem(v.trim())),
  });
  if (url === undefined) return;
  if (url.trim() === '') {
    await extension.secrets.delete(NOTIFY_URL_KEY);
    services.logger.info('schedules: the notify URL was removed');
    void vscode.window.showInformationMessage('Scheduled backups no longer notify anyone.');
    return;
  }
  await extension.secrets.store(NOTIFY_URL_KEY, url.trim());
  services.logger.info(`schedules: notify URL set (${redactUrl(url.trim())})`);
  void vscode.window.showInformationMessage(`Scheduled backups now notify ${redactUrl(url.trim())}.`);
};
