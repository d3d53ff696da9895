import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readManifest } from '../../src/core/backup/manifest';
import { cleanup, cli, databases, fingerprint, IMAGE_OLD, loadChinook, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';

function requireTool(tool: string): void {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is missing: run \`bash scripts/test-env.sh\` (it installs Debian's age, zstd and lz4).`);
  }
}

describe('codecs and encryption through backup and restore (PostgreSQL 17, and 15 for the refusals)', function () {
  let pg: PgTestContainer;
  let dir: string;
  let keyA: string;
  let keyB: string;
  let pubA: string;
  let pubB: string;
  let original: Awaited<ReturnType<typeof fingerprint>>;

  before(async function () {
    await requireDocker();
    requireTool('age');
    pg = await startPostgres('crypt-db');
    await loadChinook(pg);
    original = await fingerprint(pg, 'chinook');
    dir = await tempDir('crypt');
    keyA = path.join(dir, 'a.key');
    keyB = path.join(dir, 'b.key');
    const a = await cli(['keygen', '-o', keyA, '--json']);
    const b = await cli(['keygen', '-o', keyB, '--json']);
    assert.equal(a.code, 0, a.stderr);
    pubA = (a.json as { publicKey: string }).publicKey;
    pubB = (b.json as { publicKey: string }).publicKey;
    assert.match(pubA, /^age1/);
  });
  after(cleanup);

  /** Vandalises, restores `file` with `extra`, and checks every row is back. */
  async function restoresExactly(file: string, extra: string[] = [], env: Record<string, string> = {}): Promise<void> {
    await sql(pg, 'chinook', 'DELETE FROM invoice_line; UPDATE artist SET name = upper(name)');
    const r = await cli(['restore', file, '--yes', '--drop-previous', ...extra], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fingerprint(pg, 'chinook'), original, 'every row is back');
  }

  for (const [spec, suffix] of [['zstd:3', '.sql.zst'], ['lz4', '.sql.lz4'], ['none', '.sql']] as const) {
    it(`--compression ${spec}: a ${suffix} made by pg_dump in the container restores every row`, async function () {
      const r = await cli(['backup', pg.name, '--database', 'chinook', '--compression', spec, '--dir', dir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const file = (r.json as { path: string }).path;
      assert.ok(file.endsWith(suffix), file);
      const m = await readManifest(file);
      assert.deepEqual(m?.stages.map((s) => s.algorithm), spec === 'none' ? [] : [spec.split(':')[0]]);
      await restoresExactly(file);
    });
  }

  it('a custom archive with zstd inside restores every row', async function () {
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--format', 'custom', '--compression', 'zstd', '--dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const m = await readManifest((r.json as { path: string }).path);
    assert.equal(m?.archiveCompression?.algorithm, 'zstd');
    await restoresExactly((r.json as { path: string }).path);
  });

  it('zstd on PostgreSQL 15 is refused before anything runs, naming the versions that have it', async function () {
    const old = await startPostgres('crypt-old', { image: IMAGE_OLD });
    const out = await tempDir('crypt-old');
    const r = await cli(['backup', old.name, '--compression', 'zstd', '--dir', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /zstd compression needs pg_dump 16 or later; \S+ has PostgreSQL 15/);
    assert.deepEqual(await fs.readdir(out), [], 'nothing was written');
  });

  it('to two recipients: the file is a standard age file, each key restores it, the age CLI decrypts it', async function () {
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--recipient', pubA, '--recipient', pubB, '--dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const file = (r.json as { path: string; sha256: string }).path;
    assert.ok(file.endsWith('.sql.gz.age'), file);
    const m = await readManifest(file);
    assert.deepEqual(m?.stages.map((s) => s.algorithm), ['gzip', 'age']);
    assert.deepEqual(m?.stages[1].recipients, [pubA, pubB], 'the manifest names the public keys');
    assert.ok(!JSON.stringify(m).includes('AGE-SECRET-KEY'), 'no identity in the manifest');
    const plain = execFileSync('age', ['-d', '-i', keyA, file]);
    assert.match(zlib.gunzipSync(plain).toString('utf8'), /-- PostgreSQL database dump complete/);
    await restoresExactly(file, ['--identity', keyB]);
    await restoresExactly(file, [], { PG_DOCKER_BACKUP_AGE_IDENTITY: keyA });
  });

  it('a missing or wrong key, or a changed byte, is one clear error and the live database is untouched', async function () {
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--format', 'custom', '--recipient', pubA, '--dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const file = (r.json as { path: string }).path;
    const before = await fingerprint(pg, 'chinook');
    const none = await cli(['restore', file, '--yes']);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /is encrypted with age for age1\S+; give a matching identity file \(--identity FILE or PG_DOCKER_BACKUP_AGE_IDENTITY\)/);
    const wrong = await cli(['restore', file, '--yes', '--identity', keyB]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /none of the identities in the identity file \S+ matches/);
    assert.ok(!wrong.stderr.includes('AGE-SECRET-KEY'));
    const tampered = path.join(dir, 'tampered_20261125_000000.dump.age');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 5000] ^= 0x01;
    await fs.writeFile(tampered, bytes);
    const bad = await cli(['restore', tampered, '--to', pg.name, '--database', 'chinook', '--yes', '--identity', keyA]);
    assert.notEqual(bad.code, 0, 'a changed byte fails');
    assert.deepEqual(await fingerprint(pg, 'chinook'), before, 'the live database is untouched');
    assert.deepEqual((await databases(pg)).filter((d) => d.includes('__restoring_')), []);
  });

  it('with a passphrase (read from PG_DOCKER_BACKUP_PASSPHRASE), and a file encrypted by the age CLI restores here', async function () {
    const env = { PG_DOCKER_BACKUP_PASSPHRASE: 'correct horse battery staple' };
    const r = await cli(['backup', pg.name, '--database', 'chinook', '--passphrase', '--dir', dir, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const file = (r.json as { path: string }).path;
    assert.equal((await readManifest(file))?.stages[1].passphrase, true);
    await restoresExactly(file, ['--passphrase'], env);
    // the runbook's way: a .sql.gz made elsewhere, encrypted with the age CLI, no manifest
    const plain = await cli(['backup', pg.name, '--database', 'chinook', '--dir', dir, '--json']);
    const foreign = path.join(dir, 'foreign.sql.gz.age');
    execFileSync('age', ['-r', pubA, '-o', foreign, (plain.json as { path: string }).path]);
    await restoresExactly(foreign, ['--to', pg.name, '--database', 'chinook', '--identity', keyA]);
  });
});
