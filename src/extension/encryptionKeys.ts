import type * as vscode from 'vscode';
import type { HostStage } from '../core/backup/backupDatabase';
import { ageEncoder } from '../core/pipeline/age';
import { parseIdentities, parseRecipients } from '../core/pipeline/keys';
import type { KeyMaterial } from '../core/pipeline/stage';

/** Where the extension keeps the age identity or passphrase (SecretStorage, never settings). */
export const IDENTITY_SECRET = 'pgDockerBackup.encryption.identity';
export const PASSPHRASE_SECRET = 'pgDockerBackup.encryption.passphrase';

/** Whether a container name matches one of the patterns (`*` any run of characters, `?` one). */
export function matchesContainerPattern(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp(`^${p.split('').map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`).test(name));
}

/** The age stage for the recipients setting (public keys, checked), or none. */
export async function recipientStages(recipients: readonly string[]): Promise<HostStage[]> {
  if (!recipients.length) return [];
  const keys = await parseRecipients(recipients, 'The setting pgDockerBackup.encryption.recipients:');
  return [{ record: { kind: 'encrypt', algorithm: 'age', where: 'host', recipients: keys }, transform: () => ageEncoder({ recipients: keys }) }];
}

/** The identity and passphrase kept in SecretStorage, for reading encrypted backups. */
export async function storedKeys(secrets: vscode.SecretStorage): Promise<KeyMaterial> {
  const [identity, passphrase] = await Promise.all([secrets.get(IDENTITY_SECRET), secrets.get(PASSPHRASE_SECRET)]);
  const keys: KeyMaterial = {};
  if (identity) keys.identities = await parseIdentities(identity, 'The stored age identity');
  if (passphrase) keys.passphrase = passphrase;
  return keys;
}
