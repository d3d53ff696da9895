import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import type { BackupManifest } from '../../src/core/backup/manifest';
import { cleanupLeftovers } from '../../src/core/cleanup';
import { lockDatabase } from '../../src/core/databases/lock';
import { beginOperation } from '../../src/core/operation';
import { openServer } from '../../src/core/postgres/server';
import { verifyBackup } from '../../src/core/verify';
import { cleanup, cli, databases, docker, fingerprint, requireDocker, sql, startPostgres, tempDir, waitFor, type PgTestContainer } from './harness';

const run = promisify(execFile);

async function manifestOf(file: string): Promise<BackupManifest & Record<string, unknown>> {
  return JSON.parse(await fs.readFile(file + '.json', 'utf8')) as BackupManifest & Record<string, unknown>;
}

/** A copy of a backup (and its manifest) to damage. */
async function copyOf(file: string, name: string): Promise<string> {
  const to = path.join(path.dirname(file), name);
  await fs.copyFile(file, to);
  await fs.copyFile(file + '.json', to + '.json');
  return to;
}

/** The rows of one table's COPY block in a plain dump. */
function copyRows(plain: string, table: string): number {
  const start = plain.indexOf(`COPY public.${table} `);
  const body = plain.slice(plain.indexOf('\n', start) + 1, plain.indexOf('\n\\.\n', start) + 1);
  return body === '' ? 0 : body.split('\n').length - 1;
}

/**
 * The offset of the dumpId of `table`'s TABLE DATA entry in a custom archive's table of contents: the
 * entry is int dumpId, int hadDumper, str tableoid, str oid, str tag, str desc (int = sign byte + 4 bytes).
 */
function tableDataEntryId(archive: Buffer, table: string): number {
  const int = (n: number) => Buffer.from([0, n & 0xff, (n >> 8) & 0xff, 0, 0]);
  const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  const at = archive.indexOf(Buffer.concat([str(table), str('TABLE DATA')]));
  assert.ok(at > 0, `no TABLE DATA entry of ${table}`);
  let p = at;
  for (let k = 0; k < 2; k++) {
    // walk back over the oid and tableoid strings (digits)
    let found = false;
    for (let len = 1; len <= 10 && !found; len++) {
      const s = p - len;
      if (archive.subarray(s - 5, s).equals(int(len)) && /^\d+$/.test(archive.subarray(s, p).toString('latin1'))) {
        p = s - 5;
        found = true;
      }
    }
    assert.ok(found, 'cannot walk the TOC entry back');
  }
  return p - 10; // before hadDumper (5 bytes) and dumpId (5 bytes)
}

