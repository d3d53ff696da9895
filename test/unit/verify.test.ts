import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pgDumpArgv } from '../../src/core/backup/pgDump';
import { ageEncoder } from '../../src/core/pipeline/age';
import { rowCountSql } from '../../src/core/backup/snapshot';
import { parseSideDatabaseName, sideDatabaseKind, sideDatabaseName } from '../../src/core/databases/sideDatabases';
import { chooseVerifyContainer, compareRowCounts, describeComparison, withVerification } from '../../src/core/verifyPlan';
import { verifyBackup } from '../../src/core/verify';
import type { DockerClient } from '../../src/core/docker/client';

describe('verify: choosing the container a check runs in', () => {
  const list = [
    { name: 'old', running: true, major: 15 },
    { name: 'new', running: true, major: 17 },
    { name: 'newer', running: true, major: 18 },
    { name: 'stopped17', running: false, major: 17 },
    { name: 'broken', running: true },
  ];

  it('takes the backup\'s own container when it runs and is at least the dump\'s major', () => {
    assert.deepEqual(chooseVerifyContainer(list, { own: 'new', dumpMajor: 17 }), { name: 'new' });
    assert.deepEqual(chooseVerifyContainer(list, { own: 'newer', dumpMajor: 15, preferMajor: 15 }), { name: 'newer' });
  });

  it('falls back to a running container of the preferred major, else the lowest major that can read the dump', () => {
    assert.deepEqual(chooseVerifyContainer(list, { own: 'stopped17', dumpMajor: 15, preferMajor: 17 }), { name: 'new' });
    assert.deepEqual(chooseVerifyContainer(list, { own: 'old', dumpMajor: 17 }), { name: 'new' });
    assert.deepEqual(chooseVerifyContainer(list, { dumpMajor: 18 }), { name: 'newer' });
  });

  it('says why when nothing fits, and refuses an unfit --to instead of picking another', () => {
    const none = chooseVerifyContainer(list, { dumpMajor: 19 });
    assert.ok('problem' in none && /PostgreSQL 19 or newer/.test(none.problem) && /--to/.test(none.problem));
    const tooOld = chooseVerifyContainer(list, { wanted: 'old', dumpMajor: 17 });
    assert.ok('problem' in tooOld && /old runs PostgreSQL 15/.test(tooOld.problem));
    const stopped = chooseVerifyContainer(list, { wanted: 'stopped17', dumpMajor: 15 });
    assert.ok('problem' in stopped && /docker start stopped17/.test(stopped.problem));
    assert.ok('problem' in chooseVerifyContainer(list, { wanted: 'nope' }));
  });
});

