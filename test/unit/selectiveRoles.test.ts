import * as assert from 'node:assert/strict';
import { isPgBackupError } from '../../src/core/errors';
import { decideRoles, parseRoleMap, rolesInSql, type RolesFacts } from '../../src/core/restore/roles';
import { resolveSelection, selectTables } from '../../src/core/restore/selective';
import { decideSelection } from '../../src/core/restore/selectivePlan';
import type { ArchiveToc, TocEntry } from '../../src/core/restore/toc';

const e = (id: number, desc: string, tag: string, deps: number[] = [], defn = '', namespace = 'public', owner = 'app_owner'): TocEntry => ({ id, desc, namespace, tag, owner, deps, defn });

/** A Chinook-like table of contents: album → artist, track → album, a serial sequence on genre, a comment and a grant. */
const TOC: ArchiveToc = {
  entries: [
    e(1, 'ENCODING', 'ENCODING', [], '', '', ''),
    e(10, 'TABLE', 'album'),
    e(11, 'TABLE', 'artist'),
    e(12, 'TABLE', 'track'),
    e(13, 'TABLE', 'genre'),
    e(14, 'TABLE', 'Mixed Case'),
    e(20, 'SEQUENCE', 'genre_id_seq', [13]),
    e(21, 'SEQUENCE OWNED BY', 'genre_id_seq', [20]),
    e(22, 'DEFAULT', 'genre genre_id', [20, 13]),
    e(30, 'TABLE DATA', 'album', [10]),
    e(31, 'TABLE DATA', 'artist', [11]),
    e(32, 'TABLE DATA', 'track', [12]),
    e(33, 'TABLE DATA', 'genre', [13]),
    e(34, 'SEQUENCE SET', 'genre_id_seq', [20]),
    e(40, 'CONSTRAINT', 'album album_pkey', [10]),
    e(41, 'CONSTRAINT', 'artist artist_pkey', [11]),
    e(42, 'INDEX', 'album_artist_id_idx', [10]),
    e(43, 'COMMENT', 'INDEX album_artist_id_idx', [42]),
    e(44, 'ACL', 'TABLE album', [10], 'GRANT SELECT ON TABLE public.album TO reader;\n'),
    e(50, 'FK CONSTRAINT', 'album album_artist_id_fkey', [41, 10, 11]),
    e(51, 'FK CONSTRAINT', 'track track_album_id_fkey', [12, 40, 10]),
  ],
};

