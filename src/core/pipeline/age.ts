import type { Transform } from 'node:stream';
import { PgBackupError, errorMessage } from '../errors';
import { loadAge } from './ageModule';
import { damagedError, subjectOf, type DecodeContext } from './damaged';
import { IDENTITY_ENV, PASSPHRASE_ENV, shortRecipient, type AgeKeyMaterial } from './keys';
import { registerLayer, type KeyMaterial, type Layer, type StageRecord } from './stage';
import { webTransform } from './webBridge';

const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');
/** age's default (and its CLI's): 2^18 iterations, about 256 MiB and a second or two, once per file. */
export const SCRYPT_WORK_FACTOR = 18;

export function isAge(head: Buffer): boolean {
  return head.length >= AGE_MAGIC.length && head.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC);
}

export interface AgeEncryptOptions {
  /** X25519 public keys (`age1…`), already checked with parseRecipients. */
  recipients?: readonly string[];
  /** Or one passphrase (age's scrypt recipient, which allows no other recipient in the same file). */
  passphrase?: string;
  /** log2 of scrypt's N for a passphrase; default SCRYPT_WORK_FACTOR. */
  scryptWorkFactor?: number;
}

/** Checks what an age encoder is given; throws a usage error (before anything runs). */
export function checkEncryptOptions(options: AgeEncryptOptions): void {
  const n = options.recipients?.length ?? 0;
  if (n && options.passphrase !== undefined) {
    throw new PgBackupError('usage', 'age encrypts a file to recipients or to one passphrase, not both: choose one.');
  }
  if (!n && options.passphrase === undefined) {
    throw new PgBackupError('usage', 'Encryption needs at least one recipient (age1…) or a passphrase.');
  }
  if (options.passphrase !== undefined && options.passphrase.length === 0) {
    throw new PgBackupError('usage', `Encrypting to a passphrase needs one (${PASSPHRASE_ENV}, or --passphrase to be asked); it is empty.`);
  }
}

/** Encrypts to an age file (binary, age-encryption.org/v1), streaming in age's 64 KiB chunks. */
export function ageEncoder(options: AgeEncryptOptions): Transform {
  checkEncryptOptions(options);
  return webTransform(
    async (input) => {
      const { Encrypter } = await loadAge();
      const e = new Encrypter();
      if (options.passphrase !== undefined) {
        e.setScryptWorkFactor(options.scryptWorkFactor ?? SCRYPT_WORK_FACTOR);
        e.setPassphrase(options.passphrase);
      } else {
        for (const r of options.recipients ?? []) e.addRecipient(r);
      }
      return e.encrypt(input);
    },
    (e) => (e instanceof PgBackupError ? e : new PgBackupError('failed', `Encrypting with age failed: ${errorMessage(e)}.`, { cause: e })),
  );
}

/** What the manifest says about an age layer, for messages when the key does not fit. */
export interface AgeDecodeContext extends DecodeContext {
  recipients?: readonly string[];
  passphrase?: boolean;
}

function forWhom(context: AgeDecodeContext | undefined): string {
  const r = context?.recipients;
  if (context?.passphrase) return 'with age to a passphrase';
  if (!r?.length) return 'with age';
  return `with age for ${r.map(shortRecipient).join(', ')}`;
}

function identityHint(keys: AgeKeyMaterial): string {
  return keys.identitySource ?? `the identity file given (--identity FILE or ${IDENTITY_ENV})`;
}

