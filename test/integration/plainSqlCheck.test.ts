import * as assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPgBackupError } from '../../src/core/errors';
import { PlainSqlCheck, checkPlainSql } from '../../src/core/restore/plainSqlCheck';
import { IMAGE_NEW, IMAGE_OLD, cleanup, docker, requireDocker, sql, startPostgres, type PgTestContainer } from './harness';

/** Objects whose data, comments, bodies and literals are full of backslashes (sent with psql -c: no psql lexing). */
const HOSTILE_SCHEMA = String.raw`
CREATE TABLE "we\ird" (id int PRIMARY KEY, t text, b bytea, j jsonb DEFAULT '{"p": "C:\\dir\\"}', r text DEFAULT '\d+\s*\\');
COMMENT ON TABLE "we\ird" IS 'table \! not a command \o /tmp/x \\ end';
COMMENT ON COLUMN "we\ird".t IS E'escaped \\ backslash \t tab and a \' quote';
INSERT INTO "we\ird" VALUES
  (1, E'\\.', '\x5c2e0a', '{"k": "\\\\"}', 'x'),
  (2, E'line\n\\.\nafter a fake end-of-data line\n\\! id\n\\connect other', '\x00ff5c', '[]', E'\\'),
  (3, E'tab\there\r\ncrlf \\N not null', NULL, '{}', '\'),
  (4, NULL, '', '"\\u0041"', E'\\\\restrict abc');
CREATE FUNCTION dollar(x text) RETURNS text LANGUAGE sql AS $$ SELECT x || E'\\' || '\! not a command' $$;
CREATE FUNCTION tagged(x text) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  -- \! in a comment inside the body
  RETURN x || $$ \o /tmp/out $$ || E'\\' || '\';
END
$fn$;
CREATE FUNCTION legacy() RETURNS text LANGUAGE plpgsql SET standard_conforming_strings = off AS $body$
BEGIN
  RETURN E'off: \\ \' and ' || '\\' ;
END
$body$;
CREATE VIEW v AS SELECT id, regexp_replace(t, '\s+', ' ', 'g') AS squashed, t ~ '^\\' AS starts FROM "we\ird";
CREATE TABLE plain (n int, s text);
INSERT INTO plain SELECT g, repeat(E'\\', g % 5) || md5(g::text) FROM generate_series(1, 2000) g;
`;

async function pgDump(pg: PgTestContainer, database: string): Promise<Buffer> {
  const out: Buffer[] = [];
  const r = await docker().exec(pg.name, ['pg_dump', '-w', '-U', pg.user, '-d', database, '-Fp'], {
    env: { PGPASSWORD: pg.password },
    stdout: new Writable({ write: (c: Buffer, _e, cb) => { out.push(c); cb(); } }),
  });
  if (r.exitCode !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
  return Buffer.concat(out);
}

/** Streams `dump` through the gate in uneven chunks; returns the bytes it let through, or its error. */
async function throughGate(dump: Buffer): Promise<{ out: Buffer; error?: Error }> {
  const out: Buffer[] = [];
  const sizes = [1, 7, 4096, 3, 65536, 13];
  function* chunks(): Generator<Buffer> {
    for (let o = 0, k = 0; o < dump.length; k++) {
      const n = sizes[k % sizes.length];
      yield dump.subarray(o, o + n);
      o += n;
    }
  }
  try {
    await pipeline(Readable.from(chunks(), { objectMode: false }), new PlainSqlCheck({ fileName: 'dump.sql' }), new Writable({ write: (c: Buffer, _e, cb) => { out.push(c); cb(); } }));
    return { out: Buffer.concat(out) };
  } catch (e) {
    return { out: Buffer.concat(out), error: e as Error };
  }
}

const CONTENT = `SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT format('%s %s %s %s %s', id, t, encode(b, 'hex'), j, r) AS x FROM "we\\ird"
  UNION ALL SELECT format('%s %s', n, s) FROM plain
  UNION ALL SELECT dollar('a') || tagged('b') || legacy()
  UNION ALL SELECT coalesce(obj_description('"we\\ird"'::regclass), '') || coalesce(col_description('"we\\ird"'::regclass, 2), '')
  UNION ALL SELECT pg_get_viewdef('v'::regclass)) q`;

for (const image of [IMAGE_OLD, IMAGE_NEW]) {
  describe(`the plain SQL gate on real pg_dump output (${image})`, function () {
    let pg: PgTestContainer;
    let dump: Buffer;

    before(async function () {
      await requireDocker();
      pg = await startPostgres(`gate-${image.replace(/\W+/g, '-')}`, { image });
      await sql(pg, 'postgres', 'CREATE DATABASE src');
      await sql(pg, 'src', HOSTILE_SCHEMA);
      dump = await pgDump(pg, 'src');
    });
    after(cleanup);

    it('passes the dump through byte for byte, and psql restores the same content from what it let through', async () => {
      assert.ok(dump.includes('\\! id'), 'the data holds a \\! line');
      const whole = checkPlainSql(dump, 'dump.sql');
      assert.equal(whole.refusal, undefined, whole.refusal?.message);
      assert.equal(whole.sawDumpComplete, true);
      assert.ok(whole.copyBlocks >= 2);
      const { out, error } = await throughGate(dump);
      assert.equal(error, undefined, error?.message);
      assert.ok(out.equals(dump), 'the gate changed the bytes');

      await sql(pg, 'postgres', 'CREATE DATABASE copy');
      const r = await docker().exec(pg.name, ['psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-U', pg.user, '-d', 'copy'], {
        stdin: Readable.from([out]),
        env: { PGPASSWORD: pg.password },
      });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await sql(pg, 'copy', CONTENT), await sql(pg, 'src', CONTENT));
    });

    it('says whether this pg_dump writes \\restrict lines, and the gate accepts them', function () {
      const restrict = /^\\restrict ([A-Za-z0-9]+)$/m.exec(dump.toString('utf8'));
      this.test!.title += restrict ? ' (it does)' : ' (it does not)';
      if (restrict) assert.ok(dump.toString('utf8').includes(`\n\\unrestrict ${restrict[1]}\n`));
    });

    it('refuses the same dump with an injected \\! line, naming its line, and lets nothing from that line through', async () => {
      const text = dump.toString('utf8');
      const at = text.indexOf('\nCREATE TABLE') + 1;
      const evil = Buffer.from(`${text.slice(0, at)}\\! touch /tmp/escaped\n${text.slice(at)}`, 'utf8');
      const line = text.slice(0, at).split('\n').length;
      const { out, error } = await throughGate(evil);
      assert.ok(error && isPgBackupError(error, 'refused'), error?.message ?? 'not refused');
      assert.equal(error.message, `dump.sql line ${line}: the psql meta-command "\\! touch /tmp/escaped" would run outside the database (psql meta-commands in a backup can run shell commands). Nothing was changed. If you trust this file, restore it with --allow-meta-commands.`);
      assert.ok(out.length <= Buffer.byteLength(text.slice(0, at)), 'bytes of the \\! line reached psql');

      const midLine = Buffer.from(text.replace(/^(INSERT|SELECT pg_catalog\.set_config)(.*;)$/m, '$1$2 \\! id'), 'utf8');
      const refused = checkPlainSql(midLine, 'dump.sql').refusal;
      assert.equal(refused?.kind, 'metaCommand');
      assert.equal(refused.text, '\\! id');
    });
  });
}
