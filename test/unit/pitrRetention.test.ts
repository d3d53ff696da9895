import * as assert from 'node:assert/strict';
import type { BaseBackupEntry } from '../../src/core/pitr/baseStore';
import { asBaseManifest, upgradeManifest } from '../../src/core/backup/manifest';
import { ownerState } from '../../src/core/pitr/orphans';
import { planBaseRetention, planWalPrune, type ArchiveEntry } from '../../src/core/pitr/walRetention';
import { crontabBlock, pitrArgvs, systemdUnits, type ScheduledJob } from '../../src/core/schedule/units';
import { namedZone } from '../../src/core/store/calendar';

const UTC = namedZone('UTC');

/** A base backup consistent at `at`, whose WAL starts in segment `startSeg` (timeline 1). */
function base(at: string, startSeg: number, timeline = 1): BaseBackupEntry {
  const seg = `${timeline.toString(16).toUpperCase().padStart(8, '0')}00000000${startSeg.toString(16).toUpperCase().padStart(8, '0')}`;
  return {
    path: `/b/db/_base/_base_${at.replace(/\D/g, '').slice(0, 14)}.tar.gz`,
    fileName: `_base_${at}.tar.gz`,
    sizeBytes: 100,
    manifest: { kind: 'base', container: 'db', consistentAt: at, walFiles: [seg], stages: [] } as unknown as BaseBackupEntry['manifest'],
  };
}
const seg = (n: number, tl = 1) => `${tl.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`;
const files = (...names: string[]): ArchiveEntry[] => names.map((name) => ({ name, type: 'file' }));

describe('pitr prune: which base backups stay', function () {
  const now = new Date('2026-11-25T12:00:00Z');
  const bases = [base('2026-11-20T01:00:00Z', 2), base('2026-11-21T01:00:00Z', 5), base('2026-11-22T01:00:00Z', 9), base('2026-11-24T01:00:00Z', 14)];

  it('applies prune\'s rules: --keep-last 2 keeps the two newest, deletes the rest (newest first)', function () {
    const d = planBaseRetention(bases, { last: 2 }, { now, zone: UTC });
    assert.deepEqual(d.map((x) => x.keep), [true, true, false, false]);
    assert.equal(d[0].base.manifest.consistentAt, '2026-11-24T01:00:00Z');
    assert.deepEqual(d[0].reasons, ['last 1']);
  });

  it('--keep-within keeps, beside the base backups inside the window, the one the window\'s start is recovered from', function () {
    // newest 24th 01:00 minus 2d = 22nd 01:00: the base of the 22nd covers it (consistent at exactly that time)
    const d = planBaseRetention(bases, { within: { years: 0, months: 0, days: 2, hours: 12 } }, { now, zone: UTC });
    // start = 21st 13:00: inside are the 22nd and 24th; the 21st 01:00 one is needed to reach 21st 13:00
    assert.deepEqual(d.map((x) => x.keep), [true, true, true, false]);
    assert.match(d[2].reasons.join(), /needed to recover to the start of the kept window \(2026-11-21T13:00:00.000Z\)/);
  });

  it('never deletes the newest base backup, even when every rule would (all dated in the future for --keep-within is restic\'s "keep")', function () {
    const future = [base('2026-11-20T01:00:00Z', 2), base('2026-11-21T01:00:00Z', 5)];
    const d = planBaseRetention(future, { hourly: 1 }, { now, zone: UTC });
    assert.equal(d[0].keep, true);
    assert.equal(d[1].keep, false);
    const single = planBaseRetention([base('2026-11-20T01:00:00Z', 2)], { last: 1 }, { now, zone: UTC });
    assert.equal(single[0].keep, true);
  });
});

describe('pitr prune: which WAL files may go', function () {
  it('deletes segments and .backup files before the start segment of the oldest kept base backup, nothing at or after it', function () {
    const entries = files(seg(1), seg(2), `${seg(2)}.00000028.backup`, seg(3), seg(4), `${seg(4)}.00000060.backup`, seg(5), seg(6));
    const d = planWalPrune(entries, [seg(6), seg(4)]);
    assert.equal(d.cutoff, seg(4));
    assert.deepEqual(d.delete, [seg(1), seg(2), `${seg(2)}.00000028.backup`, seg(3)]);
    assert.equal(d.segmentsKept, 3);
    assert.deepEqual(d.left, [{ name: `${seg(4)}.00000060.backup`, reason: 'belongs to a kept base backup or a newer one' }]);
  });

  it('compares positions across timelines (as pg_archivecleanup): older timelines before the cutoff go, newer positions stay', function () {
    const entries = files(seg(3, 1), seg(4, 1), seg(5, 1), seg(5, 2), seg(6, 2), '00000002.history');
    const d = planWalPrune(entries, [seg(5, 2)]);
    assert.deepEqual(d.delete, [seg(3, 1), seg(4, 1)]);
    assert.ok(d.left.some((l) => l.name === '00000002.history' && /always kept/.test(l.reason)), 'timeline history is never deleted');
  });

  it('never deletes a symlink, a folder, a non-WAL name, or anything when no base backup is kept', function () {
    const entries: ArchiveEntry[] = [
      { name: seg(1), type: 'symlink' },
      { name: seg(2), type: 'other' },
      { name: 'README', type: 'file' },
      { name: `${seg(1)}.partial`, type: 'file' },
      { name: `${seg(1)}.gz`, type: 'file' },
      { name: seg(10).toLowerCase(), type: 'file' },
      { name: seg(3), type: 'file' },
    ];
    const d = planWalPrune(entries, [seg(9)]);
    assert.deepEqual(d.delete, [seg(3)]);
    assert.equal(d.left.length, 6);
    assert.deepEqual(planWalPrune(files(seg(1), seg(2)), []).delete, [], 'no kept base backup: nothing');
  });
});

