// Throughput of the plain-SQL meta-command gate (src/core/restore/plainSqlCheck.ts) on pg_dump-like text:
// mostly COPY data (pgbench-style rows and md5 text with some backslashes), plus DDL, functions and comments.
//   node --import=tsx bench/plainSqlCheck.ts [--mb 300] [--chunk 65536]
// Prints MB/s and writes bench/results/plain-sql-check.json.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlainSqlCheck, checkPlainSql } from '../src/core/restore/plainSqlCheck';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const totalMb = arg('mb', 300);
const chunkSize = arg('chunk', 65536);

/** One self-contained stretch of dump text (~8 MB): DDL, a function, and COPY blocks. */
function section(n: number): Buffer {
  const parts: string[] = [
    `--\n-- Name: t${n}; Type: TABLE; Schema: public; Owner: app\n--\n\n`,
    `CREATE TABLE public.t${n} (\n    aid integer NOT NULL,\n    bid integer,\n    abalance integer,\n    filler character(84),\n    note text DEFAULT '\\d+ path C:\\tmp'::text\n);\n\n`,
    `CREATE FUNCTION public.f${n}(x text) RETURNS text\n    LANGUAGE plpgsql\n    AS $fn$\nBEGIN\n  RETURN regexp_replace(x, E'\\\\s+', ' ', 'g') || $$ \\! not a command $$;\nEND\n$fn$;\n\n`,
    `COMMENT ON TABLE public.t${n} IS 'rows with backslashes \\ and ''quotes''';\n\n`,
    `COPY public.t${n} (aid, bid, abalance, filler, note) FROM stdin;\n`,
  ];
  const rows: string[] = [];
  for (let i = 1; i <= 60000; i++) {
    const md5 = createHash('md5').update(String(i * n)).digest('hex');
    const note = i % 7 === 0 ? `a\\\\b\\tc\\n${md5}` : i % 11 === 0 ? '\\N' : `${md5} ${md5.slice(0, 16)}`;
    rows.push(`${i}\t${(i % 30) + 1}\t${(i * 37) % 10000 - 5000}\t${' '.repeat(36)}${md5.slice(0, 12)}\t${note}\n`);
  }
  parts.push(rows.join(''), '\\.\n\n\n');
  return Buffer.from(parts.join(''), 'utf8');
}

async function main(): Promise<void> {
  const head = Buffer.from('--\n-- PostgreSQL database dump\n--\n\n\\restrict BenchKey123\n\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config(\'search_path\', \'\', false);\n\n');
  const tail = Buffer.from('--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict BenchKey123\n\n');
  const sections = [section(1), section(2), section(3)];
  const per = sections[0].length;
  const count = Math.max(1, Math.round((totalMb * 1024 * 1024) / per));
  const bytes = head.length + tail.length + sections.reduce((a, s, i) => a + s.length * Math.ceil((count - i) / 3), 0);
  if (checkPlainSql(Buffer.concat([head, sections[0], tail])).refusal) throw new Error('the generated dump was refused');

  function* chunks(): Generator<Buffer> {
    yield head;
    for (let i = 0; i < count; i++) {
      const s = sections[i % 3];
      for (let o = 0; o < s.length; o += chunkSize) yield s.subarray(o, o + chunkSize);
    }
    yield tail;
  }

  const measure = async (check: boolean): Promise<number> => {
    const started = process.hrtime.bigint();
    const gate = new PlainSqlCheck({ fileName: 'bench.sql', allowMetaCommands: !check });
    await pipeline(Readable.from(chunks(), { objectMode: false, highWaterMark: 4 }), gate, new Writable({ write: (_c, _e, cb) => cb() }));
    if (check && (!gate.sawDumpComplete || gate.copyBlocks !== count)) throw new Error('the gate missed the closing line or a COPY block');
    return Number(process.hrtime.bigint() - started) / 1e9;
  };

  await measure(true); // warm-up
  const runs = 3;
  const checked: number[] = [];
  const passthrough: number[] = [];
  for (let r = 0; r < runs; r++) {
    checked.push(await measure(true));
    passthrough.push(await measure(false));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mb = bytes / 1024 / 1024;
  const result = {
    inputMiB: Math.round(mb),
    chunkBytes: chunkSize,
    runs,
    checkedSecondsMedian: median(checked),
    checkedMiBPerSecond: Math.round(mb / median(checked)),
    passthroughMiBPerSecond: Math.round(mb / median(passthrough)),
    target: 'at least 400 MB/s on typical pg_dump output through the PlainSqlCheck stream stage',
    pass: mb / median(checked) >= 400,
    node: process.version,
  };
  console.log(`${result.inputMiB} MiB in ${chunkSize}-byte chunks: checked ${result.checkedMiBPerSecond} MiB/s, stream pass-through ${result.passthroughMiBPerSecond} MiB/s`);
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'plain-sql-check.json'), `${JSON.stringify(result, null, 2)}\n`);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
