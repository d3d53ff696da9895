import * as assert from 'node:assert/strict';
import { detectBackupContent, tarFirstMember } from '../../src/core/backup/format';
import type { BackupManifest } from '../../src/core/backup/manifest';
import { pgDumpArgv } from '../../src/core/backup/pgDump';
import type { DatabaseProperties } from '../../src/core/postgres/admin';
import { roomWantedKiB } from '../../src/core/postgres/containerTemp';
import { matchesContainerPattern } from '../../src/extension/encryptionKeys';
import { decideRestore, encodingStep, type RestoreFacts } from '../../src/core/restore/plan';
import type { BackupSource } from '../../src/core/restore/source';
import { BACKUP_FILE_PATTERN, backupFileName, parseBackupFileName } from '../../src/core/store/naming';

/** toc.dat's first bytes as pg_dump 17 writes them (the custom header: K_VERS_1_16, intSize 4, gzip). */
function tocHeader(db: string, version: string): Buffer {
  const int = (n: number) => Buffer.concat([Buffer.from([0]), Buffer.from(Uint32Array.of(n).buffer)]);
  const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([Buffer.from('PGDMP'), Buffer.from([1, 16, 0, 4, 8, 5, 1]), ...[5, 4, 3, 23, 10, 126, 0].map(int), str(db), str(version), str(version), Buffer.alloc(64)]);
}

/** A tar member header (ustar, as GNU tar writes it) followed by `data`. */
function tar(name: string, data: Buffer, magic = 'ustar  \0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('0', 156);
  h.write(magic, 257, 'latin1');
  return Buffer.concat([h, data]);
}

const now = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));

function dirSource(o: { encoding?: string } = {}): BackupSource {
  const manifest = { options: { tables: [], schemas: [], noOwner: false, encoding: o.encoding }, tables: [], database: 'shop', sha256: 'ab' } as unknown as BackupManifest;
  return {
    entry: { path: '/b/x', fileName: 'shop_20261125_110000.dir.tar', sizeBytes: 1000, modified: now, created: now, container: 'db', database: 'shop', format: 'directory', gzipped: false, pgDumpVersion: '17.2', manifest, source: 'manifest' },
    format: 'directory',
    stages: [],
    content: { format: 'directory', gzipped: false, pgDumpVersion: '17.2', pgDumpMajor: 17 },
  };
}

function facts(src: BackupSource, o: { cpus?: number; liveEncoding?: string } = {}): RestoreFacts {
  return {
    source: src,
    container: { id: 'c1', name: 'db', protected: false },
    server: { version: '17.2', versionNum: 170002, major: 17 },
    maintenanceDb: 'postgres',
    databases: ['postgres', 'shop'].map((name) => ({ name, sizeBytes: 1, owner: 'u', allowConnections: true, connections: 0 })),
    liveProperties: { name: 'shop', owner: 'u', encoding: o.liveEncoding ?? 'UTF8', collate: 'C', ctype: 'C', tablespace: 'pg_default', connectionLimit: -1, allowConnections: true } as DatabaseProperties,
    runningApps: [],
    cpus: o.cpus ?? 2,
  };
}

