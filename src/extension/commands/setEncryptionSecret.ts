import * as vscode from 'vscode';
import { parseIdentities } from '../../core/pipeline/keys';
import { errorMessage } from '../../core/errors';
import { IDENTITY_SECRET, PASSPHRASE_SECRET } from '../encryptionKeys';
import type { CommandHandler } from './context';

/**
 * Set Encryption Passphrase or Identity…: keeps an age identity (AGE-SECRET-KEY-1…, pasted or read from a
 * file) or a passphrase in SecretStorage, for restoring encrypted backups. Never in settings or logs.
 */
export const setEncryptionSecretCommand: CommandHandler = async ({ extension }) => {
  const secrets = extension.secrets;
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'Identity from a File…', description: 'an age identity file (age-keygen, pg-docker-backup keygen)', id: 'file' },
      { label: 'Paste an Identity', description: 'AGE-SECRET-KEY-1…', id: 'paste' },
      { label: 'Passphrase', description: 'for backups encrypted with a passphrase (age -p)', id: 'passphrase' },
      { label: 'Forget Both', description: 'remove the stored identity and passphrase', id: 'forget' },
    ],
    { title: 'Set Encryption Passphrase or Identity', placeHolder: 'Kept in VS Code SecretStorage, used to restore encrypted backups' },
  );
  if (!choice) return;
  try {
    if (choice.id === 'forget') {
      await Promise.all([secrets.delete(IDENTITY_SECRET), secrets.delete(PASSPHRASE_SECRET)]);
      void vscode.window.showInformationMessage('The stored age identity and passphrase were removed.');
      return;
    }
    if (choice.id === 'passphrase') {
      const p = await vscode.window.showInputBox({ title: 'Encryption Passphrase', prompt: 'Kept in SecretStorage.', password: true, ignoreFocusOut: true });
      if (!p) return;
      await secrets.store(PASSPHRASE_SECRET, p);
      void vscode.window.showInformationMessage('Passphrase stored in SecretStorage.');
      return;
    }
    let text: string | undefined;
    if (choice.id === 'file') {
      const uri = (await vscode.window.showOpenDialog({ title: 'age Identity File', canSelectMany: false, openLabel: 'Use This Identity' }))?.[0];
      if (!uri) return;
      text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    } else {
      text = await vscode.window.showInputBox({ title: 'age Identity', prompt: 'AGE-SECRET-KEY-1… (kept in SecretStorage)', password: true, ignoreFocusOut: true });
    }
    if (!text) return;
    const identities = await parseIdentities(text, 'That identity');
    await secrets.store(IDENTITY_SECRET, identities.join('\n'));
    void vscode.window.showInformationMessage(`age identity stored in SecretStorage (${identities.length} key${identities.length > 1 ? 's' : ''}).`);
  } catch (e) {
    void vscode.window.showErrorMessage(errorMessage(e));
  }
};
