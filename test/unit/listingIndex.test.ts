import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describeBackup, listBackups, type BackupEntry } from '../../src/core/store/backupStore';
import { ListingIndex, listingIndexFolder, listingIndexPath, type IndexRecord, type StatKey } from '../../src/core/store/listingIndex';

/** Counts what a listing had to read (each read is remembered); racy window off, so fresh files are kept. */
class CountingIndex extends ListingIndex {
  reads: string[] = [];
  constructor(root: string, file: string | undefined) {
    super(root, file, 0);
  }
  override remember(rel: string, record: IndexRecord, now?: number): void {
    this.reads.push(rel);
    super.remember(rel, record, now);
  }
}

const plain = (version: string) => gzipSync(`--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version ${version}\n-- Dumped by pg_dump version ${version}\n\nSET statement_timeout = 0;\n`);

function manifestFor(file: string, created: string, extra: Record<string, unknown> = {}) {
  return {
    manifestVersion: 2, tool: 'test', file: path.basename(file), container: 'db1', containerId: 'c'.repeat(64), image: 'postgres:17', database: 'app',
    serverVersion: '17.2', pgDumpVersion: '17.2', format: 'sql', stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }],
    options: { tables: [], schemas: [], noOwner: false }, bytes: 3, sha256: 'a'.repeat(64), created, durationMs: 5, rowCounts: 'exact',
    tables: [{ schema: 'public', name: 't', rows: 1 }], ...extra,
  };
}

