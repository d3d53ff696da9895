import type { HostStage } from '../core/backup/backupDatabase';
import { PgBackupError } from '../core/errors';
import { ageEncoder, checkEncryptOptions } from '../core/pipeline/age';
import { loadKeyMaterial, parseRecipients, readRecipientsFile, type AgeKeyMaterial } from '../core/pipeline/keys';
import type { CliContext } from './io';
import { readPassphrase } from './passphrase';

/** The options every command that writes or reads encrypted backups shares. */
export const encryptionOptions = {
  recipient: { type: 'string', short: 'r', multiple: true },
  'recipients-file': { type: 'string', short: 'R' },
  passphrase: { type: 'boolean' },
} as const;

export const keyOptions = {
  identity: { type: 'string', short: 'i' },
  passphrase: { type: 'boolean' },
} as const;

/**
 * The age stage for `backup --recipient … / --recipients-file F / --passphrase`, or none. Recipients are
 * public keys (the machine taking backups needs no secret); a passphrase comes from
 * PG_DOCKER_BACKUP_PASSPHRASE or the terminal, never argv.
 */
export async function encryptionStages(ctx: CliContext, values: { recipient?: string[]; 'recipients-file'?: string; passphrase?: boolean }): Promise<HostStage[]> {
  const recipients = [...(await parseRecipients(values.recipient ?? [], '--recipient')), ...(values['recipients-file'] ? await readRecipientsFile(values['recipients-file']) : [])];
  if (values.passphrase && recipients.length) {
    throw new PgBackupError('usage', 'age encrypts to recipients or to one passphrase, not both: drop --passphrase or the recipients.');
  }
  if (values.passphrase) {
    const passphrase = await readPassphrase(ctx, { confirm: true });
    checkEncryptOptions({ passphrase });
    return [{ record: { kind: 'encrypt', algorithm: 'age', where: 'host', passphrase: true }, transform: () => ageEncoder({ passphrase }) }];
  }
  if (!recipients.length) return [];
  checkEncryptOptions({ recipients });
  return [{ record: { kind: 'encrypt', algorithm: 'age', where: 'host', recipients }, transform: () => ageEncoder({ recipients }) }];
}

/** The keys for reading encrypted backups: --identity FILE or PG_DOCKER_BACKUP_AGE_IDENTITY, the passphrase when asked for. */
export async function readKeys(ctx: CliContext, values: { identity?: string; passphrase?: boolean }): Promise<AgeKeyMaterial> {
  const passphrase = values.passphrase ? await readPassphrase(ctx, { confirm: false }) : undefined;
  return loadKeyMaterial(ctx.env, { identityFile: values.identity, passphrase, warn: (m) => ctx.logger.warn(m) });
}
