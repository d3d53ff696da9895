import * as vscode from 'vscode';
import { isRemoteUrl } from '../../core/store/remote/remoteConfig';
import type { CommandHandler } from './context';
import { pickRemote, remoteOfNode } from './remotePicks';

const KEY_ID = /^[A-Za-z0-9+/=_.-]{3,128}$/;

/**
 * Set Remote Credentials…: an S3 remote's access key ID and secret key, kept in VS Code's SecretStorage
 * (never in settings or the log) and used instead of the SDK's default chain; or removes them again.
 * GCS remotes use Application Default Credentials or the remote's keyFile.
 */
export const setRemoteCredentialsCommand: CommandHandler = async ({ services, remotes }, node) => {
  const named = remoteOfNode(node);
  const remote = named ? remotes.find(named) : await pickRemote(remotes, 'Set the access keys of which S3 remote?', (r) => isRemoteUrl(r.url) && r.url.startsWith('s3:'));
  if (!remote) return;
  if (!remote.url.startsWith('s3:')) {
    void vscode.window.showInformationMessage(`"${remote.name}" is a Google Cloud Storage remote: it uses Application Default Credentials (gcloud auth application-default login) or the service-account key file named by its "keyFile" in pgDockerBackup.remotes.`);
    return;
  }
  const creds = services.remoteCredentials;
  if (await creds.has(remote.name)) {
    const replace = 'Enter New Keys';
    const remove = 'Remove Stored Keys';
    const choice = await vscode.window.showQuickPick([replace, remove], { placeHolder: `Keys for "${remote.name}" are stored. Remove them to use the AWS default chain (environment, profiles, SSO, instance roles).` });
    if (choice === remove) {
      await creds.clear(remote.name);
      remotes.invalidate(remote.name);
      void vscode.window.showInformationMessage(`The keys for "${remote.name}" were removed; it now uses the AWS default credential chain.`);
      return;
    }
    if (choice !== replace) return;
  }
  const accessKeyId = await vscode.window.showInputBox({
    title: `Access keys for ${remote.name} (1/2)`,
    prompt: `Access key ID for ${remote.url}${remote.endpoint ? ` at ${remote.endpoint}` : ''}`,
    ignoreFocusOut: true,
    validateInput: (v) => (KEY_ID.test(v.trim()) ? undefined : 'An access key ID: letters, digits and + / = _ . -'),
  });
  if (!accessKeyId) return;
  const secretAccessKey = await vscode.window.showInputBox({
    title: `Access keys for ${remote.name} (2/2)`,
    prompt: 'Secret access key (kept in VS Code SecretStorage)',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'The secret access key'),
  });
  if (!secretAccessKey) return;
  await creds.store(remote, { accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim() });
  services.logger.info(`stored access keys for remote ${remote.name} in SecretStorage`);
  remotes.invalidate(remote.name);
  void vscode.window.showInformationMessage(`The keys for "${remote.name}" are stored in VS Code's secret storage and used for this remote from now on.`);
};
