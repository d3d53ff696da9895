import * as assert from 'node:assert/strict';
import { decideSelection } from '../../src/core/restore/selectivePlan';
import { parseArchiveToc } from '../../src/core/restore/toc';

/** A pg_dump 17 directory dump's toc.dat (archive 1.16, format 3: each entry ends with its data file's name), built byte by byte. */
function tocDat(entries: { id: number; desc: string; tag: string; owner: string; deps: number[]; file?: string }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGDMP'), Buffer.from([1, 16, 0, 4, 8, 3, 0])];
  const int = (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = v < 0 ? 1 : 0;
    b.writeUInt32LE(Math.abs(v), 1);
    parts.push(b);
  };
  const str = (s: string | undefined) => {
    if (s === undefined) return int(-1);
    int(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  for (let i = 0; i < 7; i++) int(0);
  str('shop');
  str('17.6');
  str('17.6');
  int(entries.length);
  for (const e of entries) {
    int(e.id);
    int(e.file ? 1 : 0);
    str('0');
    str('0');
    str(e.tag);
    str(e.desc);
    int(e.desc === 'TABLE DATA' ? 3 : 2);
    str(e.desc === 'TABLE' ? `CREATE TABLE public.${e.tag} (id int);` : '');
    str('');
    str('');
    str('public');
    str(undefined);
    str('heap');
    int(114);
    str(e.owner);
    str('false');
    for (const d of e.deps) str(String(d));
    str(undefined);
    str(e.file);
  }
  return Buffer.concat(parts);
}

/** A tar of the dump's folder as backup --format directory writes it: toc.dat first, then the data files. */
function tarOf(files: [string, Buffer][]): Buffer {
  const out: Buffer[] = [];
  for (const [name, data] of files) {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000600\0', 100);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('ustar\u000000', 257);
    out.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...out, Buffer.alloc(1024)]);
}

describe('a directory dump’s table of contents (toc.dat at the head of its tar)', function () {
  const entries = [
    { id: 210, desc: 'TABLE', tag: 'album', owner: 'app', deps: [] },
    { id: 211, desc: 'TABLE', tag: 'artist', owner: 'app', deps: [] },
    { id: 3400, desc: 'TABLE DATA', tag: 'album', owner: 'app', deps: [210], file: '3400.dat.gz' },
    { id: 3401, desc: 'TABLE DATA', tag: 'artist', owner: 'app', deps: [211], file: '3401.dat.gz' },
  ];
  const tar = tarOf([['toc.dat', tocDat(entries)], ['3400.dat.gz', Buffer.alloc(3000, 7)], ['3401.dat.gz', Buffer.alloc(10, 1)]]);

  it('reads the entries from the tar, the data files’ names skipped', function () {
    const toc = parseArchiveToc(tar);
    assert.deepEqual(toc?.entries.map((e) => [e.id, e.desc, e.namespace, e.tag, e.owner, e.deps]), entries.map((e) => [e.id, e.desc, 'public', e.tag, e.owner, e.deps]));
  });

  it('needs only the tar’s first bytes, and says when they end before the TOC does', function () {
    const size = 512 + tocDat(entries).length;
    assert.equal(parseArchiveToc(tar.subarray(0, size))?.entries.length, 4);
    assert.equal(parseArchiveToc(tar.subarray(0, size - 1)), undefined, 'cut off: read more');
    assert.equal(parseArchiveToc(tar.subarray(0, 300)), undefined);
  });

  it('refuses a tar whose first member is not toc.dat', function () {
    assert.throws(() => parseArchiveToc(tarOf([['data.csv', Buffer.from('1,2\n')]])), /not a pg_dump custom-format archive or the tar of a directory dump/);
  });

  it('tables are picked from a directory backup as from a custom one', function () {
    const toc = parseArchiveToc(tar)!;
    const plan = decideSelection({ fileName: 'shop.dir.tar', format: 'directory', toc, database: 'two', liveExists: false }, { tables: ['album'] });
    assert.equal(plan?.mode, 'new-database');
    assert.deepEqual(plan?.tables, ['public.album']);
    assert.deepEqual(plan?.listIds, [210, 3400]);
  });
});
