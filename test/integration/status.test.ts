import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { nextRun } from '../../src/core/schedule/cronExpression';
import { ScheduleRunner, systemClock } from '../../src/core/schedule/scheduleRunner';
import { cleanup, cli, requireDocker, sql, startPostgres, tempDir, waitFor, type PgTestContainer } from './harness';

const SECRET = '9c8b7a65-4321-4fed-8cba-0123456789ab';

interface Hit {
  url: string;
  body: Record<string, unknown>;
}

/** A monitoring endpoint on 127.0.0.1: records POSTs; `hang` never answers. */
async function monitor(mode: 'ok' | 'hang') {
  const hits: Hit[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ url: req.url!, body: JSON.parse(body || '{}') });
      if (mode === 'ok') res.writeHead(200).end('OK');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    url: `${base}/ping/${SECRET}`,
    hits,
    close: () => {
      srv.closeAllConnections();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe('status, --notify and a scheduled backup against a real Postgres container', function () {
  let pg: PgTestContainer;
  let dir: string;
  /** HOME/XDG_CONFIG_HOME of this test, and a crontab test double first on PATH for these runs only. */
  let env: Record<string, string | undefined>;

  before(async function () {
    await requireDocker();
    pg = await startPostgres('status-db', { db: 'appdb' });
    await sql(pg, 'postgres', 'CREATE DATABASE second');
    await sql(pg, 'appdb', 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
    dir = await tempDir('status');
    const root = await tempDir('status-home');
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const table = path.join(root, 'crontab');
    fs.writeFileSync(
      path.join(bin, 'crontab'),
      `#!/bin/sh\n# test double for crontab(1)\ncase "$1" in\n  -l) [ -f '${table}' ] || { echo "no crontab for tester" >&2; exit 1; }; cat '${table}' ;;\n  -) cat > '${table}' ;;\nesac\n`,
      { mode: 0o755 },
    );
    env = { HOME: root, XDG_CONFIG_HOME: path.join(root, 'config'), PATH: `${bin}:${process.env.PATH}`, PG_DOCKER_BACKUP_NOTIFY_URL: undefined };
  });
  after(cleanup);

  const status = (...extra: string[]) => cli(['status', '--dir', dir, '--container', pg.name, ...extra], env);

  it('exits 1 while a database has no backup, 0 once each has one, and 1 again with --max-age 1s after a while', async () => {
    let r = await status('--json');
    assert.equal(r.code, 1, r.stderr);
    const rows = r.json!.databases as { database: string; stale: boolean; newest: unknown; live: boolean }[];
    assert.deepEqual(rows.map((x) => [x.database, x.live, x.stale, x.newest]), [
      ['appdb', true, true, null],
      ['postgres', true, true, null],
      ['second', true, true, null],
    ]);
    r = await status();
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^STALE {2}.*\/second, no backup, no schedule installed$/m);
    assert.match(r.stdout, /3 of 3 database\(s\) have no backup newer than 26h\./);

    for (const db of ['appdb', 'postgres']) assert.equal((await cli(['backup', pg.name, '--database', db, '--dir', dir], env)).code, 0);
    r = await status('--json');
    assert.equal(r.code, 1, 'one database still has no backup');
    assert.deepEqual(r.json!.stale, [`${pg.name}/second`]);

    assert.equal((await cli(['backup', pg.name, '--database', 'second', '--dir', dir], env)).code, 0);
    r = await status('--json', '--max-age', '2d');
    assert.equal(r.code, 0, r.stdout);
    const fresh = r.json!.databases as { newest: { ageMs: number; verification: { state: string }; path: string } }[];
    for (const row of fresh) {
      assert.equal(row.newest.verification.state, 'never');
      assert.ok(row.newest.ageMs >= 0 && row.newest.ageMs < 120_000);
      assert.ok(fs.existsSync(row.newest.path));
    }
    assert.match((await status()).stdout, /All 3 database\(s\) have a backup newer than 26h\./);

    const stale = await waitFor('the backups to be older than 1 s', async () => {
      const x = await status('--max-age', '1s');
      return x.code === 1 ? x : undefined;
    }, 10_000);
    assert.match(stale.stdout, /3 of 3 database\(s\) have no backup newer than 1s\./);
    const bad = await status('--max-age', '1x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-age must be a duration such as 26h, 2d, 90m or 1d12h/);
  });

  it('tells the next run of the installed crontab schedule', async () => {
    const installed = await cli(['schedule', 'install', '--cron', '--yes', '--dir', dir, '--cron', '40 4 * * *'], env);
    assert.equal(installed.code, 0, installed.stderr);
    const r = await status('--json');
    const expected = nextRun('40 4 * * *', new Date())!.toISOString();
    assert.deepEqual(r.json!.schedules, [{ kind: 'cron', cron: '40 4 * * *', description: 'At 04:40', containers: [], next: expected }]);
    for (const row of r.json!.databases as { nextRun: unknown }[]) assert.deepEqual(row.nextRun, { at: expected, kind: 'cron', cron: '40 4 * * *' });
    assert.equal((await cli(['schedule', 'uninstall', '--cron', '--yes'], env)).code, 0);
  });

  it('backup --notify posts the result to the URL, a failure to URL/fail; the token never shows', async () => {
    const m = await monitor('ok');
    try {
      const ok = await cli(['backup', pg.name, '--database', 'appdb', '--dir', dir, '--notify', m.url, '--json'], env);
      assert.equal(ok.code, 0, ok.stderr);
      const failed = await cli(['backup', pg.name, '--database', 'no_such_db', '--dir', dir, '--notify', m.url], env);
      assert.equal(failed.code === 0, false);
      assert.deepEqual(m.hits.map((h) => h.url), [`/ping/${SECRET}`, `/ping/${SECRET}/fail`]);
      assert.equal(m.hits[0].body.ok, true);
      assert.equal(m.hits[0].body.command, 'backup');
      assert.equal(m.hits[0].body.path, ok.json!.path);
      assert.equal(m.hits[0].body.sha256, ok.json!.sha256);
      assert.equal(m.hits[1].body.ok, false);
      assert.match(String(m.hits[1].body.error), /no_such_db/);
      for (const out of [ok.stdout, ok.stderr, failed.stdout, failed.stderr]) assert.ok(!out.includes(SECRET));

      // status as a monitor: stale → /fail with the list
      const st = await status('--max-age', '1s', '--notify', m.url);
      assert.equal(st.code, 1);
      const last = m.hits[m.hits.length - 1];
      assert.equal(last.url, `/ping/${SECRET}/fail`);
      assert.equal(last.body.command, 'status');
      assert.ok((last.body.stale as string[]).includes(`${pg.name}/postgres`), JSON.stringify(last.body.stale));
    } finally {
      await m.close();
    }
  });

  it('a notify endpoint that never answers delays the backup by the 10 s timeout but does not fail it', async () => {
    const m = await monitor('hang');
    try {
      const started = Date.now();
      const r = await cli(['backup', pg.name, '--database', 'appdb', '--dir', dir], { ...env, PG_DOCKER_BACKUP_NOTIFY_URL: m.url });
      const took = Date.now() - started;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(m.hits.length, 1, 'the POST reached the server');
      assert.match(r.stderr, /the notification was not delivered: http:\/\/127\.0\.0\.1:\d+\/…: no answer within 10 s/);
      assert.ok(!r.stderr.includes(SECRET));
      assert.ok(took >= 10_000 && took < 60_000, `took ${took} ms`);
      assert.ok(fs.existsSync(r.stdout.trim()), 'the backup file is there');
    } finally {
      await m.close();
    }
  });

  it('the schedule runner fires at a real slot and makes a backup', async () => {
    // a clock a few seconds before a minute boundary, with real timers
    const offset = 58_000 - (Date.now() % 60_000);
    const clock = { ...systemClock, now: () => new Date(Date.now() + offset) };
    const state = await tempDir('runner');
    const made: string[] = [];
    const runner = new ScheduleRunner({
      clock,
      lockDir: state,
      stateFile: path.join(state, 'state.json'),
      run: async (s) => {
        const r = await cli(['backup', pg.name, '--database', s.database, '--dir', dir, '--json'], env);
        if (r.code !== 0) throw new Error(r.stderr);
        made.push(String(r.json!.path));
      },
    });
    runner.setSchedules([{ id: 'every-minute', cron: '* * * * *', container: pg.name, database: 'second', format: 'sql', pruneAfter: false }]);
    runner.start();
    try {
      await waitFor('the scheduled backup', async () => made.length > 0 || undefined, 60_000);
      const view = (await runner.views())[0];
      await waitFor('the run to be recorded', async () => ((await runner.views())[0].lastOk === true) || undefined, 10_000);
      assert.ok(view.next && view.next.getTime() > clock.now().getTime());
      assert.equal(made.length, 1);
      assert.ok(fs.statSync(made[0]).size > 0);
    } finally {
      await runner.stop();
    }
  });
});
