/**
 * Issue 8, hostile inputs: plain backups holding psql meta-commands (refused before any byte reaches psql),
 * real pg_dump output full of backslashes (restores unchanged on 15 and 17), a backup taken under write load
 * (pg_dump's snapshot), hostile database/schema/table/role names, hostile container names through a
 * manifest and through folder names, symlinks in the backup folder, manifests that lie, a restore flooding
 * stderr, and secrets that must not show anywhere. Each test asserts the user's outcome.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as zlib from 'node:zlib';
import { deleteBackup, listBackups } from '../../src/core/store/backupStore';
import { quoteIdent, quoteLiteral } from '../../src/core/postgres/sql';
import { cleanup, cli, databases, docker, fingerprint, requireDocker, sql, startPostgres, tempDir, waitFor, IMAGE_NEW, IMAGE_OLD, type CliRun, type PgTestContainer } from './harness';

const show = (r: CliRun) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function existsIn(pg: PgTestContainer, file: string): Promise<boolean> {
  return (await docker().exec(pg.name, ['test', '-e', file])).exitCode === 0;
}
async function scratch(pg: PgTestContainer): Promise<string[]> {
  return (await databases(pg)).filter((d) => d.includes('__restoring_'));
}
async function psqlScript(pg: PgTestContainer, database: string, script: string): Promise<void> {
  const { Readable } = await import('node:stream');
  const r = await docker().exec(pg.name, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', pg.user, '-d', database], { stdin: Readable.from([script]) });
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr}`);
}
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

const HEADER = '--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\nINSERT INTO t VALUES (1);\n';
const FOOTER = 'SELECT 1;\n--\n-- PostgreSQL database dump complete\n--\n';
/** Line 6 of each file: what must never run. `{M}` is a marker file that would appear if it did. */
const META_CASES: { name: string; line: string; command: string }[] = [
  { name: '\\! on its own line', line: '\\! touch {M}', command: '\\!' },
  { name: '\\! mid-line after ;', line: 'INSERT INTO t VALUES (2); \\! touch {M}', command: '\\!' },
  { name: '\\connect', line: '\\connect postgres', command: '\\connect' },
  { name: 'a backtick argument (\\set)', line: '\\set x `touch {M}`', command: '\\set' },
  { name: 'a backtick argument (\\restrict)', line: '\\restrict `touch {M}`', command: '\\restrict' },
  { name: '\\o', line: '\\o {M}', command: '\\o' },
  { name: '\\copy … program', line: "\\copy t FROM PROGRAM 'touch {M}'", command: '\\copy' },
];

describe('hostile backups: meta-commands are refused before anything runs', function () {
  let pg: PgTestContainer;
  let dir: string;
  let live: Awaited<ReturnType<typeof fingerprint>>;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('hostile-meta');
    await sql(pg, 'postgres', 'CREATE DATABASE live');
    await sql(pg, 'live', `CREATE TABLE keep (id int, v text); INSERT INTO keep SELECT g, md5(g::text) FROM generate_series(1, 1000) g`);
    live = await fingerprint(pg, 'live');
    dir = await tempDir('hostile-meta');
  });
  after(cleanup);

  async function assertRefused(file: string, marker: string, line: number, command: string): Promise<void> {
    const r = await cli(['restore', file, '--to', pg.name, '--database', 'live', '--yes']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, new RegExp(`line ${line}\\b`), `the refusal names the line: ${r.stderr}`);
    assert.ok(r.stderr.includes(command), `and the command ${command}: ${r.stderr}`);
    assert.equal(await existsIn(pg, marker), false, 'nothing ran');
    assert.deepEqual(await fingerprint(pg, 'live'), live, 'the live database is untouched');
    assert.deepEqual(await scratch(pg), [], 'no scratch database is left');
  }

  META_CASES.forEach((c, i) => {
    for (const gz of [false, true]) {
      it(`${c.name}${gz ? ' (.sql.gz)' : ' (.sql)'}: exit 2, the line and command named, nothing ran, live untouched`, async function () {
        const marker = `/tmp/pgdb-hostile-${i}-${gz ? 'gz' : 'sql'}`;
        const text = HEADER + c.line.replace('{M}', marker) + '\n' + FOOTER;
        const file = path.join(dir, `meta${i}.sql${gz ? '.gz' : ''}`);
        await fs.writeFile(file, gz ? zlib.gzipSync(text) : text);
        await assertRefused(file, marker, 6, c.command);
      });
    }
  });

  it('\\! near the start of a 50 MB .sql.gz: refused naming the line, nothing ran', async function () {
    const marker = '/tmp/pgdb-hostile-big';
    const file = path.join(dir, 'big.sql.gz');
    const gz = zlib.createGzip({ level: 1 });
    const out = gz.pipe(createWriteStream(file));
    gz.write(`${HEADER}\\! touch ${marker}\nCREATE TABLE big (v text);\nCOPY public.big (v) FROM stdin;\n`);
    let raw = 0;
    while (raw < 68 * 1024 * 1024) {
      const chunk = randomBytes(48 * 1024).toString('base64').replace(/(.{64})/g, '$1\n') + '\n';
      raw += chunk.length;
      if (!gz.write(chunk)) await once(gz, 'drain');
    }
    gz.end(`\\.\n${FOOTER}`);
    await once(out, 'finish');
    assert.ok((await fs.stat(file)).size > 50 * 1024 * 1024, 'the file is over 50 MB');
    const started = Date.now();
    await assertRefused(file, marker, 6, '\\!');
    assert.ok(Date.now() - started < 20000, 'refused without loading the whole file first');
  });
});

