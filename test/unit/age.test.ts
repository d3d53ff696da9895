import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPgBackupError } from '../../src/core/errors';
import { ageDecoder, ageEncoder, ageLayer, isAge } from '../../src/core/pipeline/age';
import {
  formatIdentityFile,
  generateIdentity,
  identityToRecipient,
  loadKeyMaterial,
  parseIdentities,
  parseRecipient,
  parseRecipientsFile,
  readIdentityFile,
} from '../../src/core/pipeline/keys';
import { sniffLayers } from '../../src/core/pipeline/layers';
import { outputAndError, through } from './codecHelpers';

const CHUNK = 64 * 1024;
// 300 KiB + 123 bytes: four full age chunks and a partial one
const PLAIN = Buffer.concat([Buffer.from('--\n-- PostgreSQL database dump\n--\n'), randomBytes(300 * 1024 + 89)]);

describe('age layer', function () {
  this.timeout(30000);
  let alice: { identity: string; recipient: string };
  let bob: { identity: string; recipient: string };
  let eve: { identity: string; recipient: string };
  let toAlice: Buffer;
  before(async () => {
    [alice, bob, eve] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
    toAlice = await through(ageEncoder({ recipients: [alice.recipient] }), PLAIN);
  });

  it('encrypts and decrypts byte for byte, across chunk sizes', async () => {
    assert.ok(isAge(toAlice) && !toAlice.includes(PLAIN.subarray(40, 80)));
    for (const size of [1000, 4096, CHUNK - 1, CHUNK + 17, 1 << 20]) {
      const enc = size === CHUNK - 1 ? toAlice : await through(ageEncoder({ recipients: [alice.recipient] }), PLAIN, size);
      const dec = await through(ageDecoder({ identities: [alice.identity] }), enc, size);
      assert.ok(dec.equals(PLAIN), `chunk size ${size}`);
    }
    for (const n of [0, 1, CHUNK, 2 * CHUNK]) {
      const input = PLAIN.subarray(0, n);
      const enc = await through(ageEncoder({ recipients: [bob.recipient] }), input);
      assert.ok((await through(ageDecoder({ identities: [bob.identity] }), enc)).equals(input), `${n} bytes`);
    }
  });

  it('two recipients: each one alone can decrypt', async () => {
    const enc = await through(ageEncoder({ recipients: [alice.recipient, bob.recipient] }), PLAIN);
    for (const who of [alice, bob]) assert.ok((await through(ageDecoder({ identities: [who.identity] }), enc)).equals(PLAIN));
  });

  it('passphrase round trip (scrypt); the wrong passphrase is one clear error without the secret in it', async () => {
    const enc = await through(ageEncoder({ passphrase: 'correct horse battery', scryptWorkFactor: 12 }), PLAIN);
    assert.ok((await through(ageDecoder({ passphrase: 'correct horse battery' }), enc)).equals(PLAIN));
    const { out, error } = await outputAndError(ageDecoder({ passphrase: 'wrong horse' }, { passphrase: true }), enc);
    assert.equal(out.length, 0);
    assert.ok(isPgBackupError(error, 'refused'));
    assert.equal(error.message, 'The backup is encrypted with age to a passphrase, and the passphrase given does not open it.');
    const byKey = await outputAndError(ageDecoder({ identities: [alice.identity], identitySource: 'X' }), enc);
    assert.match(byKey.error.message, /encrypted with age to a passphrase, not to a key; give the passphrase \(PG_DOCKER_BACKUP_PASSPHRASE/);
  });

  it('recipients and a passphrase together, or nothing, are refused before anything runs', () => {
    assert.throws(() => ageEncoder({ recipients: [alice.recipient], passphrase: 'x' }), /to recipients or to one passphrase, not both/);
    assert.throws(() => ageEncoder({}), /at least one recipient/);
    assert.throws(() => ageEncoder({ passphrase: '' }), /it is empty/);
  });

  it('a wrong key is one clear error naming the recipients, with nothing written downstream', async () => {
    const keys = { identities: [eve.identity], identitySource: 'PG_DOCKER_BACKUP_AGE_IDENTITY (/k/eve.txt)' };
    const { out, error } = await outputAndError(ageDecoder(keys, { recipients: [alice.recipient, bob.recipient] }), toAlice);
    assert.equal(out.length, 0);
    assert.ok(isPgBackupError(error, 'refused'));
    const short = (r: string) => `${r.slice(0, 12)}…${r.slice(-4)}`;
    assert.equal(
      error.message,
      `The backup is encrypted with age for ${short(alice.recipient)}, ${short(bob.recipient)}; none of the identities in PG_DOCKER_BACKUP_AGE_IDENTITY (/k/eve.txt) matches.`,
    );
    assert.ok(!error.message.includes(eve.identity) && !error.message.includes('AGE-SECRET'));
    // without the manifest's recipients, the message still says what the file needs
    const bare = await outputAndError(ageDecoder({ identities: [eve.identity] }), toAlice);
    assert.match(bare.error.message, /encrypted with age for 1 key\(s\); none of the identities in the identity file given/);
  });

  it('a missing key is refused at once, before any byte flows', () => {
    assert.throws(
      () => ageDecoder({}, { recipients: [alice.recipient] }),
      (e: unknown) => isPgBackupError(e, 'refused') && /is encrypted with age for age1.*; give a matching identity file \(--identity FILE or PG_DOCKER_BACKUP_AGE_IDENTITY\)/.test((e as Error).message),
    );
    assert.throws(() => ageDecoder({}, { passphrase: true }), /encrypted with age to a passphrase; give the passphrase/);
    assert.throws(() => ageLayer.decoder({}), /encrypted with age; give the identity file .* or the passphrase/);
  });

  it('a changed byte in the payload fails, and only authenticated chunks came out before it', async () => {
    const header = toAlice.indexOf('\n---') + 1;
    const payloadStart = toAlice.indexOf('\n', header) + 1 + 16; // after the MAC line and the nonce
    for (const chunk of [0, 2, 4]) {
      const bad = Buffer.from(toAlice);
      bad[payloadStart + chunk * (CHUNK + 16) + 100] ^= 1;
      const { out, error } = await outputAndError(ageDecoder({ identities: [alice.identity] }), bad, 8192);
      assert.ok(isPgBackupError(error, 'failed'));
      assert.match(error.message, /^The backup is damaged: its age data fails authentication/);
      assert.ok(out.length <= chunk * CHUNK && PLAIN.subarray(0, out.length).equals(out), `chunk ${chunk}: ${out.length} bytes out`);
    }
    const badHeader = Buffer.from(toAlice);
    badHeader[header - 5] ^= 1; // inside the X25519 stanza body
    const h = await outputAndError(ageDecoder({ identities: [alice.identity] }), badHeader);
    assert.equal(h.out.length, 0);
    assert.match(h.error.message, /^The backup is (damaged: its age data|encrypted with age)/);
  });

  it('a cut-off file fails, wherever it is cut (also exactly at a chunk boundary)', async () => {
    const payloadStart = toAlice.indexOf('\n', toAlice.indexOf('\n---') + 1) + 1 + 16;
    for (const cut of [10, payloadStart - 3, payloadStart + 5, payloadStart + (CHUNK + 16), payloadStart + 3 * (CHUNK + 16), toAlice.length - 1]) {
      const { out, error } = await outputAndError(ageDecoder({ identities: [alice.identity] }), toAlice.subarray(0, cut), 4096);
      assert.ok(isPgBackupError(error, 'failed'), `cut at ${cut}: ${error.message}`);
      assert.match(error.message, /^The backup is damaged: its age data/);
      assert.ok(out.length < PLAIN.length && PLAIN.subarray(0, out.length).equals(out));
    }
  });

  it('agrees with age-encryption\'s own whole-buffer API both ways (keys and passphrases)', async () => {
    const { Encrypter, Decrypter } = await import('age-encryption');
    const d = new Decrypter();
    d.addIdentity(alice.identity);
    assert.ok(Buffer.from(await d.decrypt(toAlice)).equals(PLAIN));
    const e = new Encrypter();
    e.setScryptWorkFactor(10);
    e.setPassphrase('pw by the library');
    const byLib = Buffer.from(await e.encrypt(PLAIN));
    assert.ok((await through(ageDecoder({ passphrase: 'pw by the library' }), byLib, 5000)).equals(PLAIN));
    const ours = await through(ageEncoder({ passphrase: 'pw here', scryptWorkFactor: 10 }), PLAIN);
    const d2 = new Decrypter();
    d2.addPassphrase('pw here');
    assert.ok(Buffer.from(await d2.decrypt(ours)).equals(PLAIN));
  });

  it('sniffs the age header and does not look inside', () => {
    const found = sniffLayers(toAlice.subarray(0, 4096));
    assert.deepEqual(found.layers.map((l) => l.algorithm), ['age']);
    assert.equal(found.opaque, true);
    assert.ok(!isAge(PLAIN));
  });
});

describe('age keys', function () {
  this.timeout(20000);
  it('generates X25519 identities in age-keygen format, whose public key is derived back', async () => {
    const key = await generateIdentity();
    assert.match(key.identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    assert.match(key.recipient, /^age1[0-9a-z]{58}$/);
    assert.equal(await identityToRecipient(key.identity), key.recipient);
    const file = formatIdentityFile(key, new Date('2025-01-02T03:04:05.678Z'));
    assert.equal(file, `# created: 2025-01-02T03:04:05Z\n# public key: ${key.recipient}\n${key.identity}\n`);
    assert.deepEqual(await parseIdentities(file, 'f'), [key.identity]);
  });

  it('checks recipients, refusing post-quantum, SSH and plugin keys with a reason', async () => {
    const { recipient } = await generateIdentity();
    assert.equal(await parseRecipient(`  ${recipient}\n`), recipient);
    await assert.rejects(parseRecipient(`age1pq1${'q'.repeat(60)}`), /post-quantum .* age 1\.1 CLI/);
    await assert.rejects(parseRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoo me@host'), /is an SSH key/);
    await assert.rejects(parseRecipient(`age1yubikey1${'q'.repeat(50)}`), /age plugin/);
    await assert.rejects(parseRecipient(recipient.slice(0, -1) + (recipient.endsWith('q') ? 'p' : 'q')), /not a valid age public key/);
    await assert.rejects(parseRecipient('AGE-SECRET-KEY-1ABC'), (e: Error) => isPgBackupError(e, 'usage') && !e.message.includes('AGE-SECRET-KEY-1ABC'));
  });

  it('reads a recipients file with comments and blank lines', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
    const text = `# team\n\n${a.recipient}\n  # recovery key\n${b.recipient}\r\n${a.recipient}\n`;
    assert.deepEqual(await parseRecipientsFile(text, 'r.txt'), [a.recipient, b.recipient]);
    await assert.rejects(parseRecipientsFile('# nothing\n', 'r.txt'), /r\.txt has no recipients/);
    await assert.rejects(parseRecipientsFile(`${a.recipient}\nage1nope\n`, 'r.txt'), /r\.txt: recipient 2 .* not a valid/);
  });

  it('reads identity files, warns when others may read them, and never echoes a bad line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-keys-'));
    try {
      const key = await generateIdentity();
      const file = path.join(dir, 'key.txt');
      await fs.writeFile(file, formatIdentityFile(key), { mode: 0o644 });
      await fs.chmod(file, 0o644);
      const warnings: string[] = [];
      assert.deepEqual(await readIdentityFile(file, (m) => warnings.push(m)), [key.identity]);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /can be read by other users; restrict it: chmod 600/);
      await fs.chmod(file, 0o600);
      const keys = await loadKeyMaterial({ PG_DOCKER_BACKUP_AGE_IDENTITY: file, PG_DOCKER_BACKUP_PASSPHRASE: 'pw' }, { warn: (m) => warnings.push(m) });
      assert.deepEqual(keys, { identities: [key.identity], identitySource: `PG_DOCKER_BACKUP_AGE_IDENTITY (${file})`, passphrase: 'pw' });
      assert.equal(warnings.length, 1);
      const secretish = 'AGE-SECRET-KEY-1NOTAREALKEYBUTSECRET';
      await assert.rejects(parseIdentities(`# x\n${secretish}\n`, 'k'), (e: Error) => /k, line 2 is not an age identity/.test(e.message) && !e.message.includes(secretish));
      await assert.rejects(parseIdentities('-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n', 'k'), /SSH or PEM private key/);
      await assert.rejects(readIdentityFile(path.join(dir, 'missing.txt')), /The identity file .*missing\.txt does not exist\./);
      assert.deepEqual(await loadKeyMaterial({}), {});
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
