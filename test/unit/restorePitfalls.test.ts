import * as assert from 'node:assert/strict';
import { extensionsInToc, scanPlainHead } from '../../src/core/restore/dumpNeeds';
import { hasRestrict, parseVersion, versionPitfalls, type PitfallFacts } from '../../src/core/restore/pitfalls';

const base: PitfallFacts = { fileName: 'shop.sql.gz', format: 'sql', pgDumpVersion: '17.12', targetVersion: '17.12 (Debian 17.12-0+deb13u1)', targetContainer: 'db', targetImage: 'postgres:17', availableExtensions: ['plpgsql', 'pg_trgm'] };

describe('version pitfalls, found before a restore starts (pure)', () => {
  it('reads versions and knows which releases write and read \\restrict', () => {
    assert.deepEqual(parseVersion('17.6 (Debian 17.6-1.pgdg120+1)'), { major: 17, minor: 6 });
    assert.deepEqual(parseVersion('9.6.24'), { major: 9.6, minor: 24 });
    assert.equal(parseVersion('x'), undefined);
    for (const [v, yes] of [['17.6', true], ['17.5', false], ['16.10', true], ['16.9', false], ['15.14', true], ['15.13', false], ['18.0', true], ['12.22', false]] as const) {
      assert.equal(hasRestrict(parseVersion(v)!), yes, v);
    }
  });

  it('refuses a pg_dump 17 plain dump into PostgreSQL 15, naming transaction_timeout and the way out', () => {
    const r = versionPitfalls({ ...base, targetVersion: '15.18' });
    assert.equal(r.refusals.length, 1);
    assert.match(r.refusals[0], /pg_dump 17\.12, newer than PostgreSQL 15 in db/);
    assert.match(r.refusals[0], /transaction_timeout/);
    assert.match(r.refusals[0], /Restore it into a PostgreSQL 17 \(or newer\) container/);
    const custom = versionPitfalls({ ...base, format: 'custom', targetVersion: '16.10' });
    assert.match(custom.refusals[0], /pg_restore 16 in the container cannot read an archive written by pg_dump 17/);
  });

  it('refuses \\restrict lines an older psql in the target does not know, and lets newer ones through', () => {
    const r = versionPitfalls({ ...base, pgDumpVersion: '17.6', targetVersion: '17.5' });
    assert.equal(r.refusals.length, 1);
    assert.match(r.refusals[0], /writes \\restrict lines that psql 17\.5 in db does not know/);
    assert.match(r.refusals[0], /PostgreSQL 17\.6 or later .*or back it up again in custom format/);
    // seen in the file even when the version does not say so (a patched distribution build)
    assert.equal(versionPitfalls({ ...base, pgDumpVersion: '16.4', targetVersion: '16.9', restrictSeen: true }).refusals.length, 1);
    // an older dump (no \restrict) into an older minor, a custom archive, and a new enough psql are fine
    assert.deepEqual(versionPitfalls({ ...base, pgDumpVersion: '15.13', targetVersion: '15.2' }).refusals, []);
    assert.deepEqual(versionPitfalls({ ...base, format: 'custom', pgDumpVersion: '17.6', targetVersion: '17.5' }).refusals, []);
    assert.deepEqual(versionPitfalls({ ...base, pgDumpVersion: '15.14', targetVersion: '17.6' }).refusals, []);
  });

  it('refuses extensions the target lacks, and warns when they could not be read', () => {
    const r = versionPitfalls({ ...base, neededExtensions: ['plpgsql', 'postgis', 'pg_trgm', 'postgis'] });
    assert.deepEqual(r.refusals, [
      'shop.sql.gz needs the extension postgis, which db (image postgres:17) does not have: restore it into a container whose image has it (e.g. postgis/postgis), or install it in this one.',
    ]);
    assert.deepEqual(versionPitfalls({ ...base, neededExtensions: ['pg_trgm'] }).refusals, []);
    const unknown = versionPitfalls({ ...base, extensionsUnknown: 'the file is encrypted and has no manifest listing them' });
    assert.deepEqual(unknown.refusals, []);
    assert.match(unknown.warnings[0], /were not checked \(the file is encrypted/);
  });

  it('reads extensions from a plain dump head and from a pg_restore -l listing', () => {
    const head = 'SET transaction_timeout = 0;\n\\restrict abC123\n--\nCREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;\nCREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;\n-- CREATE EXTENSION fake\n';
    assert.deepEqual(scanPlainHead(head), { extensions: ['postgis', 'uuid-ossp'], restrictSeen: true });
    assert.equal(scanPlainHead('SELECT 1;\n').restrictSeen, false);
    const toc = ';\n; Archive created at 2025-01-01\n2; 3079 16385 EXTENSION - pg_trgm \n3; 0 0 COMMENT - EXTENSION pg_trgm \n4; 3079 16386 EXTENSION - hstore \n';
    assert.deepEqual(extensionsInToc(toc), ['hstore', 'pg_trgm']);
  });
});
