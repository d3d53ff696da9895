import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isPgBackupError } from '../../src/core/errors';
import { isLz4, lz4Decoder, lz4Layer } from '../../src/core/pipeline/lz4';
import { sniffLayers } from '../../src/core/pipeline/layers';
import { xxh32, Xxh32 } from '../../src/core/pipeline/xxh32';
import { isZstd, zstdDecoder, zstdLayer } from '../../src/core/pipeline/zstd';
import { outputAndError, sha256, through } from './codecHelpers';

const DIR = path.join(__dirname, '..', 'fixtures', 'codecs');
const fixture = (name: string) => readFileSync(path.join(DIR, name));
/** sha256 of mixed.bin (sample.sql + 32 KiB random + sample.sql), which the fixtures compress (README.md). */
const MIXED = '418710577d6163a2e8ed410005855963f7b363317cb1c440d5750fab4441a6b8';
const SAMPLE = fixture('sample.sql');
const CHUNK_SIZES = [1, 7, 4096, 65536, 1 << 20];

describe('zstd and lz4 decoders (files made by the real CLIs)', function () {
  this.timeout(20000); // a loaded 2-CPU machine
  const cases: Array<[string, () => ReturnType<typeof zstdDecoder>, string]> = [
    ['mixed.bin.zst', zstdDecoder, MIXED],
    ['sample.sql.19.zst', zstdDecoder, sha256(SAMPLE)],
    ['mixed.bin.lz4', lz4Decoder, MIXED],
    ['mixed.bin.linked.lz4', lz4Decoder, MIXED],
    ['mixed.bin.blockcrc.lz4', lz4Decoder, MIXED],
  ];
  for (const [name, decoder, want] of cases) {
    it(`${name} decodes byte for byte in chunks of ${CHUNK_SIZES.join(', ')} bytes`, async () => {
      const data = fixture(name);
      for (const size of CHUNK_SIZES.filter((s) => s > 1 || data.length < 200_000)) {
        assert.equal(sha256(await through(decoder(), data, size)), want, `chunk size ${size}`);
      }
    });
  }

  it('reads concatenated frames and skips skippable frames (zstd and lz4)', async () => {
    const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('hello')]);
    const zst = fixture('sample.sql.19.zst');
    const z = await through(zstdDecoder(), Buffer.concat([skippable, zst, zst]), 1000);
    assert.ok(z.equals(Buffer.concat([SAMPLE, SAMPLE])));
    const lz = fixture('mixed.bin.linked.lz4');
    const l = await through(lz4Decoder(), Buffer.concat([lz, skippable, lz]), 1000);
    assert.equal(l.length, 2 * (SAMPLE.length * 2 + 32768));
  });

  it('sniffs zstd, lz4 and skippable frames, and peeks at what they hold', () => {
    assert.ok(isZstd(fixture('mixed.bin.zst')) && !isLz4(fixture('mixed.bin.zst')));
    assert.ok(isLz4(fixture('mixed.bin.lz4')) && !isZstd(fixture('mixed.bin.lz4')));
    assert.ok(isZstd(Buffer.from([0x5e, 0x2a, 0x4d, 0x18])) && isLz4(Buffer.from([0x50, 0x2a, 0x4d, 0x18])));
    assert.ok(!isZstd(SAMPLE) && !isLz4(SAMPLE) && !isZstd(Buffer.from([0x28, 0xb5])));
    for (const name of ['sample.sql.19.zst', 'mixed.bin.linked.lz4']) {
      const found = sniffLayers(fixture(name).subarray(0, 48 * 1024));
      assert.deepEqual(found.layers.map((l) => l.algorithm), [name.endsWith('zst') ? 'zstd' : 'lz4']);
      assert.ok(found.content.length > 0 && SAMPLE.subarray(0, found.content.length).equals(found.content), name);
    }
    assert.equal(zstdLayer.extension, '.zst');
    assert.equal(lz4Layer.extension, '.lz4');
  });

  for (const [name, decoder, codec] of [
    ['mixed.bin.zst', zstdDecoder, 'zstd'],
    ['mixed.bin.lz4', lz4Decoder, 'lz4'],
    ['mixed.bin.linked.lz4', lz4Decoder, 'lz4'],
  ] as const) {
    it(`${name}: a cut-off file fails with "damaged … ends early", wherever it is cut`, async () => {
      const data = fixture(name);
      for (const cut of [3, 10, 1000, data.length >> 1, data.length - 1]) {
        const { error } = await outputAndError(decoder(), data.subarray(0, cut), 4096);
        assert.ok(isPgBackupError(error, 'failed'), `cut at ${cut}: ${error.message}`);
        assert.match(error.message, new RegExp(`^The backup is damaged: its ${codec} data (ends early|is not valid)`), `cut at ${cut}`);
      }
    });
  }

  it('lz4: a changed byte fails (checksums, or the block checks) instead of giving wrong data', async () => {
    for (const name of ['mixed.bin.lz4', 'mixed.bin.linked.lz4', 'mixed.bin.blockcrc.lz4']) {
      const data = Buffer.from(fixture(name));
      for (const at of [5, 20, 5000, 100_000, data.length - 2]) {
        const bad = Buffer.from(data);
        bad[at] ^= 0x10;
        const { error } = await outputAndError(lz4Decoder(), bad);
        assert.match(error.message, /^The backup is damaged: its lz4 data/, `${name} byte ${at}`);
      }
    }
  });

  it('zstd: damaged structures fail with a clear error; empty input too', async () => {
    const bad = Buffer.from(fixture('mixed.bin.zst'));
    bad[4] = 0xff; // frame header descriptor with the reserved bit set
    assert.match((await outputAndError(zstdDecoder(), bad)).error.message, /^The backup is damaged: its zstd data is not valid zstd/);
    assert.match((await outputAndError(zstdDecoder(), Buffer.alloc(0))).error.message, /zstd data is empty/);
    assert.match((await outputAndError(lz4Decoder(), Buffer.alloc(0))).error.message, /lz4 data is empty/);
    assert.match((await outputAndError(lz4Decoder(), SAMPLE)).error.message, /lz4 data is not valid lz4 \(not an LZ4 frame\)/);
  });

  it('xxh32 matches the reference vectors, streamed in any split', () => {
    assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
    assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
    assert.equal(xxh32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
    for (const split of [1, 3, 16, 17, 1000]) {
      const h = new Xxh32();
      for (let i = 0; i < SAMPLE.length; i += split) h.update(SAMPLE.subarray(i, i + split));
      assert.equal(h.digest(), xxh32(SAMPLE), `split ${split}`);
    }
  });
});
