import * as assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlainSqlCheck, checkPlainSql } from '../../src/core/restore/plainSqlCheck';
import { isPgBackupError } from '../../src/core/errors';

interface GateRun {
  output: Buffer;
  error?: Error;
}

/** Runs input through the gate in the given chunks; returns what reached "psql" and the error. */
async function gate(chunks: Buffer[], allowMetaCommands = false): Promise<GateRun> {
  const out: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => { out.push(c); cb(); } });
  try {
    await pipeline(Readable.from(chunks, { objectMode: false }), new PlainSqlCheck({ fileName: 'evil.sql', allowMetaCommands }), sink);
    return { output: Buffer.concat(out) };
  } catch (e) {
    return { output: Buffer.concat(out), error: e as Error };
  }
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    parts.push(buf.subarray(prev, c));
    prev = c;
  }
  return parts.filter((p) => p.length > 0);
}

/** Every split into two, every split into single bytes, and random chunkings. */
function chunkings(buf: Buffer): Buffer[][] {
  const all: Buffer[][] = [[buf]];
  for (let i = 1; i < buf.length; i++) all.push(splitAt(buf, [i]));
  all.push([...buf].map((b) => Buffer.from([b])));
  let seed = buf.length * 7919 + 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let n = 0; n < 20; n++) {
    const cuts = new Set<number>();
    const k = 1 + Math.floor(rnd() * 6);
    for (let j = 0; j < k; j++) cuts.add(1 + Math.floor(rnd() * (buf.length - 1)));
    all.push(splitAt(buf, [...cuts].sort((a, b) => a - b)));
  }
  return all;
}

/** Asserts the gate refuses `sql` at `line` naming `command`, however the input is chunked, and forwards nothing from that line on. */
async function assertRefused(sql: string, line: number, command?: string | RegExp, decidedAt?: number): Promise<void> {
  const buf = Buffer.from(sql, 'utf8');
  const whole = checkPlainSql(buf, 'evil.sql');
  assert.ok(whole.refusal, `expected a refusal for ${JSON.stringify(sql)}`);
  assert.equal(whole.refusal.line, line, whole.refusal.message);
  if (typeof command === 'string') assert.ok(whole.refusal.message.includes(`"${command}"`), whole.refusal.message);
  else if (command) assert.match(whole.refusal.message, command);
  const lineStart = sql.split('\n').slice(0, line - 1).join('\n').length + (line > 1 ? 1 : 0);
  // Bytes before the point where the check decides may reach psql (they read the same either way); none from there on.
  const badAt = Buffer.byteLength(sql.slice(0, decidedAt ?? (typeof command === 'string' ? sql.indexOf(command, lineStart) : lineStart)));
  for (const chunks of chunkings(buf)) {
    const r = await gate(chunks);
    assert.ok(r.error && isPgBackupError(r.error, 'refused'), `chunks ${chunks.map((c) => c.length)}: ${r.error?.message ?? 'no error'}`);
    assert.equal(r.error.message, whole.refusal.message);
    assert.ok(r.output.length <= badAt, `forwarded ${r.output.length} bytes, the command starts at ${badAt}`);
    assert.ok(buf.subarray(0, r.output.length).equals(r.output));
  }
}

/** Asserts the gate passes `sql` byte for byte however it is chunked. */
async function assertPassed(sql: string | Buffer): Promise<void> {
  const buf = typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql;
  const whole = checkPlainSql(buf);
  assert.equal(whole.refusal, undefined, whole.refusal?.message);
  for (const chunks of chunkings(buf)) {
    const r = await gate(chunks);
    assert.equal(r.error, undefined, `chunks ${chunks.map((c) => c.length)}: ${r.error?.message}`);
    assert.ok(r.output.equals(buf), `chunks ${chunks.map((c) => c.length)}: output differs`);
  }
}

