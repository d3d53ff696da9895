import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { backupDatabase } from '../../src/core/backup/backupDatabase';
import { cleanup, cli, createNetwork, track, databases, docker, fingerprint, IMAGE_NEW, IMAGE_OLD, loadChinook, requireDocker, sql, startPostgres, tempDir, uniqueName, waitFor, type PgTestContainer } from './harness';

/** A tiny HTTP server in the test image (perl comes with Debian's PostgreSQL packages): answers every request with $1. */
const HTTP_SERVER =
  '$SIG{TERM} = sub { exit 0 }; my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die "listen: $!"; ' +
  'while (my $c = $s->accept) { while (my $l = <$c>) { last if $l =~ /^\\r?$/ } print $c "HTTP/1.1 $ARGV[0] X\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok"; close $c }';

interface CheckLine {
  check: string;
  subject: string;
  status: string;
  detail: string;
}

describe('after-restore checks and version pitfalls (real containers)', function () {
  let pg: PgTestContainer;
  let net: string;
  let dir: string;
  let backupPath: string;
  const project = { 'com.docker.compose.project': uniqueName('shop') };
  const apps: Record<string, string> = {};

  /** An app container of the Postgres test image in the same compose project, pointing at `db`. */
  async function startAppContainer(base: string, o: { status?: number; env: Record<string, string>; cmd?: string[]; health?: boolean }): Promise<string> {
    const name = uniqueName(base);
    apps[base] = name;
    track(name); // removed with the others afterwards
    await docker().createContainer({
      name,
      image: IMAGE_NEW,
      entrypoint: o.cmd ? ['sh', '-c', o.cmd[0]] : ['perl', '-MIO::Socket::INET', '-e', HTTP_SERVER, String(o.status ?? 200)],
      env: o.env,
      labels: { ...project, 'com.docker.compose.service': base, ...(o.status ? { 'pg-docker-backup.health': '/api/health' } : {}) },
      network: net,
      ports: o.status ? [{ containerPort: 8080 }] : undefined,
      healthcheck: o.health ? { test: ['perl', '-e', 'exit 0'], intervalMs: 1000, retries: 3 } : undefined,
    });
    await docker().startContainer(name);
    return name;
  }

  before(async function () {
    await requireDocker();
    net = await createNetwork('checks');
    pg = await startPostgres('checks-db', { network: net, labels: { ...project, 'com.docker.compose.service': 'db' } });
    await loadChinook(pg);
    await sql(pg, 'chinook', 'CREATE EXTENSION pg_trgm');
    dir = await tempDir('checks');
    backupPath = (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir, format: 'custom' })).path;
    const creds = { PGHOST: 'db', PGUSER: pg.user, PGPASSWORD: pg.password, PGDATABASE: 'chinook' };
    await startAppContainer('web', { status: 200, env: creds, health: true });
    await startAppContainer('broken', { status: 500, env: creds });
    await startAppContainer('wrongpw', { cmd: ['trap "exit 0" TERM; while :; do sleep 1; done'], env: { DATABASE_URL: `postgresql://${pg.user}:not-the-password@db:5432/chinook` } });
    await startAppContainer('never', { cmd: ['exit 1'], env: { PGHOST: 'db' } });
    await waitFor('web to answer', async () => (await docker().inspectContainer(apps.web)).health === 'healthy', 30000);
  });
  after(cleanup);

  it('records the extensions and roles the backup needs in its manifest', async function () {
    const m = JSON.parse(await fs.readFile(`${backupPath}.json`, 'utf8')) as { extensions?: string[]; roles?: string[] };
    assert.deepEqual(m.extensions, ['pg_trgm']);
    assert.deepEqual(m.roles, [pg.user]);
  });

  it('lists app containers of a Postgres image as apps, not databases', async function () {
    const r = await cli(['containers', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const listed = (r.json as unknown as { containers: { name: string; appContainers: { name: string }[] }[] }).containers;
    const names = listed.map((c) => c.name);
    for (const a of Object.values(apps)) assert.ok(!names.includes(a), `${a} is listed as a database container`);
    const db = listed.find((c) => c.name === pg.name);
    assert.deepEqual(db?.appContainers.map((a) => a.name).sort(), Object.values(apps).sort());
  });

  it('a restore stops those apps, and its checklist says which app is unwell (exit 3, nothing undone)', async function () {
    const r = await cli(['restore', backupPath, '--to', pg.name, '--database', 'chinook', '--yes', '--json', '--check-timeout', '8']);
    assert.equal(r.code, 3, r.stderr);
    const j = r.json as { restored: boolean; stopped: string[]; keptPrevious: string; checks: { summary: string; results: CheckLine[] } };
    assert.equal(j.restored, true);
    assert.deepEqual([...j.stopped].sort(), [apps.broken, apps.web, apps.wrongpw].sort());
    const find = (check: string, subject: RegExp) => j.checks.results.find((x) => x.check === check && subject.test(x.subject));
    assert.equal(find('app', new RegExp(apps.web))?.status, 'passed');
    assert.match(find('app', new RegExp(apps.web))!.detail, /healthy/);
    assert.equal(find('health', new RegExp(`${apps.web} http://127\\.0\\.0\\.1:\\d+/api/health`))?.status, 'passed');
    assert.equal(find('login', new RegExp(apps.web))?.status, 'passed');
    const five = find('health', new RegExp(apps.broken))!;
    assert.equal(five.status, 'failed');
    assert.match(five.detail, /answered 500/);
    assert.equal(find('app', new RegExp(apps.never))?.status, 'failed');
    const pw = find('login', new RegExp(apps.wrongpw))!;
    assert.equal(pw.status, 'failed');
    assert.match(pw.detail, /refused its configured password .*DATABASE_URL/);
    assert.doesNotMatch(JSON.stringify(j), /not-the-password/);
    assert.equal(find('rows', /chinook/)?.status, 'passed');
    assert.match(find('write', /chinook/)!.detail, /inserted a row into .* and rolled it back/);
    assert.match(j.checks.summary, /^Checks: \d+ passed, 3 failed/);
    // the databases of the checks were rolled back and the throwaway login containers are gone
    assert.equal((await sql(pg, 'chinook', 'SELECT count(*) FROM artist')).trim(), '275');
    assert.deepEqual((await docker().listContainers()).filter((c) => c.name.startsWith('pgdb-check-')), []);
    assert.ok((await databases(pg)).includes(j.keptPrevious));
  });

  it('check on demand prints the table and fails on a wrong password', async function () {
    const r = await cli(['check', pg.name, '--database', 'chinook', '--backup', backupPath, '--timeout', '5']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^Checks: \d+ passed, 3 failed/);
    assert.match(r.stdout, /FAILED\s+app login\s+\S*wrongpw/);
    assert.match(r.stdout, /ok\s+row counts\s+chinook/);
  });

  it('refuses a pg_dump 17 plain dump into PostgreSQL 15 with the reason, nothing changed', async function () {
    const old = await startPostgres('checks-15', { image: IMAGE_OLD });
    await sql(old, 'postgres', 'CREATE DATABASE chinook');
    const before = await databases(old);
    const plain = (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir })).path;
    const r = await cli(['restore', plain, '--to', old.name, '--database', 'chinook', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /newer than PostgreSQL 15 .*transaction_timeout.*Restore it into a PostgreSQL 17/);
    assert.deepEqual(await databases(old), before);
  });

  it('refuses a dump that needs an extension the target lacks, before anything changes', async function () {
    // A plain dump of a database with an extension, as a PostGIS server would write it (pg_trgm renamed),
    // without a manifest: the extension is read from the dump's head.
    const plain = (await backupDatabase(docker(), { container: pg.name, database: 'chinook', dir })).path;
    const text = gunzipSync(await fs.readFile(plain)).toString('utf8');
    assert.match(text, /CREATE EXTENSION IF NOT EXISTS pg_trgm/);
    const file = path.join(await tempDir('checks-ext'), 'gis.sql');
    await fs.writeFile(file, text.replace(/\bpg_trgm\b/g, 'postgis'));
    const before = await fingerprint(pg, 'chinook');
    const names = await databases(pg);
    const r = await cli(['restore', file, '--to', pg.name, '--database', 'chinook', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs the extension postgis, which \S+ \(image [^)]+\) does not have: restore it into a container whose image has it/);
    assert.deepEqual(await databases(pg), names);
    assert.deepEqual(await fingerprint(pg, 'chinook'), before);
  });
});
