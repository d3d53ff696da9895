import { promises as fs } from 'node:fs';
import { PgBackupError, errorMessage } from '../errors';
import { loadAge } from './ageModule';
import type { KeyMaterial } from './stage';

/**
 * age keys: recipients (public, `age1…`, X25519 only), identities (secret, `AGE-SECRET-KEY-1…`, from a
 * file) and passphrases. No function here puts a secret into an error message or a log.
 */

/** Where the CLI takes secrets from (never argv). */
export const IDENTITY_ENV = 'PG_DOCKER_BACKUP_AGE_IDENTITY';
export const PASSPHRASE_ENV = 'PG_DOCKER_BACKUP_PASSPHRASE';

/** KeyMaterial that also says where it came from, for messages ("none of the identities in …"). */
export interface AgeKeyMaterial extends KeyMaterial {
  /** e.g. `PG_DOCKER_BACKUP_AGE_IDENTITY (/home/me/key.txt)`; never the key itself. */
  identitySource?: string;
}

/** `age1qyqszqgp…x7kq`: enough of a public key to recognise it in a message. */
export function shortRecipient(recipient: string): string {
  return recipient.length > 20 ? `${recipient.slice(0, 12)}…${recipient.slice(-4)}` : recipient;
}

function unsupportedRecipient(text: string): string | undefined {
  if (/^age1(pq|tagpq|tag)1/i.test(text)) {
    return 'is a post-quantum or tag key, which the age 1.1 CLI (Debian 12) cannot decrypt; use an X25519 key (age1…, from `pg-docker-backup keygen` or `age-keygen`)';
  }
  if (/^(ssh-|ecdsa-sha2-|sk-ssh-)/.test(text)) return 'is an SSH key; pg-docker-backup encrypts to age X25519 keys (age1…) only';
  if (/^age1[a-z0-9]+1/i.test(text)) {
    return 'is a key for an age plugin, which pg-docker-backup cannot use';
  }
  return undefined;
}

/** Checks one recipient (`age1…`, X25519); returns it trimmed, or throws a usage error naming `source`. */
export async function parseRecipient(text: string, source = 'the recipient'): Promise<string> {
  const r = text.trim();
  const unsupported = unsupportedRecipient(r);
  if (unsupported) throw new PgBackupError('usage', `${source} ${shortRecipient(r)} ${unsupported}.`);
  if (/SECRET/i.test(r)) {
    // never echoed: it is a secret
    throw new PgBackupError('usage', `${source} is a secret key, not a public one; give its public key (age1…), which \`age-keygen -y FILE\` prints.`);
  }
  if (!r.startsWith('age1')) {
    // not echoed either: it may be something pasted by mistake
    throw new PgBackupError('usage', `${source} is not an age public key (they start with age1).`);
  }
  const { Encrypter } = await loadAge();
  try {
    new Encrypter().addRecipient(r);
  } catch {
    throw new PgBackupError('usage', `${source} ${shortRecipient(r)} is not a valid age public key (mistyped or cut off?).`);
  }
  return r;
}

