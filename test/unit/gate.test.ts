import * as assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { EncodedPlainSqlGate } from '../../src/core/restore/gate';

const HEAD = '--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\nCREATE TABLE t (i int, s text);\n';
const TAIL = '\n--\n-- PostgreSQL database dump complete\n--\n\n';
const rows = (n: number) => Array.from({ length: n }, (_, i) => `${i}\tline ${i} with a \\\\ backslash and \\N`).join('\n');
const CLEAN = Buffer.from(`${HEAD}COPY public.t (i, s) FROM stdin;\n${rows(20000)}\n\\.\n${TAIL}`);
const EVIL = Buffer.from(`${HEAD}COPY public.t (i, s) FROM stdin;\n${rows(20000)}\n\\.\nINSERT INTO t VALUES (1, 'x'); \\! touch /tmp/escaped\n${rows(100).replace(/\t/g, ' -- ')}\n${TAIL}`);

/** Runs `gz` through the gate in chunks of `size`; returns what it let through and how it ended. */
async function gate(gz: Buffer, size: number, allow = false): Promise<{ out: Buffer; error?: Error }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < gz.length; i += size) parts.push(gz.subarray(i, i + size));
  const out: Buffer[] = [];
  const error = await pipeline(Readable.from(parts), new EncodedPlainSqlGate(zlib.createGunzip(), 'evil.sql.gz', allow), new Writable({ write: (c, _e, cb) => (out.push(c), cb()) })).then(
    () => undefined,
    (e: Error) => e,
  );
  return { out: Buffer.concat(out), error };
}

/** What a gunzip in the container would make of the bytes that got through. */
function decodedPrefix(gz: Buffer): string {
  try {
    return zlib.gunzipSync(gz, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
  } catch {
    return '';
  }
}

describe('the gate for plain dumps decompressed in the container', () => {
  for (const level of [1, 9]) {
    it(`lets a clean gzipped dump through byte for byte (gzip level ${level})`, async () => {
      const gz = zlib.gzipSync(CLEAN, { level });
      for (const size of [97, 4096, 65536, 1 << 20]) {
        const r = await gate(gz, size);
        assert.equal(r.error, undefined, `chunks of ${size}`);
        assert.ok(r.out.equals(gz), `chunks of ${size}: the same compressed bytes`);
      }
    });

    it(`never lets the compressed bytes of a \\! line through (gzip level ${level})`, async () => {
      const gz = zlib.gzipSync(EVIL, { level });
      for (const size of [13, 512, 4096, 65536, 1 << 20]) {
        const r = await gate(gz, size);
        assert.ok(r.error, `chunks of ${size}: refused`);
        assert.match(r.error!.message, /evil\.sql\.gz line \d+: the psql meta-command "\\! touch \/tmp\/escaped"/);
        const seen = decodedPrefix(r.out);
        assert.ok(!seen.includes('\\! touch'), `chunks of ${size}: the container could not decode the command (${seen.length} bytes decodable)`);
        assert.ok(r.out.length < gz.length);
      }
    });
  }

  it('holds the last bytes back until the gzip trailer and pg_dump\'s last line are checked', async () => {
    const cut = zlib.gzipSync(Buffer.from(`${HEAD}INSERT INTO t VALUES (1, 'a');\n`));
    const r = await gate(cut, 1 << 20);
    assert.match(r.error?.message ?? '', /is incomplete: it does not end with pg_dump's/);
    assert.ok(r.out.length < cut.length, 'the end of the stream was not passed on');
    const truncated = zlib.gzipSync(CLEAN).subarray(0, 5000);
    const t = await gate(truncated, 1024);
    assert.ok(t.error, 'a truncated gzip fails');
  });

  it('with the user\'s explicit allowance, passes a file with meta-commands through', async () => {
    const gz = zlib.gzipSync(EVIL);
    const r = await gate(gz, 65536, true);
    assert.equal(r.error, undefined);
    assert.ok(r.out.equals(gz));
  });
});