describe('verify: quick and deep checks of real backups', function () {
  let pg: PgTestContainer;
  let dir: string;
  let sqlGz: string;
  let dump: string;
  let flippedCopy: string;

  /** Writes damaged bytes with a manifest that matches them (as if pg_dump had written them): only the structure can tell. */
  async function writeWithManifest(file: string, bytes: Buffer): Promise<void> {
    await fs.writeFile(file, bytes);
    const m = await manifestOf(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await fs.writeFile(file + '.json', JSON.stringify({ ...m, sha256, bytes: bytes.length, verifications: [] }));
  }

  before(async function () {
    await requireDocker();
    pg = await startPostgres('verify-db', { db: 'shop' });
    await sql(pg, 'shop', `CREATE TABLE items AS SELECT g AS id, md5(g::text) AS t FROM generate_series(1, 400000) g;
      CREATE TABLE orders (id serial PRIMARY KEY, item int, at timestamptz DEFAULT now()); INSERT INTO orders (item) SELECT g FROM generate_series(1, 1000) g;
      CREATE TABLE events (id bigserial PRIMARY KEY, v text); CREATE TABLE empty_one (a int)`);
    dir = await tempDir('verify');
    sqlGz = (await backupDatabase(docker(), { container: pg.name, database: 'shop', dir })).path;
    dump = (await backupDatabase(docker(), { container: pg.name, database: 'shop', dir, format: 'custom' })).path;
  });
  after(async () => {
    await cleanup();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('records exact counts of every table in the manifest', async () => {
    const m = await manifestOf(sqlGz);
    assert.equal(m.rowCounts, 'exact');
    assert.deepEqual(
      m.tables.map((t) => [t.name, t.rows, t.estimated ?? false]),
      [['empty_one', 0, false], ['events', 0, false], ['items', 400000, false], ['orders', 1000, false]],
    );
  });

  it('a good .sql.gz and .dump pass quick and deep; each verification is recorded; the live database is untouched; no scratch database is left', async () => {
    const live = await fingerprint(pg, 'shop');
    const dbs = await databases(pg);
    for (const f of [sqlGz, dump]) {
      const quick = await verifyBackup(docker(), f);
      assert.equal(quick.status, 'ok', quick.detail);
      const deep = await verifyBackup(docker(), f, { deep: true });
      assert.equal(deep.status, 'ok', deep.detail);
      assert.match(deep.scratchDatabase ?? '', /^shop__verify_\d{8}_\d{6}$/);
      assert.deepEqual(deep.checks.find((c) => c.name === 'rows'), { name: 'rows', ok: true, detail: "4 tables with the manifest's row count" });
      const v = (await manifestOf(f)).verifications ?? [];
      assert.deepEqual(v.map((x) => [x.kind, x.ok]), [['quick', true], ['deep', true]]);
    }
    assert.deepEqual(await databases(pg), dbs);
    assert.deepEqual(await fingerprint(pg, 'shop'), live);
  });

  it('catches a flipped byte, a truncation and a wrong checksum in the manifest', async () => {
    const flipped = await copyOf(sqlGz, 'shop_20260101_000001.sql.gz');
    flippedCopy = flipped;
    const bytes = await fs.readFile(flipped);
    bytes[Math.floor(bytes.length / 2)] ^= 0x10;
    await fs.writeFile(flipped, bytes);
    const r1 = await verifyBackup(docker(), flipped);
    assert.equal(r1.status, 'bad');
    assert.equal(r1.checks.find((c) => c.name === 'checksum')?.ok, false);

    const cut = await copyOf(dump, 'shop_20260101_000002.dump');
    await fs.truncate(cut, (await fs.stat(cut)).size - 5000);
    const r2 = await verifyBackup(docker(), cut);
    assert.equal(r2.status, 'bad');
    assert.equal(r2.checks.find((c) => c.name === 'size')?.ok, false);
    assert.match(r2.detail, /cut off/);

    const wrongSum = await copyOf(sqlGz, 'shop_20260101_000003.sql.gz');
    const m = await manifestOf(wrongSum);
    await fs.writeFile(wrongSum + '.json', JSON.stringify({ ...m, sha256: '0'.repeat(64) }));
    const r3 = await verifyBackup(docker(), wrongSum);
    assert.equal(r3.status, 'bad');
    assert.deepEqual(r3.checks.filter((c) => c.ok === false).map((c) => c.name), ['checksum']);
    const recorded = (await manifestOf(wrongSum)).verifications ?? [];
    assert.deepEqual([recorded.at(-1)?.kind, recorded.at(-1)?.ok], ['quick', false]);
    assert.match(recorded.at(-1)?.detail ?? '', /sha256/);
  });

  it('catches a custom archive whose table of contents is damaged (pg_restore reads it through, not just --list)', async () => {
    const archive = await fs.readFile(dump);
    // 1. a TOC entry's dumpId changed: its data block no longer belongs to any entry
    const wrongId = await copyOf(dump, 'shop_20260101_000004.dump');
    const damaged = Buffer.from(archive);
    const idAt = tableDataEntryId(damaged, 'items');
    damaged[idAt + 1] ^= 0x40;
    await writeWithManifest(wrongId, damaged);
    const list = await docker().exec(pg.name, ['pg_restore', '--list'], { stdin: createReadStream(wrongId) });
    const r1 = await verifyBackup(docker(), wrongId, { record: false });
    console.log(`      (pg_restore --list of the archive with a changed dumpId exited ${list.exitCode}; verify: ${r1.detail})`);
    assert.equal(r1.status, 'bad', r1.detail);
    assert.deepEqual(r1.checks.filter((c) => c.ok === false).map((c) => c.name), ['structure'], r1.detail);
    // 2. a string length in the TOC blown up
    const longStr = await copyOf(dump, 'shop_20260101_000005.dump');
    const damaged2 = Buffer.from(archive);
    const at = damaged2.indexOf(Buffer.from('TABLE DATA')) - 4;
    damaged2[at + 2] = 0xff;
    await writeWithManifest(longStr, damaged2);
    const r2 = await verifyBackup(docker(), longStr, { record: false });
    assert.equal(r2.status, 'bad', r2.detail);
    assert.deepEqual(r2.checks.filter((c) => c.ok === false).map((c) => c.name), ['structure'], r2.detail);
    assert.match(r2.detail, /pg_restore in .* cannot read/);
  });

  it('deep verify leaves no database behind when cancelled mid-restore', async () => {
    const before = await databases(pg);
    const controller = new AbortController();
    let restoring = false;
    const verifying = verifyBackup(docker(), sqlGz, {
      deep: true,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'restore' && !restoring) {
          restoring = true;
          setTimeout(() => controller.abort(), 300);
        }
      },
    });
    await assert.rejects(verifying, (e: Error & { kind?: string }) => e.kind === 'cancelled' && /scratch database "shop__verify_\d{8}_\d{6}" was dropped/.test(e.message));
    assert.ok(restoring, 'the cancel came during the restore');
    assert.deepEqual(await databases(pg), before);
    assert.ok(!(await databases(pg)).some((d) => d.includes('__verify_')));
  });

  it('cleanup removes a deep verify\'s leftover scratch database, but not one whose verify still holds its lock', async () => {
    const stale = 'shop__verify_20200101_000000';
    const running = 'shop__verify_20200101_000001';
    await sql(pg, 'postgres', `CREATE DATABASE ${stale}`);
    await sql(pg, 'postgres', `CREATE DATABASE ${running}`);
    const { server } = await openServer(docker(), pg.name, beginOperation());
    const lock = await lockDatabase(server, running, 'verify', beginOperation().log);
    try {
      const r = await cleanupLeftovers(docker(), { container: pg.name });
      const shop = r.databases.find((d) => d.database === 'shop');
      assert.deepEqual(shop?.dropped, [stale]);
      assert.deepEqual(shop?.inUse, [running]);
    } finally {
      await lock.release();
    }
    const left = await databases(pg);
    assert.ok(!left.includes(stale) && left.includes(running));
    await sql(pg, 'postgres', `DROP DATABASE ${running}`);
  });

  it('exact counts are those of the dump even while rows are inserted during the backup', async () => {
    // one row per transaction, committed while pg_dump runs
    const inserting = docker().exec(pg.name, ['psql', '-X', '-q', '-U', pg.user, '-d', 'shop', '-c', `DO $$ BEGIN FOR i IN 1..4000 LOOP INSERT INTO events (v) VALUES (md5(i::text)); COMMIT; PERFORM pg_sleep(0.001); END LOOP; END $$`], { env: { PGPASSWORD: pg.password } });
    await waitFor('inserts to start', async () => Number(await sql(pg, 'shop', 'SELECT count(*) FROM events')) > 50);
    const b = await backupDatabase(docker(), { container: pg.name, database: 'shop', dir });
    const after = Number(await sql(pg, 'shop', 'SELECT count(*) FROM events'));
    const r = await inserting;
    assert.equal(r.exitCode, 0, r.stderr);
    const counted = b.manifest.tables.find((t) => t.name === 'events')!.rows;
    assert.equal(b.manifest.rowCounts, 'exact');
    assert.ok(counted > 50 && counted < 4000 && counted <= after, `events counted ${counted}, ${after} after the backup`);
    const plain = gunzipSync(await fs.readFile(b.path)).toString('utf8');
    assert.equal(copyRows(plain, 'events'), counted);
    assert.equal(copyRows(plain, 'items'), 400000);
    const deep = await verifyBackup(docker(), b.path, { deep: true, record: false });
    assert.equal(deep.status, 'ok', deep.detail);
  });

  it('CLI: exit 0 when all are good, 1 with a bad one; a file without a manifest gets none', async () => {
    const runbook = path.join(dir, 'runbook', 'shop_20260101_020000.sql.gz');
    await fs.mkdir(path.dirname(runbook), { recursive: true });
    await fs.copyFile(sqlGz, runbook);
    const good = await cli(['verify', sqlGz, runbook, '--json']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const results = (good.json as { results: { status: string; checks: { name: string; detail: string }[]; recorded: boolean }[] }).results;
    assert.deepEqual(results.map((x) => x.status), ['ok', 'ok']);
    assert.equal(results[1].recorded, false);
    assert.equal(results[1].checks.find((c) => c.name === 'checksum')?.detail, 'no manifest: checksum not compared');
    await assert.rejects(fs.stat(runbook + '.json'));
    const bad = await cli(['verify', sqlGz, flippedCopy]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^ok {2}.*\nBAD {2}/ms);
    const { stdout } = await run('node', [path.resolve(__dirname, '../../dist/cli.js'), 'verify', '--help']);
    assert.match(stdout, /verify <backup-file>/);
  });
});