describe('listing index (cached manifests and content sniffs)', () => {
  let root: string;
  let dir: string;
  let indexFile: string;
  let ours: string;
  let runbook: string;
  let notes: string;

  const writeManifest = (file: string, m: object) => fs.writeFile(file + '.json', JSON.stringify(m, null, 2) + '\n');
  const list = (index: ListingIndex | false) => listBackups(dir, 3, { index });
  const tree = async () => (await fs.readdir(dir, { recursive: true })).sort();

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-index-'));
    dir = path.join(root, 'backups');
    indexFile = path.join(root, 'cache', 'index.json');
    const app = path.join(dir, 'db1', 'app');
    await fs.mkdir(app, { recursive: true });
    ours = path.join(app, 'app_20260101_020000.sql.gz');
    await fs.writeFile(ours, 'abc');
    await writeManifest(ours, manifestFor(ours, '2026-01-01T02:00:00.000Z'));
    // a second backup whose manifest is not one (it is described from its content)
    const broken = path.join(app, 'app_20260102_020000.sql.gz');
    await fs.writeFile(broken, plain('16.1'));
    await fs.writeFile(broken + '.json', '{ "not": "a manifest" }');
    const rb = path.join(dir, 'runbook');
    await fs.mkdir(rb);
    runbook = path.join(rb, 'benchmark_20251231_120000.sql.gz');
    await fs.writeFile(runbook, plain('15.4'));
    notes = path.join(rb, 'notes_20251230_120000.sql');
    await fs.writeFile(notes, 'hello, not SQL at all\u0000');
    // a symlink to a backup is never followed
    await fs.symlink(runbook, path.join(rb, 'link_20251231_130000.sql.gz'));
  });

  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('lists exactly what describeBackup says, cold, warm and without an index', async () => {
    const index = new CountingIndex(dir, indexFile);
    const cold = await list(index);
    const warm = await list(new CountingIndex(dir, indexFile));
    const none = await list(false);
    const direct = await Promise.all(cold.map((b) => describeBackup(b.path, dir)));
    assert.deepEqual(cold.map((b) => path.basename(b.path)), ['app_20260102_020000.sql.gz', 'app_20260101_020000.sql.gz', 'benchmark_20251231_120000.sql.gz', 'notes_20251230_120000.sql']);
    assert.deepEqual(warm, cold);
    assert.deepEqual(none, cold);
    assert.deepEqual(direct, cold);
    const byName = (name: string) => cold.find((b) => b.fileName === name) as BackupEntry;
    assert.equal(byName('app_20260101_020000.sql.gz').source, 'manifest');
    assert.equal(byName('app_20260102_020000.sql.gz').source, 'detected');
    assert.equal(byName('app_20260102_020000.sql.gz').pgDumpVersion, '16.1');
    assert.equal(byName('benchmark_20251231_120000.sql.gz').format, 'sql');
    assert.equal(byName('notes_20251230_120000.sql').format, 'unknown');
  });

  it('a second listing reads no manifest and sniffs no file; the index is 0600 and outside the backup folder', async () => {
    const before = await tree();
    const first = new CountingIndex(dir, indexFile);
    await list(first);
    assert.deepEqual(first.reads.sort(), ['db1/app/app_20260101_020000.sql.gz.json', 'db1/app/app_20260102_020000.sql.gz', 'db1/app/app_20260102_020000.sql.gz.json', 'runbook/benchmark_20251231_120000.sql.gz', 'runbook/notes_20251230_120000.sql']);
    const second = new CountingIndex(dir, indexFile);
    await list(second);
    assert.deepEqual(second.reads, []);
    assert.equal((await fs.stat(indexFile)).mode & 0o777, 0o600);
    assert.deepEqual(await tree(), before, 'listing leaves the backup folder as it was');
  });

  it('a manifest rewritten (a verification added) is read again', async () => {
    await list(new CountingIndex(dir, indexFile));
    await writeManifest(ours, manifestFor(ours, '2026-01-01T02:00:00.000Z', { verifications: [{ at: '2026-01-02T00:00:00.000Z', kind: 'quick', ok: true }] }));
    const again = new CountingIndex(dir, indexFile);
    const entries = await list(again);
    assert.deepEqual(again.reads, ['db1/app/app_20260101_020000.sql.gz.json']);
    assert.deepEqual(entries.find((b) => b.path === ours)?.manifest?.verifications, [{ at: '2026-01-02T00:00:00.000Z', kind: 'quick', ok: true }]);
  });

  it('a manifest rewritten with the same size and its old mtime put back is still read again (ctime)', async () => {
    const whole = new Date('2026-01-01T03:00:00.000Z'); // whole seconds: utimes puts it back exactly
    await fs.utimes(ours + '.json', whole, whole);
    await list(new CountingIndex(dir, indexFile));
    const st = await fs.stat(ours + '.json');
    await writeManifest(ours, manifestFor(ours, '2026-01-01T02:00:00.000Z', { sha256: 'b'.repeat(64) }));
    await fs.utimes(ours + '.json', whole, whole);
    const now = await fs.stat(ours + '.json');
    assert.deepEqual([now.size, now.mtimeMs, now.ino], [st.size, st.mtimeMs, st.ino], 'same size, mtime and inode');
    const entries = await list(new CountingIndex(dir, indexFile));
    assert.equal(entries.find((b) => b.path === ours)?.manifest?.sha256, 'b'.repeat(64));
  });

  it('a file without a manifest replaced by another of the same size is sniffed again', async () => {
    await list(new CountingIndex(dir, indexFile));
    const old = await fs.readFile(runbook);
    const custom = Buffer.alloc(old.length);
    Buffer.from('PGDMP').copy(custom);
    await fs.writeFile(runbook, custom);
    const again = new CountingIndex(dir, indexFile);
    const entries = await list(again);
    assert.deepEqual(again.reads, ['runbook/benchmark_20251231_120000.sql.gz']);
    assert.equal(entries.find((b) => b.path === runbook)?.format, 'custom');
  });

  it('a manifest that appears later is used; one that goes falls back to the content', async () => {
    const runbookManifest = { ...manifestFor(runbook, '2025-12-31T12:00:00.000Z'), container: 'from-manifest' };
    await list(new CountingIndex(dir, indexFile));
    await writeManifest(runbook, runbookManifest);
    assert.equal((await list(new CountingIndex(dir, indexFile))).find((b) => b.path === runbook)?.container, 'from-manifest');
    await fs.rm(ours + '.json');
    const entries = await list(new CountingIndex(dir, indexFile));
    assert.equal(entries.find((b) => b.path === ours)?.source, 'detected');
  });

  it('records of deleted files leave the index; a damaged index is rebuilt', async () => {
    await list(new CountingIndex(dir, indexFile));
    await fs.rm(runbook);
    await list(new CountingIndex(dir, indexFile));
    const saved = JSON.parse(await fs.readFile(indexFile, 'utf8')) as { records: Record<string, { key: StatKey }> };
    assert.ok(!('runbook/benchmark_20251231_120000.sql.gz' in saved.records));
    assert.ok('runbook/notes_20251230_120000.sql' in saved.records);
    await fs.writeFile(indexFile, '{ damaged');
    const rebuilt = new CountingIndex(dir, indexFile);
    assert.equal((await list(rebuilt)).length, 3);
    assert.equal(rebuilt.reads.length, 4);
    JSON.parse(await fs.readFile(indexFile, 'utf8'));
  });

  it('files changed in the last two seconds are not kept (they may change again within one timestamp tick)', async () => {
    const index = new ListingIndex(dir, indexFile);
    await listBackups(dir, 3, { index });
    const saved = await fs.readFile(indexFile, 'utf8').catch(() => undefined);
    assert.equal(saved, undefined, 'nothing old enough to keep, so no index was written');
  });

  it('index files live in the per-user cache folder, one per backup folder', () => {
    assert.equal(listingIndexFolder({ XDG_CACHE_HOME: '/c' }, 'linux', '/home/u'), '/c/pg-docker-backup/listing');
    assert.equal(listingIndexFolder({}, 'linux', '/home/u'), '/home/u/.cache/pg-docker-backup/listing');
    assert.equal(listingIndexFolder({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/pg-docker-backup/listing');
    assert.notEqual(listingIndexPath('/a/backups', '/c'), listingIndexPath('/b/backups', '/c'));
    assert.equal(path.dirname(listingIndexPath('/a/backups', '/c')), '/c');
  });
});
