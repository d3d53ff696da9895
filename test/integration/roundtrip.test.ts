import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { listBackups } from '../../src/core/store/backupStore';
import { restoreBackup } from '../../src/core/restore/execute';
import { exactPattern } from '../../src/core/postgres/sql';
import { cleanup, cli, databases, docker, fingerprint, loadChinook, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';

const WEIRD_DB = 'we"ird; db ü';
const WEIRD_SCHEMA = 'My "Schema"; ü';
const WEIRD_TABLE = 'tåble "x"; DROP TABLE y';
/** $, both quotes and spaces; local connections need it (scram), so it really is used. */
const PASSWORD = `p$ss 'w" d $HOME`;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** Changes content so that a restore has something to undo. */
async function vandalise(pg: PgTestContainer, db: string): Promise<void> {
  await sql(pg, db, 'DELETE FROM invoice_line WHERE invoice_id > 100; UPDATE artist SET name = upper(name); DROP TABLE playlist_track');
}

describe('round trips on the Chinook sample (PostgreSQL new major)', function () {
  let pg: PgTestContainer;
  let dir: string;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('roundtrip', {
      password: PASSWORD,
      env: ['POSTGRES_INITDB_ARGS=--auth-local=scram-sha-256'],
      labels: { 'com.docker.compose.project': 'roundtrip', 'com.docker.compose.service': 'db' },
    });
    await loadChinook(pg);
    // a large object, a moved sequence, and names that need quoting everywhere
    await sql(pg, 'chinook', `SELECT lo_from_bytea(0, convert_to(repeat('large object ü ', 1000), 'UTF8'));
      CREATE SEQUENCE ticket_seq; SELECT setval('ticket_seq', 4242);
      CREATE SCHEMA "My ""Schema""; ü";
      CREATE TABLE "My ""Schema""; ü"."tåble ""x""; DROP TABLE y" (id serial PRIMARY KEY, "wëird col;" text);
      INSERT INTO "My ""Schema""; ü"."tåble ""x""; DROP TABLE y" ("wëird col;") SELECT 'row ' || g || ' ''quoted'' ; ü' FROM generate_series(1, 50) g;`);
    await sql(pg, 'postgres', `CREATE DATABASE "we""ird; db ü" TEMPLATE chinook`);
    dir = await tempDir('roundtrip');
  });
  after(cleanup);

  for (const format of ['sql', 'custom'] as const) {
    it(`backs up in ${format} format and restores every row, sequence and large object`, async function () {
      const before = await fingerprint(pg, 'chinook');
      assert.ok(Object.keys(before.tables).length >= 11 && before.largeObjects.count === 1);
      const r = await cli(['backup', pg.name, '--database', 'chinook', '--format', format, '--dir', dir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = r.json as { path: string; bytes: number; sha256: string; container: string; database: string; format: string; serverVersion: string; durationMs: number };
      assert.deepEqual(Object.keys(out).sort(), ['bytes', 'container', 'database', 'durationMs', 'format', 'path', 'serverVersion', 'sha256']);
      assert.equal(out.path, path.join(dir, pg.name, 'chinook', path.basename(out.path)));
      assert.match(path.basename(out.path), format === 'sql' ? /^chinook_\d{8}_\d{6}\.sql\.gz$/ : /^chinook_\d{8}_\d{6}\.dump$/);
      const stat = await fs.stat(out.path);
      assert.equal(stat.size, out.bytes);
      assert.equal(stat.mode & 0o777, 0o600);
      assert.equal(await sha256(out.path), out.sha256, 'the manifest sha256 is the file’s');
      const manifest = JSON.parse(await fs.readFile(out.path + '.json', 'utf8'));
      assert.equal(manifest.sha256, out.sha256);
      assert.equal(manifest.rowCounts, 'exact');
      assert.equal(manifest.tables.find((t: { name: string }) => t.name === 'track').rows, 3503);
      const pgDump = await docker().exec(pg.name, ['pg_dump', '--version']);
      assert.equal(manifest.pgDumpVersion, /(\d+\.\d+)/.exec(pgDump.stdout)?.[1], `the manifest names pg_dump's version (${pgDump.stdout.trim()})`);
      assert.equal(manifest.serverVersion.split(' ')[0], manifest.pgDumpVersion);
      assert.ok(!(await fs.readdir(path.dirname(out.path))).some((f) => f.endsWith('.partial')));

      await vandalise(pg, 'chinook');
      assert.notDeepEqual(await fingerprint(pg, 'chinook'), before);
      const restored = await cli(['restore', out.path, '--yes', '--json']);
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await fingerprint(pg, 'chinook'), before);
      const keptPrevious = (restored.json as { keptPrevious: string }).keptPrevious;
      assert.match(keptPrevious, /^chinook__before_restore_\d{8}_\d{6}$/);
      const dbs = await databases(pg);
      assert.ok(dbs.includes(keptPrevious), 'the previous database is kept for undo');
      assert.ok(!dbs.some((d) => d.includes('__restoring_')), 'no scratch database is left');
    });
  }

  it('round-trips a database, schema and table whose names have spaces, quotes, ; and Unicode', async function () {
    const before = await fingerprint(pg, WEIRD_DB);
    assert.ok(before.tables[`${WEIRD_SCHEMA}.${WEIRD_TABLE}`]);
    const b = await backupDatabase(docker(), { container: pg.name, database: WEIRD_DB, dir });
    assert.equal(path.basename(path.dirname(b.path)), 'we%22ird; db ü', 'the folder is the database name, made safe for a file name');
    const listed = (await listBackups(dir)).find((e) => e.path === b.path);
    assert.equal(listed?.database, WEIRD_DB);
    await sql(pg, WEIRD_DB, `TRUNCATE "My ""Schema""; ü"."tåble ""x""; DROP TABLE y"`);
    const r = await restoreBackup(docker(), { backupPath: b.path });
    assert.ok(r);
    assert.deepEqual(await fingerprint(pg, WEIRD_DB), before);
  });

  it('backs up only the named table and schema, and restores it into a new database', async function () {
    const r = await cli(['backup', pg.name, '--database', WEIRD_DB, '--format', 'custom', '--table', exactPattern(WEIRD_SCHEMA, WEIRD_TABLE), '--dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const file = (r.json as { path: string }).path;
    const manifest = JSON.parse(await fs.readFile(file + '.json', 'utf8'));
    assert.deepEqual(manifest.tables.map((t: { name: string }) => t.name), [WEIRD_TABLE]);
    const over = await cli(['restore', file, '--yes']);
    assert.equal(over.code, 2, 'a partial backup is not swapped in over the whole database');
    assert.match(over.stderr, /would replace the whole database with just that part/);
    const target = 'only one table';
    const restored = await cli(['restore', file, '--database', target, '--yes', '--json']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((restored.json as { keptPrevious: unknown }).keptPrevious, null, 'a new database has no previous one');
    const fp = await fingerprint(pg, target);
    assert.deepEqual(Object.keys(fp.tables), [`${WEIRD_SCHEMA}.${WEIRD_TABLE}`]);
    assert.equal(fp.tables[`${WEIRD_SCHEMA}.${WEIRD_TABLE}`].rows, 50);
    const missing = await cli(['backup', pg.name, '--database', WEIRD_DB, '--table', 'no_such_table', '--dir', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no matching tables were found/);
  });

  it('lists and restores the runbook’s own files (.sql, .sql.gz, .dump, .dump.gz) recognised by content', async function () {
    const before = await fingerprint(pg, 'chinook');
    const runbook = path.join(dir, 'runbook');
    await fs.mkdir(runbook);
    const dump = async (file: string, argv: string[], gzip: boolean) => {
      const sink = createWriteStream(file);
      const stages = gzip ? [zlib.createGzip()] : [];
      const entry = new (await import('node:stream')).PassThrough();
      const done = pipeline([entry, ...stages, sink]);
      const r = await docker().exec(pg.name, argv, { stdout: entry, env: { PGPASSWORD: PASSWORD } });
      await done;
      assert.equal(r.exitCode, 0, r.stderr);
    };
    const plain = ['pg_dump', '-U', 'agent_eval', '-d', 'chinook'];
    const custom = [...plain, '-F', 'c'];
    await dump(path.join(runbook, 'backup_20261101_020000.sql'), plain, false);
    await dump(path.join(runbook, 'backup_20261102_020000.sql.gz'), plain, true);
    await dump(path.join(runbook, 'benchmark_20261103_020000.dump'), custom, false);
    await dump(path.join(runbook, 'benchmark_20261104_020000.dump.gz'), custom, true);
    const listed = await cli(['backups', '--dir', dir, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const found = (listed.json as { backups: { path: string; format: string; gzipped: boolean; source: string }[] }).backups.filter((b) => b.path.startsWith(runbook));
    assert.deepEqual(
      found.map((b) => [path.basename(b.path), b.format, b.gzipped, b.source]),
      [
        ['benchmark_20261104_020000.dump.gz', 'custom', true, 'detected'],
        ['benchmark_20261103_020000.dump', 'custom', false, 'detected'],
        ['backup_20261102_020000.sql.gz', 'sql', true, 'detected'],
        ['backup_20261101_020000.sql', 'sql', false, 'detected'],
      ],
    );
    for (const b of found) {
      await vandalise(pg, 'chinook');
      const noTarget = await cli(['restore', b.path, '--yes']);
      assert.equal(noTarget.code, 2, 'a file without a manifest needs --to');
      assert.match(noTarget.stderr, /--to CONTAINER/);
      const r = await cli(['restore', b.path, '--to', pg.name, '--database', 'chinook', '--drop-previous', '--yes', '--json']);
      assert.equal(r.code, 0, `${b.path}: ${r.stderr}`);
      assert.deepEqual(await fingerprint(pg, 'chinook'), before, path.basename(b.path));
    }
    assert.ok(!(await databases(pg)).some((d) => d.startsWith('chinook__before_restore_')), '--drop-previous keeps nothing');
  });
});