describe('plain SQL meta-command gate', () => {
  describe('refuses', () => {
    it('\\! on its own line, naming the line and the command', async () => {
      await assertRefused('--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\n\\! touch /tmp/escaped\nINSERT INTO t VALUES (1);\n', 5, '\\! touch /tmp/escaped');
      assert.equal(
        checkPlainSql('SELECT 1;\n\\! touch /tmp/escaped\n', 'evil.sql').refusal?.message,
        'evil.sql line 2: the psql meta-command "\\! touch /tmp/escaped" would run outside the database (psql meta-commands in a backup can run shell commands). Nothing was changed. If you trust this file, restore it with --allow-meta-commands.',
      );
    });
    it('a meta-command mid-line after a semicolon', () => assertRefused('CREATE TABLE t (i int);\nINSERT INTO t VALUES (1); \\! id\n', 2, '\\! id'));
    it('\\connect and \\c', async () => {
      await assertRefused('SELECT 1;\n\\connect other\nSELECT 2;\n', 2, '\\connect other');
      await assertRefused('\\c postgres\n', 1, '\\c postgres');
    });
    it('backtick arguments, also on \\restrict', async () => {
      await assertRefused('\\connect `id`\n', 1, '\\connect `id`');
      await assertRefused('\\restrict `touch /tmp/x`\nSELECT 1;\n', 1, '\\restrict `touch /tmp/x`');
      await assertRefused('\\restrict abc `id`\n', 1, '\\restrict abc `id`');
      await assertRefused('\\restrict abc extra\n', 1, '\\restrict abc extra');
    });
    it('\\o, \\copy ... program, \\g |cmd, \\gexec, \\set, \\i, \\ir', async () => {
      await assertRefused('SELECT 1;\n\\o /tmp/out\n', 2, '\\o /tmp/out');
      await assertRefused("\\copy t from program 'id'\n", 1, "\\copy t from program 'id'");
      await assertRefused('SELECT 1 \\g |sh\n', 1, '\\g |sh');
      await assertRefused("SELECT 'x'\n\\gexec\n", 2, '\\gexec');
      await assertRefused('\\set x 1\n', 1, '\\set x 1');
      await assertRefused('\\i /etc/passwd\n', 1, '\\i /etc/passwd');
      await assertRefused('\\ir other.sql\n', 1, '\\ir other.sql');
    });
    it('a meta-command after a comment ended by \\r, and after a string closed mid-line', async () => {
      await assertRefused('SELECT 1; -- note\r\\! id\n', 1, '\\! id');
      await assertRefused("SELECT 'a\nb'\\restrict abc\n", 2, "\\restrict abc");
    });
    it('\\unrestrict with another key, a second \\restrict, \\. outside COPY data', async () => {
      await assertRefused('\\restrict abc\nSELECT 1;\n\\unrestrict abd\n', 3, /\\unrestrict abd" does not match/);
      await assertRefused('\\unrestrict abc\n', 1, /does not match/);
      await assertRefused('\\restrict abc\n\\restrict abd\n', 2, '\\restrict abd');
      await assertRefused('SELECT 1;\n\\.\n', 2, '\\.');
    });
    it('the line after a COPY block ends', () => assertRefused('COPY t (a) FROM stdin;\n\\\\\n\\.\n\\! id\n', 4, '\\! id'));
    it('a dollar sign inside an identifier does not open a dollar-quoted body', () => assertRefused('SELECT x$$ \\! id $$;\n', 1, '\\! id $$;'));
    it('strings whose end depends on standard_conforming_strings', async () => {
      const sneaky = "SET standard_conforming_strings = off;\nSELECT 'x\\'; \\! id\n--';\n";
      await assertRefused(sneaky, 2, /standard_conforming_strings/, sneaky.indexOf("\\'") + 1);
      await assertRefused("SELECT 'C:\\';\n", 1, /backslash before a quote/, 11);
    });
    it('NUL bytes, numbers run into words, COPY forms pg_dump does not write', async () => {
      await assertRefused('SELECT 1;\0\'\n\\! id\n', 1, /NUL/, 9);
      await assertRefused('SELECT 1begin;\n', 1, /number runs straight into a word/, 8);
      await assertRefused('COPY t FROM stdin WITH (FORMAT csv);\n', 1, /COPY/, 35);
      const atomic = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; COPY t FROM stdin; END;\n';
      await assertRefused(atomic, 1, /COPY/, atomic.indexOf('; END'));
    });
    it('a meta-command line longer than any pg_dump writes', () => assertRefused(`\\restrict ${'a'.repeat(64)}\n`, 1, /restrict a+…?"/));
  });

  describe('passes byte for byte', () => {
    it('\\restrict / \\unrestrict pairs with the same key, also with CRLF', async () => {
      await assertPassed('\\restrict Ab1\nSELECT 1;\n\\unrestrict Ab1\n');
      await assertPassed('\\restrict Ab1\r\nSELECT 1;\r\n\\unrestrict Ab1\r\n');
      await assertPassed(`\\restrict ${'k'.repeat(63)}\n\\unrestrict ${'k'.repeat(63)}`);
    });
    it('backslashes in string literals, E strings with \\\' , identifiers and comments', async () => {
      await assertPassed("SELECT 'a\\b\\\\c', '\\d+', E'it\\'s \\\\ \\! ', E'\\\\', \"we\\ird\"\"\\\", B'01', X'\\1';\n");
      await assertPassed("COMMENT ON TABLE t IS 'line one\n\\! not a command\nline three';\n");
      await assertPassed("SELECT 1; -- \\! id\n/* \\! /* nested \\o */ \\! still */ SELECT 2;\n");
    });
    it('dollar-quoted bodies, a $fn$ body with $$ inside', async () => {
      await assertPassed('SELECT $$ \\! $$;\nCREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$\nBEGIN\n  RETURN $$\n\\! id\n$$ || $x$ \\o $x$;\nEND\n$fn$;\n');
      await assertPassed('SELECT $a$ $b$ \\! $A$ $a$, $1, f($2);\n');
    });
    it('COPY data full of backslashes, a \\.x line that is data, several blocks', async () => {
      const sql = 'COPY public.t (a, b) FROM stdin;\n\\\\\t\\N\n\\t\\n\\r\\\\.\n\\.x\n\\! data\n\\.\nCOPY u FROM STDIN;\n\\connect x\n\\.\r\nSELECT 1;\n';
      await assertPassed(sql);
      assert.equal(checkPlainSql(sql).copyBlocks, 2);
    });
    it('a COPY line followed by more SQL on the same line, and a string left open across the data', async () => {
      await assertPassed("COPY a FROM stdin; COPY b FROM stdin; SELECT '\n\\! a\n\\.\n\\! b\n\\.\n still the string';\n");
    });
    it('SQL-standard function bodies (BEGIN ATOMIC ... END) and CASE inside them', async () => {
      await assertPassed('CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 END; SELECT 2; END;\nCOPY t FROM stdin;\n\\\\\n\\.\n');
    });
    it('multi-byte UTF-8 split anywhere and numbers with exponents', () =>
      assertPassed("SELECT 'Grüße 日本語 \\ ok', 1.5e-3, 2E+10, 3.;\n-- ünïcödé \\! comment\n"));
    it('everything, unchecked, with allowMetaCommands', async () => {
      const evil = Buffer.from('SELECT 1;\n\\! id\n');
      const r = await gate(splitAt(evil, [3, 12]), true);
      assert.equal(r.error, undefined);
      assert.ok(r.output.equals(evil));
    });
  });

  it('reports pg_dump\'s closing line only when nothing but comments, blanks and \\unrestrict follow it', () => {
    const end = '--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n';
    assert.equal(checkPlainSql(`\\restrict abc\nSELECT 1;\n${end}`).sawDumpComplete, true);
    assert.equal(checkPlainSql(`\\restrict abc\nSELECT 1;\n${end}SELECT 2;\n`).sawDumpComplete, false);
    assert.equal(checkPlainSql('SELECT 1;\n').sawDumpComplete, false);
    assert.equal(checkPlainSql("SELECT '\n-- PostgreSQL database dump complete\n';\n").sawDumpComplete, false);
    assert.equal(checkPlainSql('a;\nb;\nc;').lines, 3);
  });
});
