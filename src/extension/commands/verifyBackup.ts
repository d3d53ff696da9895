import * as vscode from 'vscode';
import { verifyBackups, type VerifyResult } from '../../core/verify';
import type { BackupEntry } from '../../core/store/backupStore';
import type { Services } from '../services';
import type { BackupModel } from '../model';
import { pickBackup, runWithProgress, showError } from '../ui';
import type { CommandHandler } from './context';

function selectedBackups(node: Parameters<CommandHandler>[1], nodes: Parameters<CommandHandler>[2]): BackupEntry[] {
  const all = nodes && nodes.length ? nodes : node ? [node] : [];
  return all.flatMap((n) => (n.kind === 'backup' && n.backup.format !== 'unknown' ? [n.backup] : []));
}

/** One line for a set of results: "2 backups verified", "1 of 3 is damaged: …". */
export function verifySummary(results: readonly VerifyResult[], deep: boolean): string {
  const bad = results.filter((r) => r.status === 'bad');
  const unverified = results.filter((r) => r.status === 'error');
  const what = deep ? 'deep-verified (restored and row counts compared)' : 'verified';
  if (!bad.length && !unverified.length) return results.length === 1 ? `${results[0].fileName} ${what}: ${results[0].detail}` : `${results.length} backups ${what}.`;
  const parts = [
    ...bad.map((r) => `${r.fileName} is BAD: ${r.detail}`),
    ...unverified.map((r) => `${r.fileName} could not be verified: ${r.detail}`),
  ];
  return `${results.length - bad.length - unverified.length} of ${results.length} verified. ${parts.join(' ')}`;
}

async function verifyAndReport(services: Services, model: BackupModel, backups: BackupEntry[], deep: boolean): Promise<VerifyResult[] | undefined> {
  const title = `${deep ? 'Deep-verifying' : 'Verifying'} ${backups.length === 1 ? backups[0].fileName : `${backups.length} backups`}`;
  let results: VerifyResult[];
  try {
    results = await runWithProgress(title, (signal, onProgress) =>
      verifyBackups(services.docker, backups.map((b) => b.path), { deep, signal, onProgress, logger: services.logger, discovery: services.discovery(signal) }),
    );
  } catch (e) {
    await model.refresh();
    await showError(services, e);
    return undefined;
  }
  await model.refresh();
  for (const r of results) services.logger.info(`verify (${r.kind}) ${r.path}: ${r.status} — ${r.detail}`);
  const message = verifySummary(results, deep);
  const allOk = results.every((r) => r.status === 'ok');
  // Not awaited: the command returns its results while the message stays up.
  if (!allOk) {
    void vscode.window.showErrorMessage(message, 'Show Log').then((c) => c && services.channel.show(true));
  } else if (!deep) {
    void vscode.window.showInformationMessage(message, 'Deep Verify').then((c) => c && verifyAndReport(services, model, backups, true));
  } else {
    void vscode.window.showInformationMessage(message);
  }
  return results;
}

/** Verify Backup: quick checks of the selected backups (then, on request, a deep verify of the same). */
export const verifyBackupCommand: CommandHandler = async ({ services, model }, node, nodes) => {
  let backups = selectedBackups(node, nodes);
  if (backups.length === 0) {
    const b = await pickBackup(model, 'Verify which backup?');
    if (!b) return undefined;
    backups = [b];
  }
  return verifyAndReport(services, model, backups, false);
};
