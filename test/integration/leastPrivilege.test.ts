import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { cleanup, cli, databases, docker, requireDocker, sql, startPostgres, tempDir, type PgTestContainer } from './harness';

/** A plain backup that runs a shell command through psql: only an explicit --allow-meta-commands lets it. */
const WHOAMI = `--
-- PostgreSQL database dump
--
CREATE TABLE t (i int);
\\! id -un > /tmp/pgdb-whoami
INSERT INTO t VALUES (1);
--
-- PostgreSQL database dump complete
--
`;

describe('least privilege: client programs run as the container\'s postgres user; meta-commands only when allowed', function () {
  let pg: PgTestContainer;
  let dir: string;
  let file: string;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('priv-db');
    dir = await tempDir('priv');
    file = path.join(dir, 'evil.sql');
    await fs.writeFile(file, WHOAMI);
  });
  after(cleanup);

  const marker = async () => (await docker().exec(pg.name, ['sh', '-c', 'cat /tmp/pgdb-whoami 2>/dev/null || echo none'])).stdout.trim();

  it('refuses the \\! line without running it: exit 2, the error names the line, nothing was created', async function () {
    const r = await cli(['restore', file, '--to', pg.name, '--database', 'priv', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /evil\.sql line 5: the psql meta-command "\\! id -un > \/tmp\/pgdb-whoami" would run outside the database/);
    assert.match(r.stderr, /--allow-meta-commands/);
    assert.equal(await marker(), 'none', 'the shell command did not run');
    assert.ok(!(await databases(pg)).some((d) => d === 'priv' || d.startsWith('priv__')), 'no database was created or left');
  });

  it('with --allow-meta-commands the plan says so, and psql runs as postgres, not root', async function () {
    const dry = await cli(['restore', file, '--to', pg.name, '--database', 'priv', '--allow-meta-commands', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /NOT checked \(--allow-meta-commands\)/);
    const r = await cli(['restore', file, '--to', pg.name, '--database', 'priv', '--allow-meta-commands', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await marker(), 'postgres', 'psql ran as the container\'s postgres user');
    assert.equal((await sql(pg, 'priv', 'SELECT count(*) FROM t')).trim(), '1');
  });
});
