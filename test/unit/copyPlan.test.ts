import * as assert from 'node:assert/strict';
import { isPgBackupError } from '../../src/core/errors';
import { decideCopyRoles, decideTablesCopy, describeEnd, refuseCopy, tablesDumpArgv, type CopyEnd } from '../../src/core/restore/copyPlan';
import { decideSwapTarget, swapSteps } from '../../src/core/restore/swapTarget';
import type { ArchiveToc, TocEntry } from '../../src/core/restore/toc';

const e = (id: number, desc: string, tag: string, deps: number[] = [], namespace = 'public'): TocEntry => ({ id, desc, namespace, tag, owner: 'app', deps, defn: '' });

/** A schema-only TOC (what `pg_dump --schema-only -Fc` of the source gives): no data entries. */
const TOC: ArchiveToc = {
  entries: [
    e(10, 'TABLE', 'album'),
    e(11, 'TABLE', 'artist'),
    e(12, 'TABLE', 'track'),
    e(13, 'TABLE', 'genre'),
    e(20, 'SEQUENCE', 'genre_id_seq', [13]),
    e(21, 'SEQUENCE OWNED BY', 'genre_id_seq', [20]),
    e(22, 'DEFAULT', 'genre genre_id', [20, 13]),
    e(40, 'CONSTRAINT', 'album album_pkey', [10]),
    e(51, 'FK CONSTRAINT', 'track track_album_id_fkey', [12, 40, 10]),
    e(60, 'TABLE', 'x"y.z', [], 'odd schema'),
  ],
};

const server = (major: number) => ({ version: `${major}.4 (Debian ${major}.4-1)`, versionNum: major * 10000 + 4, major });
const end = (name: string, major: number, database = 'shop', host = 'unix:///var/run/docker.sock'): CopyEnd => ({ container: { id: name, name, protected: false }, host, database, server: server(major) });
const refused = (kind: string, re: RegExp) => (err: unknown) => isPgBackupError(err) && err.kind === kind && re.test(err.message);

describe('copy: what is refused before anything changes', function () {
  it('refuses a newer server into an older one, naming both versions and the way out', function () {
    assert.throws(() => refuseCopy({ source: end('new', 17), target: end('old', 15), sourceDatabases: ['shop'] }), refused('refused', /new runs PostgreSQL 17\.4 and old runs 15\.4: .*older server to a newer one.*PostgreSQL 17 or later.*Nothing was changed/));
  });
  it('lets older into newer, and the same major, through', function () {
    refuseCopy({ source: end('old', 15), target: end('new', 17), sourceDatabases: ['shop'] });
    refuseCopy({ source: end('a', 17), target: end('b', 17), sourceDatabases: ['shop'] });
  });
  it('refuses a source database that is not there, listing those that are', function () {
    assert.throws(() => refuseCopy({ source: end('a', 15, 'nope'), target: end('b', 17), sourceDatabases: ['postgres', 'shop'] }), refused('notFound', /no database "nope" in a; it has: postgres, shop/));
  });
  it('refuses a database onto itself, but not onto another database of the same container or the same name on another engine', function () {
    assert.throws(() => refuseCopy({ source: end('a', 17), target: end('a', 17), sourceDatabases: ['shop'] }), refused('usage', /both the source and the target/));
    refuseCopy({ source: end('a', 17), target: end('a', 17, 'shop_copy'), sourceDatabases: ['shop'] });
    refuseCopy({ source: end('a', 17), target: end('a', 17, 'shop', 'tcp://other:2375'), sourceDatabases: ['shop'] });
  });
  it('names the engine only when the ends are on different ones, and the version without the distribution', function () {
    assert.equal(describeEnd(end('a', 15), false), '"shop" in a (PostgreSQL 15.4)');
    assert.equal(describeEnd(end('a', 15, 'shop', 'tcp://h:2376'), true), '"shop" in a (PostgreSQL 15.4 on tcp://h:2376)');
  });
});

describe('copy: roles the target lacks', function () {
  const f = { source: end('src', 15), target: end('dst', 17), needed: ['app', 'reader'], existing: ['postgres', 'app'] };
  it('refuses, naming the missing roles and both ways out', function () {
    assert.throws(() => decideCopyRoles(f, false), refused('refused', /role reader, which dst lacks: create it there first .*roles create-missing <roles-file> --to dst.*--no-owner/));
  });
  it('with noOwner, goes on and says ownership and grants are left out', function () {
    const r = decideCopyRoles(f, true);
    assert.deepEqual(r.missingRoles, ['reader']);
    assert.match(r.steps[0], /pg_restore --no-owner --no-privileges/);
  });
  it('says nothing when the target has every role', function () {
    assert.deepEqual(decideCopyRoles({ ...f, existing: ['app', 'reader'] }, false), { missingRoles: [], steps: [] });
  });
});

