import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { decoders, layerFor, sniffLayers, stagesExtension } from '../../src/core/pipeline/layers';
import type { StageRecord } from '../../src/core/pipeline/stage';
import { openInput } from '../../src/core/restore/input';
import { inspectSource } from '../../src/core/restore/source';
import { upgradeManifest } from '../../src/core/backup/manifest';

const DUMP = Buffer.from('--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 17.2\n-- Dumped by pg_dump version 17.2\n\nCREATE TABLE t (i int);\n' + 'x'.repeat(300_000) + '\n--\n-- PostgreSQL database dump complete\n--\n\n');
const gzip: StageRecord = { kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' };

async function collect(chunks: Buffer[], transforms: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline([Readable.from(chunks), ...transforms, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) })]);
  return Buffer.concat(out);
}

function split(buf: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return parts;
}

describe('stages: encode then decode, sniffing layer by layer', () => {
  let dir: string;
  before(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-stages-'))));
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('gzip encoded then decoded returns the input byte for byte, whatever the chunking', async () => {
    for (const size of [1, 7, 4096, 1 << 20]) {
      const input = size < 100 ? DUMP.subarray(0, 3000) : DUMP;
      const encoded = await collect(split(input, size), [layerFor('gzip').encoder!(gzip)]);
      const decoded = await collect(split(encoded, size), decoders([gzip]));
      assert.ok(decoded.equals(input), `chunks of ${size}`);
    }
  });

  it('sniffs the layers down to the dump header, and names the file suffix they add', () => {
    const gz = zlib.gzipSync(DUMP);
    const peeled = sniffLayers(gz.subarray(0, 65536));
    assert.deepEqual(peeled.layers.map((l) => l.algorithm), ['gzip']);
    assert.match(peeled.content.toString('utf8', 0, 40), /PostgreSQL database dump/);
    assert.deepEqual(sniffLayers(DUMP).layers, []);
    assert.equal(stagesExtension([gzip]), '.gz');
    assert.equal(stagesExtension([]), '');
  });

  it('a file whose layers do not match its manifest is refused before anything runs', async () => {
    const file = path.join(dir, 'shop_20261125_110000.sql.gz');
    await fs.writeFile(file, DUMP); // not gzipped, although the manifest says so
    await fs.writeFile(file + '.json', JSON.stringify({ manifestVersion: 2, tool: 'pg-docker-backup', file: path.basename(file), container: 'db', containerId: 'x', image: 'i', database: 'shop', serverVersion: '17.2', pgDumpVersion: '17.2', format: 'sql', stages: [gzip], options: { tables: [], schemas: [], noOwner: false }, bytes: DUMP.length, sha256: '0', created: new Date().toISOString(), durationMs: 1, rowCounts: 'exact', tables: [] }));
    await assert.rejects(inspectSource(file), (e: Error & { kind?: string }) => {
      assert.equal(e.kind, 'refused');
      assert.match(e.message, /does not match its manifest \(the manifest says its layers are gzip, the file shows none\)/);
      return true;
    });
  });

  it('a damaged layer is one clear error naming the file', async () => {
    const file = path.join(dir, 'broken.sql.gz');
    const gz = zlib.gzipSync(DUMP);
    gz[Math.floor(gz.length / 2)] ^= 0xff;
    await fs.writeFile(file, gz);
    const cut = path.join(dir, 'cut.sql.gz');
    await fs.writeFile(cut, gz.subarray(0, gz.length - 100));
    for (const [f, why] of [[file, /broken\.sql\.gz is damaged: its gzip data is corrupt/], [cut, /cut\.sql\.gz is damaged: its gzip data ends early/]] as const) {
      const input = openInput({ path: f, fileName: path.basename(f), format: 'sql', stages: [gzip] }, () => undefined);
      input.stream.resume();
      await assert.rejects(input.done, why);
    }
  });

  it('bytes that do not hash to the manifest\'s sha256 fail before the stream ends', async () => {
    const file = path.join(dir, 'lied.sql');
    await fs.writeFile(file, DUMP);
    const input = openInput({ path: file, fileName: 'lied.sql', format: 'sql', stages: [], sha256: 'ab'.repeat(32) }, () => undefined);
    let passed = 0;
    input.stream.on('data', (c: Buffer) => (passed += c.length));
    await assert.rejects(input.done, /lied\.sql does not match its manifest: its sha256 is [0-9a-f]{64}, the manifest says abab/);
    const ok = openInput({ path: file, fileName: 'lied.sql', format: 'sql', stages: [], sha256: createHash('sha256').update(DUMP).digest('hex') }, () => undefined);
    ok.stream.resume();
    await ok.done;
    assert.ok(passed <= DUMP.length);
  });

  it('a plain dump without pg_dump\'s last line is refused as incomplete', async () => {
    const file = path.join(dir, 'short.sql');
    await fs.writeFile(file, DUMP.subarray(0, 1000));
    const input = openInput({ path: file, fileName: 'short.sql', format: 'sql', stages: [] }, () => undefined);
    input.stream.resume();
    await assert.rejects(input.done, /short\.sql is incomplete/);
  });

  it('reads version-1 manifests as version 2 (gzip in the container for plain, inside the archive for custom)', () => {
    const v1 = { manifestVersion: 1, format: 'sql', compression: { algorithm: 'gzip', level: 6 } };
    assert.deepEqual(upgradeManifest(v1)?.stages, [{ kind: 'compress', algorithm: 'gzip', level: 6, where: 'container' }]);
    const c1 = upgradeManifest({ ...v1, format: 'custom' });
    assert.deepEqual([c1?.stages, c1?.archiveCompression], [[], { algorithm: 'gzip', level: 6 }]);
    assert.equal(upgradeManifest({ manifestVersion: 9 }), undefined);
  });
});
