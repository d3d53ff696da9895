import * as assert from 'node:assert/strict';
import { describeTarget, schedulesFromEntries } from '../../src/core/schedule/scheduleEntries';

describe('pgDockerBackup.schedules entries', () => {
  it('fills defaults, keeps ids stable across reordering and merges identical entries', () => {
    const a = { cron: '0 2 * * *' };
    const b = { cron: '*/15 * * * *', container: 'shop-db', database: 'shop', format: 'custom', pruneAfter: true };
    const one = schedulesFromEntries([a, b, { ...a }], 'sql');
    assert.deepEqual(one.problems, []);
    assert.equal(one.schedules.length, 2);
    assert.deepEqual({ ...one.schedules[0], id: undefined }, { id: undefined, cron: '0 2 * * *', container: '*', database: '*', format: 'sql', pruneAfter: false, uploadAfter: undefined });
    const two = schedulesFromEntries([b, a], 'sql');
    assert.deepEqual(two.schedules.map((s) => s.id), [one.schedules[1].id, one.schedules[0].id]);
  });

  it('leaves out entries that cannot be schedules, saying why', () => {
    const r = schedulesFromEntries([{ container: 'x' }, { cron: '0 2 * * *', container: 'bad/name' }, { cron: '0 2 * * *', format: 'zip' }, null as never], 'sql');
    assert.equal(r.schedules.length, 0);
    assert.deepEqual(r.problems, ['schedule 1 has no cron expression', 'schedule 2: container must be "*" or a container name', 'schedule 3: format must be "sql" or "custom"', 'schedule 4 is not an object']);
  });

  it('says what a schedule backs up', () => {
    assert.equal(describeTarget({ container: '*', database: '*' }), 'every database of every container');
    assert.equal(describeTarget({ container: 'db', database: 'shop' }), 'db/shop');
    assert.equal(describeTarget({ container: '*', database: 'shop' }), 'shop in every container');
  });
});