describe('copy of tables: the plan', function () {
  const facts = (o: { exists?: boolean; missing?: string[] } = {}) => ({
    source: end('src', 15),
    target: end('dst', 17),
    crossEngine: false,
    toc: TOC,
    targetExists: o.exists ?? true,
    live: { missing: o.missing ?? [], referencing: [{ constraint: 'track_album_id_fkey', table: 'public.track', references: 'public.album' }] },
  });

  it('lists exactly the replaced tables and the tables that reference them, and dumps only those tables and their sequences', function () {
    const plan = decideTablesCopy(facts(), { tables: ['album', 'genre'] });
    assert.equal(plan.mode, 'tables');
    assert.deepEqual(plan.selection!.tables, ['public.album', 'public.genre']);
    assert.deepEqual(plan.selection!.sequences, ['public.genre_id_seq']);
    assert.deepEqual(plan.dumpObjects, [{ schema: 'public', name: 'album' }, { schema: 'public', name: 'genre' }, { schema: 'public', name: 'genre_id_seq' }]);
    const text = plan.steps.join('\n');
    assert.match(text, /Replace the rows of public\.album, public\.genre in "shop" in dst with those in "shop" in src \(PostgreSQL 15\.4\), in ONE transaction/);
    assert.match(text, /Tables that reference them: public\.track \(track_album_id_fkey → public\.album\)/);
    assert.match(text, /no file on this machine/);
  });
  it('refuses a target database that does not exist, and tables it lacks, naming them', function () {
    assert.throws(() => decideTablesCopy(facts({ exists: false }), { tables: ['album'] }), refused('refused', /no database "shop" in dst .*copy the whole database first/));
    assert.throws(() => decideTablesCopy(facts({ missing: ['public.album'] }), { tables: ['album'] }), refused('refused', /has no table public\.album to replace/));
  });
  it('refuses a pattern that matches no table of the source, naming it', function () {
    assert.throws(() => decideTablesCopy(facts(), { tables: ['nope*'] }), refused('refused', /--table "nope\*" matches no table in "shop" in src/));
  });
  it('dumps with exact names: pattern characters in names match only themselves', function () {
    const argv = tablesDumpArgv('app', 'shop', [{ schema: 'odd schema', name: 'x"y.z' }]);
    assert.deepEqual(argv.slice(-2), ['-t', '"odd schema"."x""y.z"']);
    assert.ok(argv.includes('--data-only') && argv.includes('-Fc'));
  });
});

describe('the swap target shared by restore, copy and point-in-time recovery', function () {
  const now = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));
  const dbs = (names: string[]) => names.map((name) => ({ name, sizeBytes: 1, owner: 'u', allowConnections: true, connections: 0 }));
  const facts = (names: string[]) => ({ container: { id: 'c', name: 'db', protected: false }, server: server(17), maintenanceDb: 'postgres', databases: dbs(names), runningApps: [{ id: 'a', name: 'web', state: 'running' }] });

  it('keeps the live database for undo and drops the ones earlier restores kept', function () {
    const t = decideSwapTarget(facts(['postgres', 'shop', 'shop__before_restore_20261101_000000', 'shop__restoring_20261101_000000']), 'shop', false, now);
    assert.equal(t.liveExists, true);
    assert.equal(t.scratchDatabase, 'shop__restoring_20261125_120000');
    assert.equal(t.previousDatabase, 'shop__before_restore_20261125_120000');
    assert.deepEqual(t.dropAfter, ['shop__before_restore_20261101_000000']);
    assert.deepEqual(t.leftoverScratch, ['shop__restoring_20261101_000000']);
    assert.deepEqual(swapSteps(t), [
      'Stop web.',
      'End the remaining sessions of "shop", rename it to "shop__before_restore_20261125_120000", and rename "shop__restoring_20261125_120000" to "shop" (one transaction).',
      'Start web again (whatever happens).',
      'Keep "shop__before_restore_20261125_120000" for undo until the next successful restore of "shop".',
    ]);
  });
  it('renames into place when there is no live database, with nothing to keep', function () {
    const t = decideSwapTarget(facts(['postgres']), 'shop', true, now);
    assert.equal(t.previousDatabase, undefined);
    assert.ok(swapSteps(t).includes('Rename "shop__restoring_20261125_120000" to "shop" (there is no "shop" yet).'));
    assert.ok(!swapSteps(t).some((s) => s.startsWith('Keep') || s.startsWith('Drop')));
  });
});