/** Several recipients, checked, duplicates dropped, order kept. */
export async function parseRecipients(texts: readonly string[], source = 'the recipient'): Promise<string[]> {
  const out: string[] = [];
  for (const t of texts) {
    const r = await parseRecipient(t, source);
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** A recipients file as age reads one: one key a line, `#` comments and blank lines ignored. */
export async function parseRecipientsFile(content: string, source: string): Promise<string[]> {
  const texts = content
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((t) => t && !t.startsWith('#'));
  if (!texts.length) throw new PgBackupError('usage', `${source} has no recipients (one age1… key a line).`);
  const out: string[] = [];
  for (const [i, t] of texts.entries()) out.push(await parseRecipient(t, `${source}: recipient ${i + 1}`));
  return [...new Set(out)];
}

export async function readRecipientsFile(path: string): Promise<string[]> {
  return parseRecipientsFile(await readText(path, 'recipients file'), `the recipients file ${path}`);
}

/** The identities in an age identity file (age-keygen's format); other lines say what they are. */
export async function parseIdentities(content: string, source: string): Promise<string[]> {
  if (content.startsWith('age-encryption.org/') || content.startsWith('-----BEGIN AGE ENCRYPTED FILE')) {
    throw new PgBackupError('usage', `${source} is itself encrypted with age; decrypt it first (age -d) or use a plain identity file.`);
  }
  if (content.includes('PRIVATE KEY-----')) {
    throw new PgBackupError('usage', `${source} is an SSH or PEM private key; pg-docker-backup reads age identities (AGE-SECRET-KEY-1…) only.`);
  }
  const { Decrypter } = await loadAge();
  const out: string[] = [];
  for (const [i, line] of content.split(/\r?\n/).entries()) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    if (t.startsWith('AGE-PLUGIN-')) throw new PgBackupError('usage', `${source}, line ${i + 1}: age plugin identities are not supported.`);
    try {
      if (!t.startsWith('AGE-SECRET-KEY-')) throw new Error('not an identity');
      new Decrypter().addIdentity(t);
    } catch {
      throw new PgBackupError('usage', `${source}, line ${i + 1} is not an age identity (AGE-SECRET-KEY-1…).`);
    }
    out.push(t);
  }
  if (!out.length) throw new PgBackupError('usage', `${source} has no age identity (AGE-SECRET-KEY-1…).`);
  return out;
}

/**
 * Reads an identity file; `warn` hears (once) when other users may read it: the key is a secret.
 */
export async function readIdentityFile(path: string, warn?: (message: string) => void): Promise<string[]> {
  const content = await readText(path, 'identity file');
  if (process.platform !== 'win32') {
    const { mode } = await fs.stat(path);
    if (mode & 0o077) warn?.(`The identity file ${path} can be read by other users; restrict it: chmod 600 ${path}`);
  }
  return parseIdentities(content, `the identity file ${path}`);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : errorMessage(e);
    throw new PgBackupError('usage', `The ${what} ${path} ${why}.`, { cause: e });
  }
}

/**
 * The key material for reading encrypted backups: identities from `identityFile` (a --identity option)
 * or PG_DOCKER_BACKUP_AGE_IDENTITY, the passphrase from `passphrase` (asked by a front end) or
 * PG_DOCKER_BACKUP_PASSPHRASE. Empty when neither is set.
 */
export async function loadKeyMaterial(
  env: NodeJS.ProcessEnv,
  options: { identityFile?: string; passphrase?: string; warn?: (message: string) => void } = {},
): Promise<AgeKeyMaterial> {
  const keys: AgeKeyMaterial = {};
  const file = options.identityFile ?? env[IDENTITY_ENV];
  if (file) {
    keys.identities = await readIdentityFile(file, options.warn);
    keys.identitySource = options.identityFile ? `the identity file ${file}` : `${IDENTITY_ENV} (${file})`;
  }
  const passphrase = options.passphrase ?? env[PASSPHRASE_ENV];
  if (passphrase) keys.passphrase = passphrase;
  return keys;
}

/** The public key (`age1…`) of an identity. */
export async function identityToRecipient(identity: string): Promise<string> {
  const age = await loadAge();
  try {
    return await age.identityToRecipient(identity);
  } catch {
    throw new PgBackupError('usage', 'That is not an age identity (AGE-SECRET-KEY-1…).');
  }
}

/** A new X25519 identity (not post-quantum: the age 1.1 CLI cannot read those) and its public key. */
export async function generateIdentity(): Promise<{ identity: string; recipient: string }> {
  const age = await loadAge();
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

/** An identity file in age-keygen's format. */
export function formatIdentityFile(key: { identity: string; recipient: string }, created = new Date()): string {
  const stamp = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `# created: ${stamp}\n# public key: ${key.recipient}\n${key.identity}\n`;
}
