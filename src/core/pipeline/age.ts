import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PgBackupError, errorMessage } from '../errors';
import { headerEnd, makeHeader, openHeader } from './ageHeader';
import { AgeChunkError, CHUNK, NONCE, StreamOpener, StreamSealer, TAG, payloadKey } from './ageStream';
import { damagedError, subjectOf, type DecodeContext } from './damaged';
import { IDENTITY_ENV, PASSPHRASE_ENV, shortRecipient, type AgeKeyMaterial } from './keys';
import type { KeyMaterial, Layer, StageRecord } from './stage';

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

/**
 * Encrypts to an age file (binary, age-encryption.org/v1), streaming: 64 KiB in, 64 KiB + 16 out, with
 * at most one chunk held. The header comes from age-encryption; the payload is sealed by Node's crypto.
 */
export function ageEncoder(options: AgeEncryptOptions): Transform {
  checkEncryptOptions(options);
  const ready = makeHeader({
    recipients: options.recipients,
    passphrase: options.passphrase,
    workFactor: options.scryptWorkFactor ?? SCRYPT_WORK_FACTOR,
  });
  ready.catch(() => undefined); // reported by the first write or the flush
  return new AgeEncoder(ready);
}

class AgeEncoder extends Transform {
  private sealer: StreamSealer | undefined;
  private readonly pending = Buffer.alloc(CHUNK);
  private used = 0;

  constructor(private readonly ready: Promise<{ header: Buffer; fileKey: Uint8Array }>) {
    super({ readableHighWaterMark: 256 * 1024 });
  }

  private whenReady(work: () => void, callback: TransformCallback): void {
    const run = () => {
      try {
        work();
        callback();
      } catch (e) {
        callback(e as Error);
      }
    };
    if (this.sealer) return run();
    this.ready.then(
      ({ header, fileKey }) => {
        const nonce = randomBytes(NONCE);
        this.sealer = new StreamSealer(payloadKey(fileKey, nonce));
        this.push(Buffer.concat([header, nonce]));
        run();
      },
      (e: unknown) => callback(e instanceof PgBackupError ? e : new PgBackupError('failed', `Encrypting with age failed: ${errorMessage(e)}.`, { cause: e })),
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.whenReady(() => {
      let at = 0;
      while (at < chunk.length) {
        // a full chunk goes out only once more data shows it is not the last one
        if (this.used === CHUNK) {
          this.push(this.sealer!.seal(this.pending, false));
          this.used = 0;
        }
        const n = chunk.copy(this.pending, this.used, at);
        this.used += n;
        at += n;
      }
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.whenReady(() => this.push(this.sealer!.seal(this.pending.subarray(0, this.used), true)), callback);
  }
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
  return new AgeDecoder(keys, context);
}

/** Reads the header (at most 1 MiB), opens it, then the nonce, then authenticates chunk by chunk. */
class AgeDecoder extends Transform {
  private head: Buffer[] = [];
  private headLength = 0;
  private opener: StreamOpener | undefined;
  private fileKey: Uint8Array | undefined;
  private buffered = Buffer.alloc(0);

  constructor(
    private readonly keys: AgeKeyMaterial,
    private readonly context: AgeDecodeContext | undefined,
  ) {
    super({ readableHighWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.fileKey) return this.guard(() => this.payload(chunk), callback);
    this.head.push(chunk);
    this.headLength += chunk.length;
    const head = Buffer.concat(this.head, this.headLength);
    this.head = [head];
    const end = headerEnd(head);
    if (end === undefined) {
      if (this.headLength > 1 << 20 || !isAgePrefix(head)) return callback(this.headerError(new Error('invalid header')));
      return callback();
    }
    let types: string[] = [];
    openHeader(head.subarray(0, end), this.keys, (t) => (types = t)).then(
      (fileKey) => {
        this.fileKey = fileKey;
        this.head = [];
        this.guard(() => this.payload(head.subarray(end)), callback);
      },
      (e: unknown) => callback(this.headerError(e, types)),
    );
  }

  override _flush(callback: TransformCallback): void {
    if (!this.fileKey) return callback(this.headerError(new Error('invalid header')));
    this.guard(() => {
      if (!this.opener) throw new AgeChunkError('the file ends inside the payload nonce');
      this.push(this.opener.open(this.buffered, true));
    }, callback);
  }

  private payload(data: Buffer): void {
    let buf = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    if (!this.opener) {
      if (buf.length < NONCE) {
        this.buffered = Buffer.from(buf);
        return;
      }
      this.opener = new StreamOpener(payloadKey(this.fileKey!, buf.subarray(0, NONCE)));
      buf = buf.subarray(NONCE);
    }
    // a full chunk is opened as "not last" only when more bytes follow it
    let at = 0;
    while (buf.length - at > CHUNK + TAG) {
      this.push(this.opener.open(buf.subarray(at, at + CHUNK + TAG), false));
      at += CHUNK + TAG;
    }
    this.buffered = Buffer.from(buf.subarray(at));
  }

  private guard(work: () => void, callback: TransformCallback): void {
    try {
      work();
    } catch (e) {
      return callback(
        e instanceof AgeChunkError
          ? damagedError(this.context, 'age', 'fails authentication: it was changed or is cut off; nothing after the last intact 64 KiB chunk was used', e)
          : (e as Error),
      );
    }
    callback();
  }

  private headerError(e: unknown, types: string[] = []): Error {
    if (e instanceof PgBackupError) return e;
    const m = errorMessage(e);
    if (m.includes('no identity matched')) return noKeyError(this.keys, types, this.context);
    if (m.includes('HMAC')) return damagedError(this.context, 'age', 'has a header that was changed (its MAC does not match)', e);
    if (m.includes('scrypt work factor')) return damagedError(this.context, 'age', 'asks for a scrypt work factor above 2^20, which is refused', e);
    return damagedError(this.context, 'age', 'does not start with a valid age header (cut off or not an age file)', e);
  }
}

function isAgePrefix(head: Buffer): boolean {
  const n = Math.min(head.length, AGE_MAGIC.length);
  return head.subarray(0, n).equals(AGE_MAGIC.subarray(0, n));
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