/** Backslashes everywhere that is not a meta-command: data, comments, string literals, function bodies. */
const BACKSLASHES = String.raw`
CREATE ROLE bs_owner;
CREATE TABLE bs (id int PRIMARY KEY, t text, b bytea, j jsonb DEFAULT '{"a": "\\! x"}', s text DEFAULT '\connect postgres' CHECK (s <> '\\'));
COMMENT ON TABLE bs IS 'a comment: \! touch /tmp/pgdb-bs-comment; \connect postgres; */ -- \o x';
COMMENT ON COLUMN bs.t IS E'escaped \\ and \' and \\! in a comment';
INSERT INTO bs (id, t, b) VALUES
  (1, '\! touch /tmp/pgdb-bs-data', '\x5c21'),
  (2, E'line one\n\\.\nline three', '\x5c2e0a'),
  (3, E'\\\\\\', '\x5c5c5c'),
  (4, E'tab\there\\n and \\t', NULL),
  (5, '\connect postgres', '\x00'),
  (6, E'\\copy t FROM PROGRAM ''touch /tmp/pgdb-bs-copy''', NULL),
  (7, E'\\.', NULL),
  (8, '$$ \o /tmp/pgdb-bs-o $$ $fn$', NULL);
CREATE FUNCTION f_dollar() RETURNS text LANGUAGE sql AS $$ SELECT '\! touch /tmp/pgdb-bs-fn' || E'\\' || $q$\connect x$q$ $$;
CREATE FUNCTION f_named() RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  -- \! touch /tmp/pgdb-bs-fn2 (a comment in the body)
  /* \o /tmp/pgdb-bs-fn3 */
  RETURN $$\i /etc/passwd$$ || '\connect' || E'\\g |id';
END
$fn$;
COMMENT ON FUNCTION f_named() IS $c$\! in a dollar-quoted comment$c$;
CREATE VIEW v AS SELECT '\\!'::text AS a, E'\\o /tmp/x'::text AS b, $v$\copy$v$::text AS c;
ALTER TABLE bs OWNER TO bs_owner;
`;

