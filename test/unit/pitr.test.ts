import * as assert from 'node:assert/strict';
import { archiveDirFromCommand, locateArchive, safeArchiveCommand } from '../../src/core/pitr/archive';
import type { BaseBackupEntry } from '../../src/core/pitr/baseStore';
import { enableAdvice } from '../../src/core/pitr/enable';
import { archiverStats } from '../../src/core/pitr/facts';
import { checkRestorePointName, restorePointNameFor } from '../../src/core/pitr/mark';
import { recoveryServerArgs } from '../../src/core/pitr/recovery';
import { readRecoveryLog, recoveryFailure } from '../../src/core/pitr/recoveryLog';
import { recoverableWindow } from '../../src/core/pitr/status';
import { chooseBaseBackup, parseTargetRequest } from '../../src/core/pitr/target';
import { formatLocal, parseTargetTime, recoveryTargetTime } from '../../src/core/pitr/time';
import { commitTime, formatLsn, missingSegments, parseBaseBackupLog, parseLsn, parseWaldumpLine, restorePoints, walFileName, walFilesBetween } from '../../src/core/pitr/wal';

const SEG = 16 * 1024 * 1024;

describe('pitr: WAL names and positions', function () {
  it('reads and writes LSNs', function () {
    assert.equal(parseLsn('0/2000028'), 0x2000028n);
    assert.equal(parseLsn('1A/FF'), (0x1an << 32n) | 0xffn);
    assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
    assert.throws(() => parseLsn('12345'));
  });
  it('names segment files as pg_walfile_name does (16 MB and 64 MB segments)', function () {
    assert.equal(walFileName(1, parseLsn('0/2000028'), SEG), '000000010000000000000002');
    assert.equal(walFileName(1, parseLsn('1/FF000000'), SEG), '0000000100000001000000FF');
    assert.equal(walFileName(3, parseLsn('2/40000000'), 64 * 1024 * 1024), '000000030000000200000010');
    assert.deepEqual(walFilesBetween(1, parseLsn('0/FF000028'), parseLsn('1/1000000'), SEG), ['0000000100000000000000FF', '000000010000000100000000', '000000010000000100000001']);
  });
  it('finds gaps in the archive', function () {
    const names = ['000000010000000000000003', '000000010000000000000004', '000000010000000000000006', '000000010000000000000004.00000028.backup'];
    assert.deepEqual(missingSegments(names, 1, SEG), ['000000010000000000000005']);
    assert.deepEqual(missingSegments(names, 1, SEG, '000000010000000000000002'), ['000000010000000000000002', '000000010000000000000005']);
    assert.deepEqual(missingSegments(names, 2, SEG), []);
  });
  it('reads pg_basebackup -v and pg_waldump output', function () {
    const log = 'pg_basebackup: write-ahead log start point: 0/6000028 on timeline 1\npg_basebackup: write-ahead log end point: 0/6000120\n';
    assert.deepEqual(parseBaseBackupLog(log), { startLsn: '0/6000028', timeline: 1, endLsn: '0/6000120' });
    assert.equal(parseBaseBackupLog('pg_basebackup: error'), undefined);
    const line = 'rmgr: Transaction len (rec/tot):     34/    34, tx:        740, lsn: 0/04000028, prev 0/03000158, desc: COMMIT 2026-11-25 21:30:37.568180 UTC';
    const rec = parseWaldumpLine(line)!;
    assert.equal(rec.lsn, '0/04000028');
    assert.equal(commitTime(rec.desc)?.toISOString(), '2026-11-25T21:30:37.568Z');
    assert.equal(commitTime('RUNNING_XACTS nextXid 749'), undefined);
    const rp = 'rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/05000028, prev 0/04000050, desc: RESTORE_POINT before deploy';
    assert.deepEqual(restorePoints(`${line}\n${rp}\n`), [{ name: 'before deploy', lsn: '0/05000028' }]);
  });
});

describe('pitr: target times', function () {
  const tz = process.env.TZ;
  afterEach(() => (tz === undefined ? delete process.env.TZ : (process.env.TZ = tz)));

  it('reads offsets, and a time without one as local time', function () {
    assert.equal(parseTargetTime('2026-11-25 14:03:00+00').toISOString(), '2026-11-25T14:03:00.000Z');
    assert.equal(parseTargetTime('2026-11-25T14:03:00.25Z').toISOString(), '2026-11-25T14:03:00.250Z');
    assert.equal(parseTargetTime('2026-11-25 14:03 -05:30').toISOString(), '2026-11-25T19:33:00.000Z');
    process.env.TZ = 'Europe/Berlin';
    assert.equal(parseTargetTime('2026-11-25 14:03:00').toISOString(), '2026-11-25T13:03:00.000Z');
    assert.equal(parseTargetTime('2026-07-01 14:03').toISOString(), '2026-07-01T12:03:00.000Z', 'summer time');
    assert.equal(formatLocal(new Date('2026-11-25T13:03:00Z')), '2026-11-25 14:03:00.000 +01:00');
  });
  it('refuses what is not a time', function () {
    for (const bad of ['yesterday', '2026-13-01 00:00', '2026-02-30 10:00', '2026-11-25', '2026-11-25 25:00']) assert.throws(() => parseTargetTime(bad), /not a (valid )?time/, bad);
  });
  it('gives recovery_target_time an explicit offset', function () {
    assert.equal(recoveryTargetTime(new Date('2026-11-25T14:03:00.5Z')), '2026-11-25 14:03:00.500+00');
  });
  it('takes exactly one target', function () {
    assert.throws(() => parseTargetRequest({}), /exactly one/);
    assert.throws(() => parseTargetRequest({ time: '2026-11-25 14:03+00', lsn: '0/1' }), /exactly one/);
    assert.equal(parseTargetRequest({ lsn: '0/3000060' }).setting.value, '0/3000060');
    assert.deepEqual(parseTargetRequest({ restorePoint: 'x' }).setting, { kind: 'name', value: 'x' });
  });
});

