import * as assert from 'node:assert/strict';
import { pgDumpArgv, validateCompressionLevel } from '../../src/core/backup/pgDump';
import { createDatabaseLikeSql, terminateAndWaitSql } from '../../src/core/postgres/admin';
import { failingStatement, restoreArgv } from '../../src/core/restore/loaders';
import { formatArgv, redact, redactEnv } from '../../src/core/logger';
import { argvSecrets, psqlArgv } from '../../src/core/postgres/client';
import { cpusAllowed } from '../../src/core/docker/client';

describe('argv and statement building', () => {
  it('builds pg_dump argv for both formats with filters, strict names and no owner', () => {
    assert.deepEqual(pgDumpArgv({ user: 'agent_eval' }, 'agent_eval', { format: 'sql', compressionLevel: 1 }), [
      'pg_dump', '-w', '-U', 'agent_eval', '-d', "dbname='agent_eval'", '-Fp', '-Z1',
    ]);
    assert.deepEqual(
      pgDumpArgv({ user: 'u' }, 'd', { format: 'custom', compressionLevel: 6, tables: ['users', 'tests'], schemas: ['s'], noOwner: true }),
      ['pg_dump', '-w', '-U', 'u', '-d', "dbname='d'", '-Fc', '-Z6', '-t', 'users', '-t', 'tests', '-n', 's', '--strict-names', '-O'],
    );
  });

  it('refuses compression levels that would write an uncompressed .sql.gz', () => {
    assert.throws(() => validateCompressionLevel('sql', 0), /1 to 9/);
    assert.doesNotThrow(() => validateCompressionLevel('custom', 0));
    assert.throws(() => validateCompressionLevel('custom', 10));
  });

  it('restores plain dumps in one transaction stopping at the first error, custom ones with --exit-on-error', () => {
    const sql = restoreArgv('sql', 'u', 'x__restoring_1');
    assert.ok(sql.includes('--single-transaction') && sql.includes('ON_ERROR_STOP=1'));
    assert.ok(restoreArgv('custom', 'u', 'x').includes('--exit-on-error'));
    assert.deepEqual(restoreArgv('custom', 'u', 'x', { file: '/tmp/-a.dump', jobs: 3 }), ['pg_restore', '-w', '--exit-on-error', '-j', '3', '-U', 'u', '-d', "dbname='x'", '--', '/tmp/-a.dump']);
  });

  it('creates a scratch database like the live one: owner, encoding, locale, settings, privileges, comment', () => {
    const sql = createDatabaseLikeSql(
      {
        name: 'app',
        owner: 'app owner',
        encoding: 'UTF8',
        collate: 'C.UTF-8',
        ctype: 'C.UTF-8',
        localeProvider: 'c',
        tablespace: 'pg_default',
        connectionLimit: 20,
        allowConnections: true,
        comment: "the app's db",
        settings: [{ config: ['search_path="$user", public', 'work_mem=64MB'] }, { role: 'reporter', config: ['statement_timeout=5s'] }],
        acl: [
          { grantee: 'app owner', privilege: 'CONNECT', grantable: false },
          { grantee: 'reporter', privilege: 'CONNECT', grantable: false },
          { grantee: undefined, privilege: 'TEMPORARY', grantable: false },
        ],
      },
      'app__restoring_20261123_000000',
    );
    assert.deepEqual(sql, [
      `CREATE DATABASE "app__restoring_20261123_000000" WITH TEMPLATE template0 OWNER "app owner" ENCODING 'UTF8' LOCALE_PROVIDER libc LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' CONNECTION LIMIT 20`,
      `ALTER DATABASE "app__restoring_20261123_000000" SET "search_path" = '$user', 'public'`,
      `ALTER DATABASE "app__restoring_20261123_000000" SET "work_mem" = '64MB'`,
      `ALTER ROLE "reporter" IN DATABASE "app__restoring_20261123_000000" SET "statement_timeout" = '5s'`,
      `REVOKE ALL ON DATABASE "app__restoring_20261123_000000" FROM PUBLIC`,
      `GRANT CONNECT ON DATABASE "app__restoring_20261123_000000" TO "reporter"`,
      `GRANT TEMPORARY ON DATABASE "app__restoring_20261123_000000" TO PUBLIC`,
      `COMMENT ON DATABASE "app__restoring_20261123_000000" IS 'the app''s db'`,
    ]);
    assert.deepEqual(createDatabaseLikeSql(undefined, 'new'), ['CREATE DATABASE "new" WITH TEMPLATE template0']);
  });

  it('waits for terminated sessions with a deadline and quotes the database names', () => {
    const sql = terminateAndWaitSql(["it's"], 5);
    assert.match(sql, /datname IN \('it''s'\)/);
    assert.match(sql, /pg_stat_clear_snapshot/);
    assert.match(sql, /secs => 5/);
  });

  it('quotes the failing statement from psql and pg_restore stderr', () => {
    assert.equal(
      failingStatement('psql:<stdin>:42: ERROR:  relation "nope" does not exist\nLINE 1: SELECT * FROM nope;\n                      ^\n'),
      'psql:<stdin>:42: ERROR: relation "nope" does not exist LINE 1: SELECT * FROM nope; ^',
    );
    assert.match(
      failingStatement('pg_restore: error: could not execute query: ERROR:  syntax error at or near "garbage"\nCommand was: garbage CREATE TABLE x;\n'),
      /Command was: garbage CREATE TABLE x;/,
    );
  });

  it('keeps secrets out of logged argv and env', () => {
    assert.equal(formatArgv(['psql', '-c', "SELECT 'p$ss'"], ['p$ss']), "psql -c 'SELECT '\\''***'\\'''");
    assert.deepEqual(redactEnv(['PGPASSWORD=x', 'PGAPPNAME=a', 'AWS_SECRET_ACCESS_KEY=y']), ['PGPASSWORD=***', 'PGAPPNAME=a', 'AWS_SECRET_ACCESS_KEY=***']);
    assert.equal(redact('password is hunter2', ['hunter2']), 'password is ***');
  });

  it('counts the CPUs a container may use from the host’s and its limits', () => {
    assert.equal(cpusAllowed(8, {}), 8);
    assert.equal(cpusAllowed(8, { NanoCpus: 1_500_000_000 }), 2);
    assert.equal(cpusAllowed(8, { CpuQuota: 50_000, CpuPeriod: 100_000 }), 1);
    assert.equal(cpusAllowed(8, { CpusetCpus: '0-2,5' }), 4);
    assert.equal(cpusAllowed(2, { CpusetCpus: '0-7' }), 2);
    assert.equal(cpusAllowed(0, {}), 1);
  });

  it('hides a target’s password in logged argv, except when it is the user name (printed anyway)', () => {
    const target = { container: 'db', containerName: 'db', user: 'postgres' };
    assert.deepEqual(argvSecrets({ ...target, password: 's3cr$t pw' }), ['s3cr$t pw']);
    assert.deepEqual(argvSecrets({ ...target, password: 'postgres' }), []);
    assert.deepEqual(argvSecrets(target), []);
    assert.equal(formatArgv(psqlArgv({ ...target, password: 'postgres' }, 'postgres', 'SELECT 1'), argvSecrets({ ...target, password: 'postgres' })), "psql -X -q -A -t -w -v ON_ERROR_STOP=1 -U postgres -d 'dbname='\\''postgres'\\''' -c 'SELECT 1'");
  });
});