describe('pitr: whose recovery container is left behind', function () {
  it('gone only when the recorded process on this host no longer runs; another host or no record is left alone', function () {
    const alive = (pid: number) => pid === 42;
    assert.equal(ownerState('box/41', 'box', alive).state, 'gone');
    assert.equal(ownerState('box/42', 'box', alive).state, 'alive');
    assert.equal(ownerState('other/41', 'box', alive).state, 'unknown');
    assert.equal(ownerState(undefined, 'box', alive).state, 'unknown');
    assert.equal(ownerState('garbage', 'box', alive).state, 'unknown');
    assert.equal(ownerState('my/host/7', 'my/host', alive).state, 'gone', 'a host name with a slash');
  });
});

describe('one manifest shape for dumps and base backups', function () {
  // as the code before this change wrote it (src/core/pitr/baseBackup.ts)
  const written = {
    manifestVersion: 2, kind: 'base', tool: 'pg-docker-backup', file: '_base_20261125_210000.tar.gz', container: 'db', containerId: 'abc', image: 'postgres:17',
    serverVersion: '17.2', systemIdentifier: '7441', timeline: 1, startLsn: '0/2000028', endLsn: '0/2000120', walSegmentBytes: 16777216,
    walFiles: ['000000010000000000000002'], archiveDir: '/var/lib/postgresql/archive', format: 'tar', stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }],
    bytes: 10, sha256: 'ff', created: '2026-11-25T21:00:00.000Z', consistentAt: '2026-11-25T21:00:01.000Z', durationMs: 900,
  };
  it('reads a base backup manifest written by the earlier code as a base backup, never as a dump', function () {
    assert.equal(asBaseManifest(JSON.parse(JSON.stringify(written)))?.walFiles[0], '000000010000000000000002');
    assert.equal(upgradeManifest(written), undefined, 'a dump reader does not take it for a dump');
    assert.equal(asBaseManifest({ ...written, kind: undefined }), undefined);
    assert.equal(asBaseManifest({ ...written, walFiles: undefined }), undefined);
  });
  it('still reads dump manifests with no kind (every file written so far)', function () {
    const dump = { manifestVersion: 2, tool: 'pg-docker-backup', file: 'shop_20261125_210000.sql.gz', container: 'db', database: 'shop', stages: [], created: '2026-11-25T21:00:00.000Z' };
    assert.equal(upgradeManifest(dump)?.database, 'shop');
    assert.equal(asBaseManifest(dump), undefined);
  });
});

describe('schedules with base backups', function () {
  const job: ScheduledJob = { cron: '0 2 * * *', node: '/usr/bin/node', cli: '/opt/p/dist/cli.js', dir: '/b', containers: [], keep: ['--keep-daily', '7'], baseBackups: ['db'] };
  it('the crontab line runs the backup, the prune, then a base backup and pitr prune with the same rules', function () {
    const line = crontabBlock(job).split('\n')[1];
    assert.ok(
      line.endsWith('/usr/bin/node /opt/p/dist/cli.js backup --all --dir /b; /usr/bin/node /opt/p/dist/cli.js prune --yes --dir /b --keep-daily 7; /usr/bin/node /opt/p/dist/cli.js pitr base-backup db --dir /b; /usr/bin/node /opt/p/dist/cli.js pitr prune db --yes --dir /b --keep-daily 7'),
      line,
    );
  });
  it('the systemd service runs them after the backup, in that order; without base backups nothing changes', function () {
    const post = systemdUnits(job).service.text.split('\n').filter((l) => l.startsWith('ExecStopPost='));
    assert.deepEqual(post.map((l) => l.split(' ').slice(2, 4).join(' ')), ['prune --yes', 'pitr base-backup', 'pitr prune']);
    assert.equal(systemdUnits({ ...job, baseBackups: [] }).service.text.includes('pitr'), false);
  });
  it('a base backup is encrypted and uploaded like the dumps, without the dump-only flags', function () {
    const [base] = pitrArgvs({ ...job, backupFlags: ['--format', 'custom', '--compression', 'zstd', '--recipient', 'age1abc', '--upload', 'team'] });
    assert.deepEqual(base.slice(2), ['pitr', 'base-backup', 'db', '--dir', '/b', '--recipient', 'age1abc', '--upload', 'team']);
  });
});