for (const [label, image] of [
  ['15', IMAGE_OLD],
  ['17', IMAGE_NEW],
] as const) {
  describe(`real pg_dump ${label} output full of backslashes restores unchanged`, function () {
    let pg: PgTestContainer;
    let dir: string;
    const definitions = (database: string) =>
      sql(
        pg,
        database,
        `SELECT string_agg(x, E'\\n' ORDER BY x) FROM (SELECT pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid, 'pg_proc'), '') AS x FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
           UNION ALL SELECT coalesce(obj_description('bs'::regclass, 'pg_class'), '') || coalesce(col_description('bs'::regclass, 2), '') || pg_get_viewdef('v'::regclass)
           UNION ALL SELECT string_agg(pg_get_expr(d.adbin, d.adrelid), ',') FROM pg_attrdef d WHERE d.adrelid = 'bs'::regclass
           UNION ALL SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'bs'::regclass) s`,
      );
    before(async function () {
      await requireDocker();
      pg = await startPostgres(`hostile-bs${label}`, { image });
      await sql(pg, 'postgres', 'CREATE DATABASE bs');
      await psqlScript(pg, 'bs', BACKSLASHES);
      dir = await tempDir(`hostile-bs${label}`);
    });
    after(cleanup);

    it('through the .sql.gz (gunzip in the container) and as a plain .sql (checked on this machine)', async function () {
      const b = await cli(['backup', pg.name, '--database', 'bs', '--dir', dir, '--json']);
      assert.equal(b.code, 0, show(b));
      const gz = String(b.json!.path);
      const plain = path.join(dir, 'bs-plain.sql');
      await fs.writeFile(plain, zlib.gunzipSync(await fs.readFile(gz)));
      assert.match(await fs.readFile(plain, 'utf8'), /\\\\!/, 'the dump really holds backslashes (COPY data)');
      const want = { fp: await fingerprint(pg, 'bs'), defs: await definitions('bs') };
      for (const [file, db] of [
        [gz, 'bs_from_gz'],
        [plain, 'bs_from_sql'],
      ]) {
        const r = await cli(['restore', file, '--to', pg.name, '--database', db, '--yes']);
        assert.equal(r.code, 0, show(r));
        assert.deepEqual(await fingerprint(pg, db), want.fp, `${db}: the same data`);
        assert.equal(await definitions(db), want.defs, `${db}: the same functions, comments, defaults, view and owner`);
      }
      for (const m of ['/tmp/pgdb-bs-data', '/tmp/pgdb-bs-fn', '/tmp/pgdb-bs-fn2', '/tmp/pgdb-bs-o', '/tmp/pgdb-bs-copy', '/tmp/pgdb-bs-comment']) {
        assert.equal(await existsIn(pg, m), false, `${m} was not created`);
      }
    });
  });
}

