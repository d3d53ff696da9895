import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { detectBackupContent, parseCustomHeader } from '../../src/core/backup/format';

const PLAIN = `--
-- PostgreSQL database dump
--

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 17.12 (Debian 17.12-0+deb13u1)

SET statement_timeout = 0;
`;

/** A custom archive header as pg_dump 17 writes it (K_VERS_1_16, intSize 4, offSize 8, gzip). */
function customHeader(db: string, server: string, dump: string, vmin = 16): Buffer {
  const int = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = n < 0 ? 1 : 0;
    b.writeUInt32LE(Math.abs(n), 1);
    return b;
  };
  const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from('PGDMP'),
    Buffer.from([1, vmin, 0, 4, 8, 1]),
    Buffer.from([1]), // compression algorithm: gzip
    ...[5, 4, 3, 23, 10, 126, 0].map(int),
    str(db),
    str(server),
    str(dump),
    Buffer.alloc(64),
  ]);
}

describe('backup format detection', () => {
  it('recognises a plain dump and reads both versions', () => {
    const c = detectBackupContent(Buffer.from(PLAIN));
    assert.equal(c.format, 'sql');
    assert.equal(c.gzipped, false);
    assert.equal(c.pgDumpVersion, '17.12');
    assert.equal(c.pgDumpMajor, 17);
    assert.equal(c.serverVersion, '15.18');
  });

  it('recognises a gzipped plain dump from a cut-off head (first 64 KiB only)', () => {
    const gz = zlib.gzipSync(Buffer.from(PLAIN + 'x'.repeat(200000)));
    const c = detectBackupContent(gz.subarray(0, 300));
    assert.equal(c.format, 'sql');
    assert.equal(c.gzipped, true);
    assert.equal(c.pgDumpMajor, 17);
  });

  it('reads database, server and pg_dump versions from a custom archive header, gzipped or not', () => {
    const h = customHeader('chinook ü', '17.12 (Debian)', '17.12 (Debian)');
    assert.deepEqual(parseCustomHeader(h), { archiveCompression: 'gzip', database: 'chinook ü', serverVersion: '17.12 (Debian)', pgDumpVersion: '17.12 (Debian)' });
    const c = detectBackupContent(zlib.gzipSync(h));
    assert.equal(c.format, 'custom');
    assert.equal(c.gzipped, true);
    assert.equal(c.pgDumpMajor, 17);
    assert.equal(c.database, 'chinook ü');
  });

  it('reads an older (1.14, pg_dump 15) header with an integer compression level', () => {
    const int = (n: number) => Buffer.from([0, n & 255, 0, 0, 0]);
    const str = (s: string) => Buffer.concat([int(s.length), Buffer.from(s)]);
    const h = Buffer.concat([Buffer.from('PGDMP'), Buffer.from([1, 14, 0, 4, 8, 1]), int(6), ...[1, 2, 3, 4, 5, 6, 0].map(int), str('db'), str('15.1'), str('15.1')]);
    assert.deepEqual(parseCustomHeader(h), { archiveCompression: 'gzip 6', database: 'db', serverVersion: '15.1', pgDumpVersion: '15.1' });
  });

  it('calls garbage unknown, and a pg_dumpall script a cluster dump', () => {
    assert.equal(detectBackupContent(Buffer.from([0, 1, 2, 3, 250, 251])).format, 'unknown');
    assert.equal(detectBackupContent(Buffer.from('hello world, not sql')).format, 'unknown');
    assert.equal(detectBackupContent(zlib.gzipSync(Buffer.from('\u0000\u0001binary'))).format, 'unknown');
    const all = detectBackupContent(Buffer.from('--\n-- PostgreSQL database cluster dump\n--\n'));
    assert.equal(all.cluster, true);
  });
});
