import * as assert from 'node:assert/strict';
import { backupFileName, decodePathSegment, encodePathSegment, parseBackupFileName, timestamp } from '../../src/core/store/naming';
import { databaseStem, MAX_IDENTIFIER_BYTES, parseSideDatabaseName, sideDatabaseKind, sideDatabaseName, truncateUtf8 } from '../../src/core/databases/sideDatabases';

describe('naming', () => {
  const at = new Date(Date.UTC(2026, 10, 23, 7, 5, 9));

  it('formats UTC timestamps as YYYYMMDD_HHMMSS', () => {
    assert.equal(timestamp(at), '20261123_070509');
  });

  it('names backups <db>_<ts>.<ext> and adds _N for a second backup in the same second', () => {
    assert.equal(backupFileName('agent_eval', 'sql', at), 'agent_eval_20261123_070509.sql.gz');
    assert.equal(backupFileName('agent_eval', 'custom', at), 'agent_eval_20261123_070509.dump');
    assert.equal(backupFileName('agent_eval', 'custom', at, 2), 'agent_eval_20261123_070509_2.dump');
  });

  it('reads the database and time back from a backup name, also for runbook files', () => {
    assert.deepEqual(parseBackupFileName('agent_eval_20261123_070509.sql.gz'), { database: 'agent_eval', at });
    assert.equal(parseBackupFileName('backup_20261123_070509.sql')?.database, 'backup');
    assert.equal(parseBackupFileName('benchmark_20261123_070509.dump.gz')?.database, 'benchmark');
    assert.equal(parseBackupFileName('notes.txt'), undefined);
  });

  it('encodes names with slashes, quotes, colons and percent signs reversibly and keeps Unicode readable', () => {
    for (const name of ['a/b', 'we"ird; name', 'c:\\x*?<>|', '100%', 'tåble ünïcode 数据', '..', 'end.']) {
      const seg = encodePathSegment(name);
      assert.ok(!/[/\\:*?"<>|]/.test(seg), `${seg} has an unsafe character`);
      assert.notEqual(seg, '..');
      assert.equal(decodePathSegment(seg), name);
    }
    assert.equal(encodePathSegment('tåble ünïcode'), 'tåble ünïcode');
  });

  it('keeps scratch and previous database names within 63 bytes, with a hash for long names', () => {
    const long = 'ö'.repeat(40); // 80 bytes
    const scratch = sideDatabaseName(long, 'restoring', at);
    assert.ok(Buffer.byteLength(scratch) <= MAX_IDENTIFIER_BYTES, scratch);
    assert.deepEqual(parseSideDatabaseName(long, scratch), { kind: 'restoring', at });
    const other = 'ö'.repeat(39) + 'x';
    assert.notEqual(databaseStem(long, 32), databaseStem(other, 32));
    assert.equal(sideDatabaseName('chinook', 'before_restore', at), 'chinook__before_restore_20261123_070509');
    assert.equal(sideDatabaseKind('chinook__before_restore_20261123_070509'), 'before_restore');
    assert.equal(parseSideDatabaseName('chinook', 'chinook2__before_restore_20261123_070509'), undefined);
  });

  it('truncates UTF-8 without splitting a character', () => {
    assert.equal(truncateUtf8('aöb', 2), 'a');
    assert.equal(truncateUtf8('aöb', 3), 'aö');
  });
});
