import * as vscode from 'vscode';
import type { RowCountSource } from '../../core/restore/checkData';
import type { DockerClient } from '../../core/docker/client';
import { errorMessage } from '../../core/errors';
import { CHECK_TITLES } from '../../core/restore/checkTypes';
import { runChecks, type CheckReport } from '../../core/restore/checks';
import type { Services } from '../services';
import { pickContainer, pickDatabase, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';

let logsChannel: vscode.OutputChannel | undefined;
let following: AbortController | undefined;

/** Follows `docker logs` of the database and its apps in one output channel, each line prefixed with its container. */
async function followLogs(services: Services, containers: readonly string[]): Promise<void> {
  logsChannel ??= vscode.window.createOutputChannel('Postgres Backup: Container Logs');
  services.context.subscriptions.push(logsChannel);
  following?.abort();
  const stop = (following = new AbortController());
  services.context.subscriptions.push({ dispose: () => stop.abort() });
  const channel = logsChannel;
  channel.clear();
  channel.show(true);
  await Promise.all(
    containers.map(async (name) => {
      try {
        const stream = await services.docker.logs(name, { tail: 200, follow: true, signal: stop.signal });
        let rest = '';
        for await (const chunk of stream) {
          const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) channel.appendLine(`[${name}] ${l}`);
        }
      } catch (e) {
        if (!stop.signal.aborted) channel.appendLine(`[${name}] (no logs: ${errorMessage(e)})`);
      }
    }),
  );
}

/** The checklist in the log channel: one section, one line per check. */
function logReport(services: Services, report: CheckReport, what: string): void {
  const mark = { passed: '✓', failed: '✗', notChecked: '–' } as const;
  services.logger.info(
    [`${what}: ${report.summary} (${report.container}/${report.database})`, ...report.results.map((r) => `  ${mark[r.status]} ${CHECK_TITLES[r.check]} · ${r.subject}: ${r.detail}`)].join('\n'),
  );
}

export async function checksWithProgress(services: Services, docker: DockerClient, container: string, database: string, backupPath?: string, manifest?: RowCountSource): Promise<CheckReport | undefined> {
  try {
    return await runWithProgress(`Checking ${database} in ${container}`, (signal, onProgress) =>
      runChecks(docker, {
        container,
        database,
        backupPath,
        manifest,
        healthChecks: services.settings.healthChecks,
        timeoutMs: services.settings.checkTimeoutSeconds * 1000,
        signal,
        onProgress,
        logger: services.logger,
        discovery: services.discovery(signal),
      }),
    );
  } catch (e) {
    services.logger.error(`the checks of ${container}/${database} could not run: ${errorMessage(e)}`);
    return undefined;
  }
}

/**
 * After a restore, undo or reset (already done; a failed check undoes nothing): the operation's message with
 * the checks' summary, and buttons Undo (when there is a way back) and Show Logs.
 */
export async function notifyWithChecks(services: Services, message: string, target: { container: string; database: string; backupPath?: string; manifest?: RowCountSource }, undo?: { label: string; run: () => Thenable<unknown> }): Promise<void> {
  const report = await checksWithProgress(services, services.docker, target.container, target.database, target.backupPath, target.manifest);
  if (report) logReport(services, report, message);
  const text = `${message} ${report ? `${report.summary}.` : 'The checks could not run (see the log).'}`;
  const buttons = [...(undo ? [undo.label] : []), 'Show Logs'];
  const failed = !report || report.failed > 0;
  const choice = await (failed ? vscode.window.showWarningMessage(text, ...buttons) : vscode.window.showInformationMessage(text, ...buttons));
  if (choice === 'Show Logs') {
    services.channel.show(true);
    const apps = report ? [...new Set(report.results.filter((r) => r.check === 'app').map((r) => r.subject))] : [];
    void followLogs(services, [target.container, ...apps.filter((a) => a !== target.container)]);
  } else if (undo && choice === undo.label) await undo.run();
}

export const runChecksCommand: CommandHandler = async ({ services, model }, node) => {
  const container = node?.kind === 'database' || node?.kind === 'container' ? node.container : await pickContainer(model, 'Run the checks on which container?');
  if (!container) return;
  const database = node?.kind === 'database' ? node.database.name : await pickDatabase(container, `Check which database of ${container.name}?`);
  if (!database) return;
  try {
    await notifyWithChecks(services, `Checked "${database}" in ${container.name}:`, { container: container.name, database });
  } catch (e) {
    await showError(services, e, container.name);
  }
};
