import * as assert from 'node:assert/strict';
import type { BaseBackupEntry } from '../../src/core/pitr/baseStore';
import { planBaseRetention, planWalPrune, type ArchiveEntry } from '../../src/core/pitr/walRetention';
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