describe('hostile: write load, names, container names, symlinks, lying manifests, stderr floods, secrets', function () {
  const PASSWORD = 'Pw-7Zq9x-hunter2-ÄÖ';
  let pg: PgTestContainer;
  let dir: string;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('hostile-misc', { password: PASSWORD });
    dir = await tempDir('hostile-misc');
  });
  after(cleanup);

  it('a backup taken while pgbench writes restores to a consistent state', async function () {
    await sql(pg, 'postgres', 'CREATE DATABASE loaded');
    let r = await docker().exec(pg.name, ['pgbench', '-i', '-q', '-s', '2', '-U', pg.user, 'loaded']);
    assert.equal(r.exitCode, 0, r.stderr);
    const bench = docker().exec(pg.name, ['pgbench', '-n', '-c', '2', '-T', '10', '-U', pg.user, 'loaded']);
    await waitFor('pgbench to write', async () => Number((await sql(pg, 'loaded', 'SELECT count(*) FROM pgbench_history')).trim()) > 100, 30000);
    const b = await cli(['backup', pg.name, '--database', 'loaded', '--dir', dir, '--json']);
    assert.equal(b.code, 0, show(b));
    r = await bench;
    assert.equal(r.exitCode, 0, `pgbench ran during the backup: ${r.stderr}`);
    const restored = await cli(['restore', String(b.json!.path), '--to', pg.name, '--database', 'loaded_copy', '--yes']);
    assert.equal(restored.code, 0, show(restored));
    const sums = (
      await sql(
        pg,
        'loaded_copy',
        `SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ',' || (SELECT sum(tbalance) FROM pgbench_tellers) || ',' || (SELECT sum(bbalance) FROM pgbench_branches) || ',' || (SELECT sum(delta) FROM pgbench_history) || ',' || (SELECT count(*) FROM pgbench_history)`,
      )
    )
      .trim()
      .split(',');
    assert.ok(Number(sums[4]) > 0, 'the backup holds transactions');
    assert.deepEqual(sums.slice(0, 4), [sums[3], sums[3], sums[3], sums[3]], 'sum(abalance) = sum(tbalance) = sum(bbalance) = sum(history.delta)');
  });

  it('database, schema, table and role names with quotes, ;, $(), backticks, ../, newlines and Unicode: written under the backup folder only, round-trip', async function () {
    // 61 bytes with the scratch database's suffix (__restoring_YYYYMMDD_HHMMSS): within Postgres's 63.
    const db = 'd"\';$(touch /tmp/n1)`id`../\né🐘';
    const schema = 's"; $(id) `id` ../..';
    const table = "t'\"; ../..\n√";
    const role = 'r"$(touch /tmp/pgdb-n2)`id`;\'../';
    assert.ok(Buffer.byteLength(db) + '__restoring_20260101_000000'.length <= 63);
    await sql(pg, 'postgres', `CREATE ROLE ${quoteIdent(role)}`);
    await sql(pg, 'postgres', `CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(role)}`);
    await sql(pg, db, `CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(role)}; CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(table)} (id int, v text); INSERT INTO ${quoteIdent(schema)}.${quoteIdent(table)} SELECT g, ${quoteLiteral('$(id) `id` ../\n')} || g FROM generate_series(1, 100) g; ALTER TABLE ${quoteIdent(schema)}.${quoteIdent(table)} OWNER TO ${quoteIdent(role)}`);
    const want = await fingerprint(pg, db);
    const root = await tempDir('hostile-names');
    const backups = path.join(root, 'backups');
    const b = await cli(['backup', pg.name, '--database', db, '--dir', backups, '--json']);
    assert.equal(b.code, 0, show(b));
    const file = String(b.json!.path);
    assert.ok((await fs.realpath(file)).startsWith((await fs.realpath(backups)) + path.sep), `written under the backup folder: ${file}`);
    for (const f of await filesUnder(root)) assert.ok(f.startsWith(`backups${path.sep}`), `nothing written outside it: ${f}`);
    assert.equal(JSON.parse(await fs.readFile(`${file}.json`, 'utf8')).database, db, 'the manifest names the database exactly');
    const listed = await cli(['backups', '--dir', backups, '--json']);
    assert.deepEqual((listed.json!.backups as { database: string }[]).map((x) => x.database), [db]);

    await sql(pg, db, `DELETE FROM ${quoteIdent(schema)}.${quoteIdent(table)} WHERE id > 50`);
    const r = await cli(['restore', file, '--yes', '--json']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await fingerprint(pg, db), want, 'round-trips');
    assert.equal((await sql(pg, db, `SELECT tableowner FROM pg_tables WHERE schemaname = ${quoteLiteral(schema)}`)).replace(/\n$/, ''), role, 'with its owner');
    for (const m of ['/tmp/n1', '/tmp/pgdb-n2']) {
      assert.equal(await existsIn(pg, m), false, `no shell in the container ran ${m}`);
      await assert.rejects(fs.stat(m), `no shell on this machine ran ${m}`);
    }
  });

  it('a database name of 60 bytes (the scratch name would pass Postgres’s 63) round-trips', async function () {
    const db = `long_${'ü'.repeat(20)}${'x'.repeat(15)}`;
    assert.equal(Buffer.byteLength(db), 60);
    await sql(pg, 'postgres', `CREATE DATABASE ${quoteIdent(db)}`);
    await sql(pg, db, 'CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g');
    const want = await fingerprint(pg, db);
    const b = await cli(['backup', pg.name, '--database', db, '--dir', dir, '--json']);
    assert.equal(b.code, 0, show(b));
    await sql(pg, db, 'DELETE FROM t WHERE g > 10');
    const r = await cli(['restore', String(b.json!.path), '--yes']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await fingerprint(pg, db), want);
  });

  describe('hostile container names and symlinks', function () {
    let good: string;
    before(async function () {
      await sql(pg, 'postgres', 'CREATE DATABASE small');
      await sql(pg, 'small', 'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g');
      const b = await cli(['backup', pg.name, '--database', 'small', '--dir', dir, '--json']);
      assert.equal(b.code, 0, show(b));
      good = String(b.json!.path);
    });

    const HOSTILE_CONTAINERS = ['../../containers/x', 'x;touch /tmp/pgdb-c1', '$(touch /tmp/pgdb-c2)', '`touch /tmp/pgdb-c3`', 'a/b', '-H tcp://1.2.3.4', 'x\ny', ''];

    it('through a manifest’s container field (the default restore target): refused, nothing ran', async function () {
      const d = await tempDir('hostile-cname');
      for (const [i, name] of HOSTILE_CONTAINERS.entries()) {
        const file = path.join(d, `small_2026010${i}_000000.sql.gz`);
        await fs.copyFile(good, file);
        const m = JSON.parse(await fs.readFile(`${good}.json`, 'utf8'));
        await fs.writeFile(`${file}.json`, JSON.stringify({ ...m, file: path.basename(file), container: name }));
        const r = await cli(['restore', file, '--yes']);
        assert.equal(r.code, 2, `${JSON.stringify(name)}: ${show(r)}`);
        assert.match(r.stderr, /--to/, `says how to name the container: ${r.stderr}`);
      }
      for (const m of ['/tmp/pgdb-c1', '/tmp/pgdb-c2', '/tmp/pgdb-c3']) await assert.rejects(fs.stat(m));
      assert.deepEqual(await scratch(pg), []);
    });

    it('through folder names of a runbook file without a manifest: refused, nothing ran', async function () {
      const d = await tempDir('hostile-folders');
      for (const folder of ['%2E%2E%2F%2E%2E%2Fx', '$(touch %2Ftmp%2Fpgdb-f1)', 'x%3Btouch %2Ftmp%2Fpgdb-f2', '`id`', '%0Ax']) {
        const sub = path.join(d, folder, 'small');
        await fs.mkdir(sub, { recursive: true });
        const file = path.join(sub, 'small_20260101_000000.sql.gz');
        await fs.copyFile(good, file);
        const r = await cli(['restore', file, '--yes']);
        assert.equal(r.code, 2, `${folder}: ${show(r)}`);
      }
      const listed = await cli(['backups', '--dir', d, '--json']);
      assert.equal(listed.code, 0, show(listed));
      for (const m of ['/tmp/pgdb-f1', '/tmp/pgdb-f2']) await assert.rejects(fs.stat(m));
    });

    it('a backup symlinked out of the backup folder and a folder symlink: not listed, not deleted through', async function () {
      const outside = await tempDir('hostile-outside');
      const target = path.join(outside, 'small_20260101_000000.sql.gz');
      await fs.copyFile(good, target);
      await fs.mkdir(path.join(outside, 'small'));
      const deep = path.join(outside, 'small', 'small_20260101_000000.sql.gz');
      await fs.copyFile(good, deep);
      const d = await tempDir('hostile-links');
      await fs.mkdir(path.join(d, 'c', 'small'), { recursive: true });
      await fs.symlink(target, path.join(d, 'c', 'small', 'small_20260102_000000.sql.gz'));
      await fs.symlink(path.join(outside, 'small'), path.join(d, 'c', 'linked'));
      await fs.symlink(outside, path.join(d, 'linkedroot'));
      // A "partial file" that is a symlink to something outside: a listing must not remove what it points at.
      await fs.symlink(target, path.join(d, 'c', 'small', 'small_20260103_000000.sql.gz.999999@nohost.partial'));
      const listed = await listBackups(d);
      assert.deepEqual(listed.map((b) => b.path), [], 'no symlinked backup or folder is followed');
      const cliList = await cli(['backups', '--dir', d, '--json']);
      assert.deepEqual(cliList.json!.backups, []);
      await deleteBackup(path.join(d, 'c', 'small', 'small_20260102_000000.sql.gz')).catch(() => undefined);
      await deleteBackup(path.join(d, 'c', 'linked', 'small_20260101_000000.sql.gz')).catch(() => undefined);
      await deleteBackup(path.join(d, 'linkedroot', 'small_20260101_000000.sql.gz')).catch(() => undefined);
      assert.ok(await fs.stat(target), 'the file a symlinked backup pointed at is still there');
      assert.ok(await fs.stat(deep), 'the file behind a folder symlink is not deleted through it');
      assert.ok(await fs.stat(`${good}`), 'the real backup is there');
    });
  });

  describe('a manifest that lies is caught before the swap: scratch dropped, live untouched', function () {
    let sqlGz: string;
    let custom: string;
    let live: Awaited<ReturnType<typeof fingerprint>>;
    before(async function () {
      await sql(pg, 'postgres', 'CREATE DATABASE honest');
      await sql(pg, 'honest', "CREATE TABLE t AS SELECT g AS id, 'row ' || md5(g::text) AS v FROM generate_series(1, 20000) g");
      const a = await cli(['backup', pg.name, '--database', 'honest', '--dir', dir, '--json']);
      const b = await cli(['backup', pg.name, '--database', 'honest', '--dir', dir, '--format', 'custom', '--compression', '0', '--json']);
      assert.equal(a.code + b.code, 0, show(a) + show(b));
      [sqlGz, custom] = [String(a.json!.path), String(b.json!.path)];
      await sql(pg, 'honest', "UPDATE t SET v = 'live' WHERE id = 1");
      live = await fingerprint(pg, 'honest');
    });

    async function liar(from: string, name: string, change: (m: Record<string, unknown>) => Record<string, unknown>, file?: (b: Buffer) => Buffer): Promise<string> {
      const d = await tempDir(`liar-${name}`);
      const to = path.join(d, path.basename(from));
      const bytes = await fs.readFile(from);
      await fs.writeFile(to, file ? file(bytes) : bytes);
      await fs.writeFile(`${to}.json`, JSON.stringify(change(JSON.parse(await fs.readFile(`${from}.json`, 'utf8')))));
      return to;
    }
    async function assertCaught(file: string, extra: string[] = []): Promise<CliRun> {
      const r = await cli(['restore', file, '--to', pg.name, '--yes', ...extra]);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, /manifest|checksum|sha256/i, `the error says the file does not match its manifest: ${r.stderr}`);
      assert.deepEqual(await fingerprint(pg, 'honest'), live, 'the live database is untouched');
      assert.deepEqual(await scratch(pg), [], 'no scratch database is left');
      return r;
    }

    it('size', async function () {
      await assertCaught(await liar(sqlGz, 'size', (m) => ({ ...m, bytes: Number(m.bytes) + 1 })));
    });
    it('checksum: one byte of table data changed after the backup (same size)', async function () {
      const file = await liar(custom, 'sha', (m) => m, (b) => {
        const i = b.indexOf('row ');
        assert.ok(i > 0);
        const c = Buffer.from(b);
        c[i] = 'R'.charCodeAt(0);
        return c;
      });
      await assertCaught(file);
    });
    it('format', async function () {
      await assertCaught(await liar(sqlGz, 'format', (m) => ({ ...m, format: 'custom' })));
    });
    it('database: the manifest names another database than the archive holds', async function () {
      await assertCaught(await liar(custom, 'db', (m) => ({ ...m, database: 'other' })));
      assert.ok(!(await databases(pg)).some((d) => d.startsWith('other')), 'no database "other" was created');
    });
  });

  it('a restore flooding stderr (200k notices) keeps bounded memory', async function () {
    const file = path.join(dir, 'flood.sql');
    await fs.writeFile(
      file,
      [
        '--',
        '-- PostgreSQL database dump',
        '--',
        'CREATE TABLE f (i int);',
        "DO $$ BEGIN FOR i IN 1..200000 LOOP RAISE NOTICE 'flood % %', i, repeat('x', 200); END LOOP; END $$;",
        "DO $$ BEGIN FOR i IN 1..50000 LOOP RAISE WARNING 'warn % %', i, repeat('y', 200); END LOOP; END $$;",
        'INSERT INTO f VALUES (1);',
        '--',
        '-- PostgreSQL database dump complete',
        '--',
        '',
      ].join('\n'),
    );
    let peakKiB = 0;
    let pid = 0;
    const run = cli(['restore', file, '--to', pg.name, '--database', 'flood', '--yes'], {}, { onSpawn: (p) => (pid = p) });
    const poll = setInterval(() => {
      fs.readFile(`/proc/${pid}/status`, 'utf8').then(
        (s) => (peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0))),
        () => undefined,
      );
    }, 100);
    const r = await run;
    clearInterval(poll);
    assert.equal(r.code, 0, show(r).slice(0, 2000));
    assert.ok(peakKiB > 0, 'measured');
    console.log(`      peak RSS of the CLI during a 55 MB stderr flood: ${(peakKiB / 1024).toFixed(0)} MiB`);
    assert.ok(peakKiB < 160 * 1024, `the CLI's peak RSS stayed bounded: ${peakKiB} KiB`);
    assert.equal((await sql(pg, 'flood', 'SELECT count(*) FROM f')).trim(), '1');
  });

  it('secrets: the password, a passphrase, an age identity and a notify token show in no argv, trace log, manifest, error message or JSON output', async function () {
    const env = { PG_DOCKER_BACKUP_LOG: 'trace', PG_DOCKER_BACKUP_PASSWORD: PASSWORD };
    const PASSPHRASE = 'pp-h1dden-passphrase-42';
    const TOKEN = 'tok-s3cr3t-t0ken';
    const others: string[] = [PASSPHRASE, TOKEN];
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ps = spawn('ps', ['-eo', 'args'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        ps.stdout.on('data', (c) => (out += c));
        await once(ps, 'close');
        for (const line of out.split('\n')) if ([PASSWORD, 'hunter2', ...others].some((x) => line.includes(x))) seen.push(line);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const d = await tempDir('hostile-secrets');
    await sql(pg, 'postgres', 'CREATE DATABASE secretive');
    await sql(pg, 'secretive', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 50000) g');
    const runs: CliRun[] = [];
    const b = await cli(['backup', pg.name, '--database', 'secretive', '--dir', d, '--json'], env);
    runs.push(b);
    assert.equal(b.code, 0, show(b));
    runs.push(await cli(['restore', String(b.json!.path), '--to', pg.name, '--database', 'secretive', '--yes', '--json'], env));
    runs.push(await cli(['reset', pg.name, '--database', 'secretive', '--dir', d, '--yes', '--json'], env));
    runs.push(await cli(['restore', path.join(d, 'missing.sql.gz'), '--to', pg.name, '--yes'], env));
    runs.push(await cli(['restore', String(b.json!.path), '--to', 'no-such-container', '--yes', '--json'], env));
    runs.push(await cli(['backup', pg.name, '--database', 'no_such_db', '--dir', d, '--json'], env));
    // encryption: a passphrase (environment only), an identity file; a notify URL whose path is a token
    const keyDir = await tempDir('hostile-secrets-key');
    const key = path.join(keyDir, 'id.txt');
    const k = await cli(['keygen', '-o', key, '--json']);
    others.push(/AGE-SECRET-KEY-1\S+/.exec(await fs.readFile(key, 'utf8'))![0]);
    const withPass = { ...env, PG_DOCKER_BACKUP_PASSPHRASE: PASSPHRASE };
    // the notify URL through the environment, as the README says for URLs that carry a token
    const e = await cli(['backup', pg.name, '--database', 'secretive', '--dir', d, '--passphrase', '--json'], { ...withPass, PG_DOCKER_BACKUP_NOTIFY_URL: `http://127.0.0.1:9/ping/${TOKEN}` });
    runs.push(e);
    assert.equal(e.code, 0, show(e));
    runs.push(await cli(['restore', String(e.json!.path), '--to', pg.name, '--database', 'secretive', '--passphrase', '--yes', '--json'], withPass));
    runs.push(await cli(['restore', String(e.json!.path), '--to', pg.name, '--database', 'secretive', '--yes', '--json'], { ...env, PG_DOCKER_BACKUP_PASSPHRASE: `${PASSPHRASE}-wrong` }));
    const r = await cli(['backup', pg.name, '--database', 'secretive', '--dir', d, '--recipient', String(k.json!.publicKey), '--json'], env);
    runs.push(r);
    runs.push(await cli(['restore', String(r.json!.path), '--to', pg.name, '--database', 'secretive', '--identity', key, '--yes', '--json'], env));
    runs.push(await cli(['restore', String(r.json!.path), '--to', pg.name, '--database', 'secretive', '--identity', path.join(keyDir, 'missing.txt'), '--yes', '--json'], env));
    watching = false;
    await watcher;
    assert.equal(runs[1].code, 0, show(runs[1]));
    assert.equal(runs[2].code, 0, show(runs[2]));
    assert.ok(runs[0].stderr.length > 1000, 'trace logging was on');
    for (const r of runs) {
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD) && !r.stderr.includes('hunter2'), `no password in output: ${show(r).slice(0, 500)}`);
      for (const x of others) assert.ok(!r.stdout.includes(x) && !r.stderr.includes(x), `no secret in output: ${show(r).slice(0, 500)}`);
    }
    assert.equal(runs[runs.length - 4].code, 2, 'a wrong passphrase is refused');
    for (const f of await filesUnder(d)) {
      const text = await fs.readFile(path.join(d, f), 'latin1');
      assert.ok(!text.includes('hunter2'), `no password in ${f}`);
      for (const x of others) assert.ok(!text.includes(x), `no secret in ${f}`);
    }
    assert.deepEqual(seen, [], 'no password in any process’s argv');
  });
});