describe('the directory format (a pg_dump -Fd folder stored as one tar)', () => {
  it('is recognised by its first tar member toc.dat, with the versions and database from its header', () => {
    for (const name of ['toc.dat', './toc.dat']) {
      const c = detectBackupContent(tar(name, tocHeader('shop ü', '17.2 (Debian)')));
      assert.equal(c.format, 'directory', name);
      assert.equal(c.database, 'shop ü');
      assert.equal(c.pgDumpMajor, 17);
    }
    // POSIX ustar magic too
    assert.equal(detectBackupContent(tar('toc.dat', tocHeader('a', '15.4'), 'ustar\u000000')).format, 'directory');
  });

  it('is not claimed for other tars, or a toc.dat that is not pg_dump\'s', () => {
    assert.equal(detectBackupContent(tar('3500.dat.gz', tocHeader('a', '17.2'))).format, 'unknown');
    assert.equal(detectBackupContent(tar('toc.dat', Buffer.alloc(600))).format, 'unknown');
    assert.equal(tarFirstMember(Buffer.alloc(100)), undefined);
    assert.equal(tarFirstMember(Buffer.alloc(1024)), undefined, 'no ustar magic');
  });

  it('is named .dir.tar (then any stage suffix), and such names are listed as backups', () => {
    assert.equal(backupFileName('shop', 'directory', now), 'shop_20261125_120000.dir.tar');
    for (const f of ['shop_20261125_120000.dir.tar', 'shop_20261125_120000.dir.tar.age']) {
      assert.ok(BACKUP_FILE_PATTERN.test(f), f);
      assert.equal(parseBackupFileName(f)?.database, 'shop');
    }
    assert.equal(BACKUP_FILE_PATTERN.test('shop_20261125_120000.tar'), false);
  });

  it('runs pg_dump -Fd with the jobs asked for (the folder is added where it is made)', () => {
    const argv = pgDumpArgv({ user: 'u' }, 'shop', { format: 'directory', compressionLevel: 1, jobs: 2 });
    assert.deepEqual(argv.slice(argv.indexOf('-Fd'), argv.indexOf('-Fd') + 4), ['-Fd', '-Z1', '-j', '2']);
    assert.ok(!argv.includes('-f'));
  });

  it('restores with pg_restore -j from a temporary folder: the CPUs by default, or the jobs asked for', () => {
    const plan = decideRestore(facts(dirSource(), { cpus: 4 }), {}, now);
    assert.equal(plan.loader, 'pg_restore-directory');
    assert.equal(plan.jobs, 4);
    assert.match(plan.steps[0], /with 4 parallel jobs \(the tar is unpacked into a temporary folder in the container, removed afterwards\)/);
    assert.equal(decideRestore(facts(dirSource(), { cpus: 4 }), { jobs: 1 }, now).jobs, 1);
  });

  it('wants room for the data plus a quarter, at least 64 MiB to spare', () => {
    assert.equal(roomWantedKiB(0), 64 * 1024);
    assert.equal(roomWantedKiB(1024 * 1024 * 1024), (1024 + 256) * 1024);
  });
});

describe('a restore into a database of another encoding', () => {
  it('says so in the plan when the dump was made with pg_dump -E in another encoding', () => {
    const plan = decideRestore(facts(dirSource({ encoding: 'LATIN1' }), { liveEncoding: 'UTF8' }), {}, now);
    const step = plan.steps.find((s) => /encoding|dumped in/.test(s));
    assert.ok(step, plan.steps.join('\n'));
    assert.match(step!, /dumped in LATIN1 \(pg_dump -E\), "shop" is in UTF8: the server converts the text to UTF8/);
  });

  it('says nothing when the encodings are the same (spelt either way) or the dump has none recorded', () => {
    assert.equal(encodingStep({ database: 'shop', backup: { encoding: 'utf-8' } as never, liveProperties: { encoding: 'UTF8' } as DatabaseProperties }), '');
    assert.equal(encodingStep({ database: 'shop', backup: {} as never, liveProperties: { encoding: 'UTF8' } as DatabaseProperties }), '');
    assert.equal(encodingStep({ database: 'shop', backup: { encoding: 'LATIN1' } as never, liveProperties: undefined }), '');
    const plan = decideRestore(facts(dirSource({ encoding: 'UTF8' })), {}, now);
    assert.ok(!plan.steps.some((s) => /pg_dump -E/.test(s)));
  });
});

describe('the encryption.requiredFor setting', () => {
  it('matches container names by patterns with * and ?, literally otherwise', () => {
    assert.ok(matchesContainerPattern('prod-db-1', ['prod-*']));
    assert.ok(matchesContainerPattern('db1', ['db?']));
    assert.ok(!matchesContainerPattern('staging-db', ['prod-*']));
    assert.ok(!matchesContainerPattern('prodXdb', ['prod.db']), 'a dot is a dot');
    assert.ok(!matchesContainerPattern('anything', []));
  });
});