function base(consistentAt: string, endLsn: string, file = `b-${consistentAt}`): BaseBackupEntry {
  return { path: `/d/${file}`, fileName: file, sizeBytes: 1, manifest: { consistentAt, endLsn, walFiles: [] } as unknown as BaseBackupEntry['manifest'] };
}

describe('pitr: the recoverable window and the base backup to start from', function () {
  const bases = [base('2026-11-20T00:00:00Z', '0/5000000'), base('2026-11-24T00:00:00Z', '0/9000000')];
  const now = new Date('2026-11-25T12:00:00Z');
  const lastCommit = { time: new Date('2026-11-25T11:59:00Z'), lsn: '0/F000000' };
  const time = (t: string) => parseTargetRequest({ time: t });

  it('picks the newest base backup that ends before the target', function () {
    assert.equal(chooseBaseBackup(time('2026-11-21 00:00+00'), { bases, now, lastCommit }), bases[0]);
    assert.equal(chooseBaseBackup(time('2026-11-25 10:00+00'), { bases, now, lastCommit }), bases[1]);
    assert.equal(chooseBaseBackup(parseTargetRequest({ lsn: '0/A000000' }), { bases, now, lastCommit }), bases[1]);
    assert.equal(chooseBaseBackup(parseTargetRequest({ restorePoint: 'x' }), { bases, now, lastCommit, restorePointLsn: '0/6000000' }), bases[0]);
  });
  it('refuses targets outside the window, saying why', function () {
    assert.throws(() => chooseBaseBackup(time('2026-11-19 00:00+00'), { bases, now, lastCommit }), /before the recoverable window.*Nothing was changed/);
    assert.throws(() => chooseBaseBackup(time('2026-11-25 11:59:30+00'), { bases, now, lastCommit }), /after the last commit/);
    assert.throws(() => chooseBaseBackup(time('2026-11-26 00:00+00'), { bases, now, lastCommit }), /in the future/);
    assert.throws(() => chooseBaseBackup(time('2026-11-21 00:00+00'), { bases: [], now, lastCommit }), /no base backup/);
    assert.throws(() => chooseBaseBackup(parseTargetRequest({ lsn: '0/4000000' }), { bases, now, lastCommit }), /before the end of the oldest base backup/);
    assert.throws(() => chooseBaseBackup(parseTargetRequest({ restorePoint: 'x' }), { bases, now, lastCommit }), /no restore point "x"/);
  });
  it('the window runs from the oldest base backup to the last archived commit', function () {
    assert.deepEqual(recoverableWindow(bases, lastCommit).window, { from: '2026-11-20T00:00:00Z', to: '2026-11-25T11:59:00.000Z', fromBackup: '/d/b-2026-11-20T00:00:00Z', lastCommitLsn: '0/F000000' });
    assert.match(recoverableWindow([], lastCommit).problem!, /no base backup/);
  });
});