describe('verify: comparing row counts with the manifest', () => {
  const manifest = [
    { schema: 'public', name: 'a', rows: 10 },
    { schema: 'public', name: 'b', rows: 5 },
    { schema: 'public', name: 'big', rows: 1_000_000, estimated: true as const },
    { schema: 's', name: 'gone', rows: 1 },
  ];

  it('compares exact counts, reports estimated ones as not compared, and a missing table as different', () => {
    const c = compareRowCounts(manifest, [
      { schema: 'public', name: 'a', rows: 10 },
      { schema: 'public', name: 'b', rows: 4 },
      { schema: 'public', name: 'big', rows: 999_000 },
    ]);
    assert.equal(c.matched, 1);
    assert.deepEqual(c.mismatched, [
      { table: 'public.b', expected: 5, restored: 4 },
      { table: 's.gone', expected: 1, restored: undefined },
    ]);
    assert.deepEqual(c.notCompared, ['public.big']);
    const text = describeComparison(c, true);
    assert.match(text, /2 differ \(public\.b has 4 rows, the manifest says 5; s\.gone has no table/);
    assert.match(text, /1 not compared \(estimated/);
  });

  it('all equal: no mismatch; no manifest: nothing compared', () => {
    const c = compareRowCounts(manifest.slice(0, 2), [
      { schema: 'public', name: 'a', rows: 10 },
      { schema: 'public', name: 'b', rows: 5 },
    ]);
    assert.deepEqual([c.matched, c.mismatched.length, c.notCompared.length], [2, 0, 0]);
    assert.equal(describeComparison(compareRowCounts(undefined, []), false), 'no manifest: row counts not compared');
  });
});

describe('verify: the manifest record', () => {
  it('appends a verification and keeps every other field (also unknown ones), at most `keep` entries', () => {
    const raw = { manifestVersion: 2, sha256: 'x', futureField: { a: 1 }, verifications: [{ at: '2026-01-01T00:00:00Z', kind: 'quick', ok: true }] };
    const out = withVerification(raw, { at: '2026-01-02T00:00:00Z', kind: 'deep', ok: false, detail: 'rows differ' });
    assert.deepEqual(out.futureField, { a: 1 });
    assert.equal((out.verifications as unknown[]).length, 2);
    assert.deepEqual((out.verifications as { ok: boolean }[])[1], { at: '2026-01-02T00:00:00Z', kind: 'deep', ok: false, detail: 'rows differ' });
    const many = withVerification({ verifications: [1, 2, 3] }, { at: 'x', kind: 'quick', ok: true }, 3);
    assert.deepEqual((many.verifications as unknown[]).slice(0, 2), [2, 3]);
  });
});

describe('verify: scratch names and exact counts', () => {
  const at = new Date(Date.UTC(2026, 10, 25, 21, 0, 0));
  it('names the deep-verify scratch database <db>__verify_<ts> and recognises it as a leftover kind', () => {
    const name = sideDatabaseName('chinook', 'verify', at);
    assert.equal(name, 'chinook__verify_20261125_210000');
    assert.equal(sideDatabaseKind(name), 'verify');
    assert.deepEqual(parseSideDatabaseName('chinook', name), { kind: 'verify', at });
    const long = sideDatabaseName('x'.repeat(63), 'verify', at);
    assert.ok(Buffer.byteLength(long) <= 63);
    assert.equal(parseSideDatabaseName('x'.repeat(63), long)?.kind, 'verify');
  });

  it('pg_dump takes the exported snapshot; the count leaves extension members out and honours a size limit', () => {
    const argv = pgDumpArgv({ user: 'u' }, 'db', { format: 'sql', compressionLevel: 1, snapshot: '00000003-00000002-1' });
    assert.ok(argv.includes('--snapshot=00000003-00000002-1'));
    assert.ok(!pgDumpArgv({ user: 'u' }, 'db', { format: 'sql', compressionLevel: 1 }).some((a) => a.startsWith('--snapshot')));
    assert.match(rowCountSql(undefined), /deptype = 'e'/);
    assert.match(rowCountSql(undefined), /count\(\*\) AS c FROM ONLY/);
    assert.match(rowCountSql(1024), /pg_database_size\(current_database\(\)\) <= 1024/);
    assert.doesNotMatch(rowCountSql(undefined), /pg_database_size/);
  });
});

describe('verify: plain files without Docker', () => {
  let dir: string;
  const noDocker = new Proxy({}, { get: () => () => Promise.reject(new Error('no Docker in unit tests')) }) as unknown as DockerClient;
  const dump = '--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (a int);\nCOPY public.t (a) FROM stdin;\n1\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-verify-unit-'));
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  it('a runbook .sql.gz without a manifest passes, says the checksum was not compared, and gets no manifest', async () => {
    const f = path.join(dir, 'backup_20260101_020000.sql.gz');
    await fs.writeFile(f, gzipSync(dump));
    const r = await verifyBackup(noDocker, f);
    assert.equal(r.status, 'ok', r.detail);
    assert.deepEqual(r.checks.find((c) => c.name === 'checksum'), { name: 'checksum', ok: null, detail: 'no manifest: checksum not compared' });
    assert.equal(r.recorded, false);
    await assert.rejects(fs.stat(f + '.json'));
  });

  it('a cut-off gzip, a dump without pg_dump\'s last line and a psql meta-command are bad', async () => {
    const gz = gzipSync(dump);
    const cut = path.join(dir, 'cut_20260101_020000.sql.gz');
    await fs.writeFile(cut, gz.subarray(0, gz.length - 9));
    const r1 = await verifyBackup(noDocker, cut);
    assert.equal(r1.status, 'bad');
    assert.match(r1.detail, /damaged|ends early/);
    const short = path.join(dir, 'short_20260101_020000.sql.gz');
    await fs.writeFile(short, gzipSync(dump.slice(0, dump.indexOf('-- PostgreSQL database dump complete'))));
    const r2 = await verifyBackup(noDocker, short);
    assert.equal(r2.status, 'bad');
    assert.match(r2.detail, /incomplete/);
    const evil = path.join(dir, 'evil_20260101_020000.sql.gz');
    await fs.writeFile(evil, gzipSync(dump.replace('CREATE TABLE', '\\! touch /tmp/x\nCREATE TABLE')));
    const r3 = await verifyBackup(noDocker, evil);
    assert.equal(r3.status, 'bad');
    assert.match(r3.detail, /meta-command/);
  });

  it('a file that is no backup is bad, a missing one cannot be verified', async () => {
    const junk = path.join(dir, 'junk_20260101_020000.sql.gz');
    await fs.writeFile(junk, Buffer.from([0, 1, 2, 3, 4, 5]));
    assert.equal((await verifyBackup(noDocker, junk)).status, 'bad');
    const missing = await verifyBackup(noDocker, path.join(dir, 'missing.sql.gz'));
    assert.equal(missing.status, 'error');
    assert.match(missing.detail, /Cannot read/);
  });
});