/** The error for a file no key at hand opens: says what it is encrypted to and where the keys came from. */
function noKeyError(keys: AgeKeyMaterial, types: readonly string[], context: AgeDecodeContext | undefined): PgBackupError {
  const subject = subjectOf(context);
  const passphraseFile = types.includes('scrypt');
  const keyFile = types.includes('X25519');
  const giveIdentity = `give a matching identity file (--identity FILE or ${IDENTITY_ENV})`;
  let message: string;
  if (passphraseFile) {
    message = keys.passphrase
      ? `${subject} is encrypted with age to a passphrase, and the passphrase given does not open it.`
      : `${subject} is encrypted with age to a passphrase, not to a key; give the passphrase (${PASSPHRASE_ENV}, or --passphrase to be asked).`;
  } else if (keyFile) {
    const what = context?.recipients?.length ? forWhom(context) : `with age for ${types.filter((t) => t === 'X25519').length} key(s)`;
    message = keys.identities?.length
      ? `${subject} is encrypted ${what}; none of the identities in ${identityHint(keys)} matches.`
      : `${subject} is encrypted ${what}, not to a passphrase; ${giveIdentity}.`;
  } else {
    const kinds = [...new Set(types)].join(', ') || 'none';
    message = `${subject} is encrypted with age to recipient types pg-docker-backup cannot use (${kinds}); decrypt it with the age CLI.`;
  }
  return new PgBackupError('refused', message);
}

/**
 * Decrypts an age file. Throws at once when `keys` has neither identity nor passphrase; a key that does
 * not fit fails when the header is read, before any byte goes downstream. Every 64 KiB chunk is
 * authenticated before it is passed on, so a changed or cut-off file fails (at the damaged chunk) and
 * never ends silently short.
 */
export function ageDecoder(keys: AgeKeyMaterial, context?: AgeDecodeContext): Transform {
  if (!keys.identities?.length && !keys.passphrase) {
    const hint = context?.passphrase
      ? `give the passphrase (${PASSPHRASE_ENV}, or --passphrase to be asked)`
      : context?.recipients?.length
        ? `give a matching identity file (--identity FILE or ${IDENTITY_ENV})`
        : `give the identity file (--identity FILE or ${IDENTITY_ENV}) or the passphrase (${PASSPHRASE_ENV})`;
    throw new PgBackupError('refused', `${subjectOf(context)} is encrypted ${forWhom(context)}; ${hint}.`);
  }
  let stanzaTypes: string[] = [];
  let headerRead = false;
  return webTransform(
    async (input) => {
      const { Decrypter } = await loadAge();
      const d = new Decrypter();
      // sees the header's stanza types first (and matches nothing), for the message when no key fits
      d.addIdentity({
        unwrapFileKey: (stanzas: ReadonlyArray<{ args: string[] }>) => {
          stanzaTypes = stanzas.map((s) => s.args[0] ?? '');
          return null;
        },
      });
      for (const identity of keys.identities ?? []) d.addIdentity(identity);
      if (keys.passphrase) d.addPassphrase(keys.passphrase);
      const out = await d.decrypt(input);
      headerRead = true;
      return out;
    },
    (e) => {
      if (e instanceof PgBackupError) return e;
      const m = errorMessage(e);
      if (!headerRead) {
        if (m.includes('no identity matched')) return noKeyError(keys, stanzaTypes, context);
        if (m.includes('HMAC')) return damagedError(context, 'age', 'has a header that was changed (its MAC does not match)', e);
        if (m.includes('scrypt work factor')) return damagedError(context, 'age', 'asks for a scrypt work factor above 2^20, which is refused', e);
        return damagedError(context, 'age', 'does not start with a valid age header (cut off or not an age file)', e);
      }
      return damagedError(context, 'age', 'fails authentication: it was changed or is cut off; nothing after the last intact 64 KiB chunk was used', e);
    },
  );
}

export const ageLayer: Layer = {
  algorithm: 'age',
  kind: 'encrypt',
  extension: '.age',
  sniff: isAge,
  // The record (when the caller passes it) names the recipients in messages; the Layer interface has
  // only `keys` today, and the extra parameter is optional.
  decoder: (keys: KeyMaterial, record?: StageRecord) =>
    ageDecoder(keys, record && { recipients: record.recipients, passphrase: record.passphrase }),
  encoder: (record: StageRecord, keys?: KeyMaterial) =>
    ageEncoder(record.passphrase ? { passphrase: keys?.passphrase ?? '' } : { recipients: record.recipients ?? [] }),
};

registerLayer(ageLayer);
