import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { failUrl, notify, redactUrl, usesFailSuffix } from '../../src/core/notify';
import { formatAge, parseDuration } from '../../src/core/status/duration';
import { assessFreshness, verificationOf } from '../../src/core/status/freshness';
import type { BackupEntry } from '../../src/core/store/backupStore';

interface Received {
  method: string;
  url: string;
  body: string;
  contentType?: string;
}

/** A real HTTP server on 127.0.0.1 that records requests; `hang` never answers. */
async function server(mode: 'ok' | 'error' | 'hang'): Promise<{ base: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body, contentType: req.headers['content-type'] });
      if (mode === 'hang') return;
      res.writeHead(mode === 'ok' ? 200 : 500).end('OK');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    received,
    close: () => {
      srv.closeAllConnections();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

describe('notify (a real server on loopback)', () => {
  const secret = '5f2c1c5e-8f0a-4c5e-9d7b-123456789abc';

  it('POSTs the JSON result on success to the URL, on failure to URL/fail for a Healthchecks-style URL', async () => {
    const s = await server('ok');
    try {
      const url = `${s.base}/ping/${secret}?rid=abc`;
      const good = await notify(url, { ok: true, command: 'backup', bytes: 42 });
      assert.deepEqual(good, { ok: true, target: `${s.base}/…`, status: 200 });
      const bad = await notify(url, { ok: false, command: 'backup', error: 'Container db is not running' });
      assert.equal(bad.ok, true);
      assert.deepEqual(
        s.received.map((r) => [r.method, r.url, r.contentType]),
        [
          ['POST', `/ping/${secret}?rid=abc`, 'application/json'],
          ['POST', `/ping/${secret}/fail?rid=abc`, 'application/json'],
        ],
      );
      assert.deepEqual(JSON.parse(s.received[0].body), { ok: true, command: 'backup', bytes: 42 });
      assert.equal(JSON.parse(s.received[1].body).error, 'Container db is not running');
    } finally {
      await s.close();
    }
  });

  it('sends failures to the URL itself (ok: false in the body) when the URL is not a Healthchecks one, unless told otherwise', async () => {
    const s = await server('ok');
    try {
      await notify(`${s.base}/hooks/${secret}`, { ok: false });
      await notify(`${s.base}/hooks/${secret}`, { ok: false }, { failSuffix: true });
      assert.deepEqual(s.received.map((r) => r.url), [`/hooks/${secret}`, `/hooks/${secret}/fail`]);
    } finally {
      await s.close();
    }
  });

  it('reports an HTTP error, a refused connection and a server that never answers, without throwing or showing the token', async () => {
    const s = await server('error');
    const h = await server('hang');
    try {
      const http500 = await notify(`${s.base}/ping/${secret}`, { ok: true });
      assert.equal(http500.ok, false);
      assert.equal(http500.status, 500);
      const started = Date.now();
      const hung = await notify(`${h.base}/ping/${secret}`, { ok: true }, { timeoutMs: 300 });
      const took = Date.now() - started;
      assert.equal(hung.ok, false);
      assert.match(hung.error!, /no answer within 0\.3 s/);
      assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
      await s.close();
      const refused = await notify(`${s.base}/ping/${secret}?token=${secret}`, { ok: true });
      assert.equal(refused.ok, false);
      assert.match(refused.error!, /ECONNREFUSED/);
      for (const o of [http500, hung, refused]) assert.ok(!JSON.stringify(o).includes(secret), JSON.stringify(o));
      const invalid = await notify(`ftp://x/${secret}`, { ok: true });
      assert.match(invalid.error!, /must start with http/);
      assert.ok(!invalid.error!.includes(secret));
    } finally {
      await h.close();
    }
  });

  it('redacts everything after the host; knows the Healthchecks rule', () => {
    assert.equal(redactUrl(`https://hc-ping.com/${secret}`), 'https://hc-ping.com/…');
    assert.equal(redactUrl('https://example.com/'), 'https://example.com');
    assert.equal(usesFailSuffix(`https://hc-ping.com/${secret}`), true);
    assert.equal(usesFailSuffix(`https://hc-ping.com/ping-key/backup-slug`), true);
    assert.equal(usesFailSuffix(`https://hc.example.org/ping/${secret}`), true);
    assert.equal(usesFailSuffix(`https://hooks.example.org/${secret}`), false);
    assert.equal(failUrl('https://hc-ping.com/abc/?x=1'), 'https://hc-ping.com/abc/fail?x=1');
  });
});

describe('status: durations and freshness (plain data)', () => {
  it('parses 26h, 2d, 90m, 1d12h, 1s; refuses the rest clearly', () => {
    assert.equal(parseDuration('26h'), 26 * 3600_000);
    assert.equal(parseDuration('2d'), 2 * 86_400_000);
    assert.equal(parseDuration('90m'), 90 * 60_000);
    assert.equal(parseDuration('1d12h'), 36 * 3600_000);
    assert.equal(parseDuration('1w'), 7 * 86_400_000);
    assert.equal(parseDuration('1s'), 1000);
    for (const bad of ['', '26', 'h', '12h1d', '1.5h', '-1h', '0h', '1y'])
      assert.throws(() => parseDuration(bad, '--max-age'), /--max-age must be (a duration such as 26h, 2d, 90m or 1d12h|longer than zero)/, bad);
    assert.equal(formatAge(93_784_000), '1d2h');
    assert.equal(formatAge(5400_000), '1h30m');
    assert.equal(formatAge(4000), '4s');
  });

  const now = new Date('2026-03-10T12:00:00Z');
  const entry = (container: string | undefined, database: string, hoursAgo: number, verifications?: unknown): BackupEntry => ({
    path: `/b/${container}/${database}/${hoursAgo}`,
    fileName: 'x',
    sizeBytes: 1,
    modified: now,
    created: new Date(now.getTime() - hoursAgo * 3600_000),
    container,
    database,
    format: 'sql',
    gzipped: true,
    source: verifications ? 'manifest' : 'detected',
    manifest: verifications ? ({ verifications } as unknown as BackupEntry['manifest']) : undefined,
  });

  it('marks databases without a backup and with an old newest backup as stale, across live containers and the folder', () => {
    const rows = assessFreshness({
      now,
      maxAgeMs: 26 * 3600_000,
      containers: [
        { name: 'db', running: true, databases: [{ name: 'app' }, { name: 'empty' }, { name: 'app__before_restore_20260101_000000' }] },
        { name: 'stopped', running: false },
      ],
      backups: [entry('db', 'app', 2), entry('db', 'app', 30), entry('gone', 'old', 50), entry('stopped', 'x', 1)],
    });
    assert.deepEqual(
      rows.map((r) => [r.container, r.database, r.live, r.backups, r.stale, r.newest?.ageMs]),
      [
        ['db', 'app', true, 2, false, 2 * 3600_000],
        ['db', 'empty', true, 0, true, undefined],
        ['gone', 'old', false, 1, true, 50 * 3600_000],
        ['stopped', 'x', false, 1, false, 3600_000],
      ],
    );
    const only = assessFreshness({ now, maxAgeMs: 1000, containers: [{ name: 'db', running: true, databases: [{ name: 'app' }] }], backups: [entry('db', 'app', 2)], only: ['gone'] });
    assert.deepEqual(only, []);
  });

  it('reads the latest verification from the manifest; missing means never verified', () => {
    assert.deepEqual(verificationOf(entry('db', 'a', 1)), { state: 'never' });
    const v = verificationOf(
      entry('db', 'a', 1, [
        { at: '2026-03-10T10:00:00Z', kind: 'deep', ok: true },
        { at: '2026-03-10T11:00:00Z', kind: 'quick', ok: false, detail: 'sha256 differs' },
        { at: 'not a date', kind: 'quick', ok: true },
      ]),
    );
    assert.deepEqual(v, { state: 'failed', at: '2026-03-10T11:00:00Z', kind: 'quick', detail: 'sha256 differs' });
  });
});