describe('selective restore: patterns against the table of contents', function () {
  it('uses pg_dump’s pattern rules and refuses a pattern that matches nothing, naming it', function () {
    assert.deepEqual(selectTables(TOC, ['ALBUM', 'public.art*'], [], 'x.dump').map((t) => t.tag), ['album', 'artist']);
    assert.deepEqual(selectTables(TOC, ['"Mixed Case"'], [], 'x.dump').map((t) => t.tag), ['Mixed Case']);
    assert.deepEqual(selectTables(TOC, [], ['public'], 'x.dump').length, 5);
    assert.throws(() => selectTables(TOC, ['album', 'mixed case', 'nope'], [], 'x.dump'), (err: unknown) => isPgBackupError(err, 'refused') && /--table "mixed case" and --table "nope" match no table in x\.dump/.test(err.message));
    assert.throws(() => selectTables(TOC, [], ['sales'], 'x.dump'), /--schema "sales" matches no table/);
  });

  it('brings the tables’ data, indexes, constraints, comments and grants; a foreign key to a table not restored is left out and said', function () {
    const s = resolveSelection(TOC, selectTables(TOC, ['album'], [], 'x.dump'));
    assert.deepEqual(s.listIds, [1, 10, 30, 40, 42, 43, 44]);
    assert.deepEqual(s.dataIds, [1, 30]);
    assert.equal(s.leftOut.length, 1);
    assert.match(s.leftOut[0], /foreign key album_artist_id_fkey of public\.album \(it needs public\.artist/);
  });

  it('brings the foreign key between two restored tables, and a table’s serial sequence with its position', function () {
    assert.deepEqual(resolveSelection(TOC, selectTables(TOC, ['album', 'artist'], [], 'x.dump')).listIds, [1, 10, 11, 30, 31, 40, 41, 42, 43, 44, 50]);
    const g = resolveSelection(TOC, selectTables(TOC, ['genre'], [], 'x.dump'));
    assert.deepEqual(g.listIds, [1, 13, 20, 21, 22, 33, 34]);
    assert.deepEqual(g.dataIds, [1, 33, 34]);
    assert.deepEqual(g.sequences, [{ schema: 'public', name: 'genre_id_seq' }]);
  });

  it('decides the target: a new database must not exist; a replace needs the live database and its tables', function () {
    const base = { fileName: 'x.dump', format: 'custom' as const, toc: TOC, database: 'shop', liveExists: false };
    assert.equal(decideSelection(base, { tables: ['album'] })?.mode, 'new-database');
    assert.throws(() => decideSelection({ ...base, liveExists: true }, { tables: ['album'] }), /"shop" exists: .*--database NEW_NAME.*--replace-tables/);
    assert.throws(() => decideSelection(base, { tables: ['album'], replaceTables: true }), /no database "shop"/);
    assert.throws(() => decideSelection({ ...base, liveExists: true, live: { missing: ['public.album'], referencing: [] } }, { tables: ['album'], replaceTables: true }), /has no table public\.album/);
    const r = decideSelection({ ...base, liveExists: true, live: { missing: [], referencing: [{ constraint: 'track_album_id_fkey', table: 'public.track', references: 'public.album' }] }, manifestTables: [{ schema: 'public', name: 'album', rows: 347 }] }, { tables: ['album'], replaceTables: true });
    assert.equal(r?.mode, 'replace');
    assert.deepEqual(r?.rows, { 'public.album': 347 });
    assert.deepEqual(r?.listIds, [1, 30]);
    assert.throws(() => decideSelection({ ...base, format: 'sql' }, { tables: ['album'] }), /plain SQL dump/);
    assert.equal(decideSelection(base, {}), undefined);
  });
});

describe('roles the target lacks', function () {
  const facts = (over: Partial<RolesFacts> = {}): RolesFacts => ({ fileName: 'x.dump', format: 'custom', container: 'db2', targetUser: 'boss', needed: ['app_owner', 'boss', 'reader'], source: 'manifest', existing: ['boss', 'app'], ...over });

  it('reads owners and grantees from pg_dump SQL', function () {
    const text = 'ALTER TABLE public.album OWNER TO app_owner;\nALTER SCHEMA s OWNER TO "Big Boss";\nGRANT SELECT ON TABLE public.album TO reader, PUBLIC;\nREVOKE ALL ON SCHEMA public FROM pg_database_owner;\n';
    assert.deepEqual(rolesInSql(text), ['Big Boss', 'app_owner', 'reader']);
  });

  it('refuses without a choice, naming every missing role and the three flags', function () {
    assert.throws(() => decideRoles(facts(), {}), (err: unknown) => isPgBackupError(err, 'refused') && /roles "app_owner", "reader" that db2 lacks.*--create-roles.*--no-owner \(boss owns everything\).*--role-map app_owner=EXISTING_ROLE/.test(err.message));
    assert.deepEqual(decideRoles(facts({ needed: ['boss'] }), {}).missing, []);
  });

  it('--create-roles creates exactly the missing ones', function () {
    const p = decideRoles(facts(), { createRoles: 'nologin' });
    assert.deepEqual(p.create, ['app_owner', 'reader']);
    assert.deepEqual(p.standIns, []);
  });

  it('--no-owner: pg_restore strips owners of a custom archive; a plain dump gets stand-ins reassigned to the target’s user', function () {
    assert.deepEqual(decideRoles(facts(), { noOwner: true }).pgRestoreArgs, ['--no-owner', '--no-privileges']);
    const plain = decideRoles(facts({ format: 'sql' }), { noOwner: true });
    assert.deepEqual(plain.standIns, ['app_owner', 'reader']);
    assert.deepEqual(plain.reassign, [{ from: 'app_owner', to: 'boss' }, { from: 'reader', to: 'boss' }]);
    assert.deepEqual(plain.pgRestoreArgs, []);
  });

  it('--role-map maps a missing role to an existing one; refuses a target role that does not exist or a source role that does', function () {
    const p = decideRoles(facts(), { roleMap: parseRoleMap(['app_owner=app']), createRoles: 'nologin' });
    assert.deepEqual(p.standIns, ['app_owner']);
    assert.deepEqual(p.reassign, [{ from: 'app_owner', to: 'app' }]);
    assert.deepEqual(p.create, ['reader']);
    assert.throws(() => decideRoles(facts(), { roleMap: { app_owner: 'nobody' }, createRoles: 'nologin' }), /has no role "nobody"/);
    assert.throws(() => decideRoles(facts(), { roleMap: { boss: 'app' }, createRoles: 'nologin' }), /already has a role "boss"/);
    assert.throws(() => decideRoles(facts(), { roleMap: { reader: 'app' } }), /"app_owner" that db2 lacks/);
    assert.throws(() => parseRoleMap(['app_owner']), /OLD=NEW/);
  });
});
