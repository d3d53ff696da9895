import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { loadAge } from './ageModule';

/**
 * age headers with age-encryption (stanzas, HMAC, parsing), plus a scrypt recipient and identity on
 * Node's native scrypt: the same stanza as age's, derived off the event loop and much faster than the
 * pure-JS one (seconds at work factor 18).
 */
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
/** The highest work factor a file may ask of us (2^20: 1 GiB of memory), as age-encryption. */
export const MAX_SCRYPT_WORK_FACTOR = 20;

type Stanza = { args: string[]; body: Uint8Array };

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64').replace(/=+$/, '');

function deriveScryptKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(passphrase, Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + (1 << 20) }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );
}

function wrapKey(key: Buffer, fileKey: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  return Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
}

function unwrapKey(key: Buffer, body: Uint8Array): Uint8Array | null {
  if (body.length !== 32) throw new Error('invalid scrypt stanza');
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  d.setAuthTag(body.subarray(16));
  const fileKey = d.update(body.subarray(0, 16));
  try {
    d.final();
  } catch {
    return null;
  }
  return fileKey;
}

/** A header for `recipients` (checked age1… keys) or one passphrase, and the file key it wraps. */
export async function makeHeader(to: { recipients?: readonly string[]; passphrase?: string; workFactor: number }): Promise<{ header: Buffer; fileKey: Uint8Array }> {
  const { Encrypter, Stanza } = await loadAge();
  const e = new Encrypter();
  let fileKey: Uint8Array | undefined;
  if (to.passphrase !== undefined) {
    const passphrase = to.passphrase;
    e.addRecipient({
      wrapFileKey: async (key) => {
        fileKey = key;
        const salt = randomBytes(16);
        const body = wrapKey(await deriveScryptKey(passphrase, salt, to.workFactor), key);
        return [new Stanza(['scrypt', b64(salt), String(to.workFactor)], body)];
      },
    });
  } else {
    for (const r of to.recipients ?? []) e.addRecipient(r);
    // sees the file key and adds no stanza
    e.addRecipient({ wrapFileKey: (key) => ((fileKey = key), []) });
  }
  // an empty file is header, nonce and one empty final chunk: the header is all up to the MAC line's end
  const file = Buffer.from(await e.encrypt(new Uint8Array(0)));
  const end = headerEnd(file);
  if (end === undefined || !fileKey || end !== file.length - 32) throw new Error('age-encryption made an unexpected header');
  return { header: file.subarray(0, end), fileKey };
}

/** Where the header ends in `head` (after the `--- MAC` line's newline), or undefined if not yet. */
export function headerEnd(head: Buffer): number | undefined {
  const mac = head.indexOf('\n--- ');
  if (mac < 0) return undefined;
  const nl = head.indexOf(0x0a, mac + 1);
  return nl < 0 ? undefined : nl + 1;
}

/** A passphrase identity on native scrypt (age's rules: the scrypt stanza must be the only one). */
export function scryptIdentity(passphrase: string) {
  return {
    unwrapFileKey: async (stanzas: readonly Stanza[]): Promise<Uint8Array | null> => {
      for (const s of stanzas) {
        if (s.args[0] !== 'scrypt') continue;
        if (stanzas.length !== 1) throw new Error('scrypt recipient is not the only one in the header');
        if (s.args.length !== 3 || !/^[1-9][0-9]*$/.test(s.args[2])) throw new Error('invalid scrypt stanza');
        const salt = Buffer.from(s.args[1], 'base64');
        if (salt.length !== 16) throw new Error('invalid scrypt stanza');
        const logN = Number(s.args[2]);
        if (logN > MAX_SCRYPT_WORK_FACTOR) throw new Error('scrypt work factor is too high');
        const fileKey = unwrapKey(await deriveScryptKey(passphrase, salt, logN), s.body);
        if (fileKey) return fileKey;
      }
      return null;
    },
  };
}

/**
 * The file key of a header, trying `identities` (AGE-SECRET-KEY-1…) and the passphrase; `seen` hears the
 * header's stanza types first (for the message when nothing matches). Throws age-encryption's errors.
 */
export async function openHeader(header: Buffer, keys: { identities?: readonly string[]; passphrase?: string }, seen: (types: string[]) => void): Promise<Uint8Array> {
  const { Decrypter } = await loadAge();
  const d = new Decrypter();
  d.addIdentity({
    unwrapFileKey: (stanzas: readonly Stanza[]) => {
      seen(stanzas.map((s) => s.args[0] ?? ''));
      return null;
    },
  });
  for (const identity of keys.identities ?? []) d.addIdentity(identity);
  if (keys.passphrase) d.addIdentity(scryptIdentity(keys.passphrase));
  return d.decryptHeader(header);
}