describe('pitr: archive location, archiver, enable advice', function () {
  it('reads the archive folder from archive_command', function () {
    assert.equal(archiveDirFromCommand('cp %p /var/lib/postgresql/archive/%f'), '/var/lib/postgresql/archive');
    assert.equal(archiveDirFromCommand('test ! -f /mnt/a/%f && cp %p /mnt/a/%f'), '/mnt/a');
    assert.equal(archiveDirFromCommand('rsync -a %p "/backup/wal/%f"'), '/backup/wal');
    assert.equal(archiveDirFromCommand('/usr/local/bin/upload-wal %p %f'), undefined);
    assert.equal(safeArchiveCommand('/var/lib/postgresql/archive/'), 'test ! -f /var/lib/postgresql/archive/%f && cp %p /var/lib/postgresql/archive/%f');
    assert.throws(() => safeArchiveCommand("/tmp/a'; rm -rf /"));
  });
  it('finds the mount holding the archive, inside or outside', function () {
    const mounts = [
      { type: 'volume', name: 'pgdata', source: '/var/lib/docker/volumes/pgdata/_data', destination: '/var/lib/postgresql/data', readOnly: false },
      { type: 'bind', source: '/srv/wal', destination: '/wal', readOnly: false },
    ];
    const inData = locateArchive('/var/lib/postgresql/data/archive', mounts);
    assert.equal(inData.mount?.name, 'pgdata');
    assert.equal(inData.relative, 'archive');
    assert.match(locateArchive('/wal', mounts).description, /host folder \/srv\/wal/);
    assert.equal(locateArchive('/var/lib/postgresql/archive', mounts).mount, undefined);
    assert.match(locateArchive('/var/lib/postgresql/archive', mounts).description, /inside the container's own filesystem/);
  });
  it('says when archiving is failing now', function () {
    const a = { archived_count: 5, last_archived_wal: 'A', last_archived_time: '2026-11-25T10:00:00Z', failed_count: 2, last_failed_wal: 'B', last_failed_time: '2026-11-25T10:01:00Z' };
    assert.equal(archiverStats(a).failingNow, true);
    assert.equal(archiverStats({ ...a, last_archived_time: '2026-11-25T10:02:00Z' }).failingNow, false);
    assert.equal(archiverStats({ ...a, failed_count: 0, last_failed_wal: null, last_failed_time: null }).failingNow, false);
  });
  it('prints a compose override with a safe archive_command, keeping the server’s other flags', function () {
    const a = enableAdvice({ name: 'agent-eval-db', composeService: 'db', composeProject: 'agent-eval', cmd: ['postgres', '-c', 'max_connections=200', '-c', 'archive_mode=off'] });
    assert.match(a.override, /^services:\n {2}db:\n {4}command:/m);
    assert.match(a.override, /- "max_connections=200"/);
    assert.doesNotMatch(a.override, /archive_mode=off/);
    assert.match(a.override, /"archive_command=test ! -f \/var\/lib\/postgresql\/archive\/%f && cp %p \/var\/lib\/postgresql\/archive\/%f"/);
    assert.match(a.override, /- db-wal-archive:\/var\/lib\/postgresql\/archive/);
    assert.match(a.text, /docker compose up -d db/);
    assert.match(a.text, /chown postgres:postgres/);
  });
});

describe('pitr: the recovery server', function () {
  it('keeps the live flags and adds the recovery settings, archiving off', function () {
    const args = recoveryServerArgs({
      liveServerArgs: ['-c', 'max_connections=200'],
      archive: { dir: '/var/lib/postgresql/data/archive', relative: 'archive', description: '' },
      target: { kind: 'time', value: '2026-11-25 14:03:00.000+00' },
    });
    assert.deepEqual(args.slice(0, 2), ['-c', 'max_connections=200']);
    assert.ok(args.includes("restore_command=cp '/var/lib/pg-docker-backup-archive/archive/%f' '%p'"));
    assert.ok(args.includes('recovery_target_time=2026-11-25 14:03:00.000+00'));
    assert.ok(args.includes('archive_mode=off'));
    assert.ok(args.includes('recovery_target_action=promote'));
  });
  it('reads progress, the stop and failures from its log', function () {
    const ok = [
      'LOG:  starting point-in-time recovery to 2026-11-25 14:03:00+00',
      'LOG:  restored log file "000000010000000000000006" from archive',
      'LOG:  database system is ready to accept read-only connections',
      'LOG:  restored log file "000000010000000000000007" from archive',
      'LOG:  recovery stopping before commit of transaction 748, time 2026-11-25 14:03:01.1+00',
      'LOG:  archive recovery complete',
      'LOG:  database system is ready to accept connections',
    ].join('\n');
    const s = readRecoveryLog(ok);
    assert.equal(s.lastRestored, '000000010000000000000007');
    assert.equal(s.restoredCount, 2);
    assert.equal(s.ready, true);
    assert.match(s.stoppedAt!, /before commit of transaction 748/);
    assert.equal(readRecoveryLog(ok.split('\n').slice(0, 3).join('\n')).ready, false, 'read-only before the stop is not done');
    const atPoint = readRecoveryLog('LOG:  recovery stopping at restore point "before-t5", time 2026-11-25 21:51:19.622692+00\nLOG:  database system is ready to accept connections');
    assert.equal(atPoint.ready, true, 'a restore point stops "at"');
    assert.match(atPoint.stoppedAt!, /at restore point "before-t5"/);
    const broken = [
      'LOG:  restored log file "000000010000000000000006" from archive',
      "cp: cannot stat '/var/lib/pg-docker-backup-archive/000000010000000000000007': No such file or directory",
      'FATAL:  recovery ended before configured recovery target was reached',
    ].join('\n');
    const b = readRecoveryLog(broken);
    assert.match(recoveryFailure(b, 'the target', 'volume x'), /archive \(volume x\) has no segment 000000010000000000000007/);
  });
  it('names restore points safely', function () {
    assert.throws(() => checkRestorePointName(''), /cannot name/);
    assert.throws(() => checkRestorePointName('x'.repeat(64)), /cannot name/);
    const n = restorePointNameFor('reset', 'a-very-long-database-name-that-goes-on-and-on-and-on', new Date('2026-11-25T14:03:00Z'));
    assert.ok(Buffer.byteLength(n) <= 63, n);
    assert.match(n, /^before-reset-.*-20261125T140300Z$/);
  });
});