describe('verify: an encrypted backup (age over gzip) with its manifest', () => {
  let dir: string;
  const noDocker = new Proxy({}, { get: () => () => Promise.reject(new Error('no Docker in unit tests')) }) as unknown as DockerClient;
  const dump = '--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (a int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-verify-age-'));
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  it('decodes every layer the manifest lists through the registry: passes with the key, is not verified without it, bad with a wrong one', async function () {
    this.timeout(60_000);
    const f = path.join(dir, 'shop_20260101_020000.sql.gz.age');
    const passphrase = 'correct horse battery staple verify';
    await pipeline(Readable.from([gzipSync(dump)]), ageEncoder({ passphrase, scryptWorkFactor: 10 }), createWriteStream(f));
    const bytes = await fs.readFile(f);
    const manifest = {
      manifestVersion: 2, tool: 'pg-docker-backup', file: path.basename(f), container: 'gone', containerId: 'x', image: 'i', database: 'shop', serverVersion: '17.2', pgDumpVersion: '17.2', format: 'sql',
      stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }, { kind: 'encrypt', algorithm: 'age', where: 'host', passphrase: true }],
      options: { tables: [], schemas: [], noOwner: false }, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), created: '2026-01-01T02:00:00Z', durationMs: 1, rowCounts: 'exact', tables: [],
    };
    await fs.writeFile(f + '.json', JSON.stringify(manifest));
    const ok = await verifyBackup(noDocker, f, { keys: { passphrase } });
    assert.equal(ok.status, 'ok', ok.detail);
    assert.match(ok.checks.find((c) => c.name === 'decode')!.detail, /gzip, age decoded to the end/);
    const noKey = await verifyBackup(noDocker, f);
    assert.equal(noKey.status, 'error', noKey.detail);
    assert.equal(noKey.recorded, false);
    const wrong = await verifyBackup(noDocker, f, { keys: { passphrase: 'not it' } });
    assert.equal(wrong.status, 'error', wrong.detail);
    assert.match(wrong.detail, /passphrase given does not open it/);
    const recorded = JSON.parse(await fs.readFile(f + '.json', 'utf8')) as { verifications: { ok: boolean }[] };
    assert.equal(recorded.verifications[0].ok, true);
  });
});
