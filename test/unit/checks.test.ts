import * as assert from 'node:assert/strict';
import { containerCreateOptions, publishedPorts } from '../../src/core/docker/containers';
import { healthUrlsFor, publishedBase, shownUrl } from '../../src/core/restore/checkApps';
import { compareRowCounts, writeCheckResult } from '../../src/core/restore/checkData';
import { formatCheckTable, summarize } from '../../src/core/restore/checks';

const manifest = { file: 'shop.dump', rowCounts: 'exact' as const, tables: [{ schema: 'public', name: 'artist', rows: 275 }, { schema: 'public', name: 'album', rows: 347 }] };

describe('the after-restore checklist (pure parts)', () => {
  it('reads published ports and makes the base URL on 127.0.0.1', () => {
    const ports = publishedPorts({ '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }, { HostIp: '::', HostPort: '49153' }], '5432/tcp': null, '53/udp': [{ HostIp: '', HostPort: '53' }] });
    assert.deepEqual(new Set(ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`)), new Set(['0.0.0.0:49153->8080', ':::49153->8080']));
    assert.equal(publishedBase(ports), 'http://127.0.0.1:49153');
    assert.equal(publishedBase([{ containerPort: 80, hostIp: '192.168.1.5', hostPort: 8000 }]), 'http://192.168.1.5:8000');
    assert.equal(publishedBase([]), undefined);
  });

  it('takes health URLs from the setting, else the label on the published port, else the runbook defaults', () => {
    const app = { name: 'shop-web-1', labels: {}, ports: [{ containerPort: 3000, hostIp: '127.0.0.1', hostPort: 3001 }] };
    assert.deepEqual(healthUrlsFor(app).urls, [
      { url: 'http://127.0.0.1:3001/api/health/live', configured: false },
      { url: 'http://127.0.0.1:3001/api/health/ready', configured: false },
    ]);
    const labelled = { ...app, labels: { 'pg-docker-backup.health': '/healthz, ready,http://other:9/x' } };
    assert.deepEqual(healthUrlsFor(labelled).urls.map((u) => u.url), ['http://127.0.0.1:3001/healthz', 'http://127.0.0.1:3001/ready', 'http://other:9/x']);
    assert.deepEqual(healthUrlsFor(labelled, { 'shop-web-1': ['http://127.0.0.1:9/up'] }).urls, [{ url: 'http://127.0.0.1:9/up', configured: true }]);
    const hidden = healthUrlsFor({ ...app, ports: [] });
    assert.deepEqual(hidden.urls, []);
    assert.match(hidden.none!, /publishes no port: set pgDockerBackup\.healthChecks/);
    assert.equal(shownUrl('http://u:secret@h:1/x'), 'http://h:1/x');
  });

  it('compares row counts with the manifest, and says why when it cannot', () => {
    const same = compareRowCounts(manifest, [{ schema: 'public', name: 'album', rows: 347 }, { schema: 'public', name: 'artist', rows: 275 }, { schema: 'public', name: 'new', rows: 1 }], 'shop');
    assert.deepEqual(same, { check: 'rows', subject: 'shop', status: 'passed', detail: '2 tables, 622 rows, as in shop.dump' });
    const diff = compareRowCounts({ ...manifest, rowCountsSnapshot: 'dump' }, [{ schema: 'public', name: 'artist', rows: 270 }], 'shop');
    assert.equal(diff.status, 'failed');
    const beside = compareRowCounts(manifest, [{ schema: 'public', name: 'artist', rows: 270 }], 'shop');
    assert.equal(beside.status, 'notChecked', 'counts taken beside the dump cannot fail the check');
    assert.match(beside.detail, /taken beside the dump, not in its snapshot/);
    assert.equal(diff.detail, '2 of 2 tables differ from shop.dump: public.artist 275 → 270, public.album 347 → missing');
    assert.equal(compareRowCounts({ ...manifest, rowCounts: 'estimated' }, undefined, 'shop').status, 'notChecked');
    assert.match(compareRowCounts(undefined, undefined, 'shop').detail, /no backup given/);
  });

  it('reads the write check: which table took a row, or why none did', () => {
    assert.equal(writeCheckResult('ok:public.artist (a copy of one of its rows with a new artist_id)\n', 'shop').status, 'passed');
    const none = writeCheckResult('none:null value in column "name" violates not-null constraint\n', 'shop');
    assert.equal(none.status, 'notChecked');
    assert.match(none.detail, /no table took a test row \(the last refusal: null value/);
    assert.match(writeCheckResult('none:', 'shop').detail, /has no table/);
  });

  it('summarizes at a glance: counts and one table line per check', () => {
    const r = summarize('db', 'shop', [
      { check: 'app', subject: 'web', status: 'passed', detail: 'running and healthy' },
      { check: 'health', subject: 'web http://127.0.0.1:1/api/health/ready', status: 'failed', detail: 'answered 500, not 200' },
      { check: 'write', subject: 'shop', status: 'notChecked', detail: 'no table' },
    ], 1234);
    assert.equal(r.summary, 'Checks: 1 passed, 1 failed, 1 not checked');
    const table = formatCheckTable(r).split('\n');
    assert.equal(table[0], 'Checks: 1 passed, 1 failed, 1 not checked (db/shop, 1.2 s)');
    assert.match(table[2], /^FAILED {2}health URL +web http:\/\/127\.0\.0\.1:1\/api\/health\/ready {2}answered 500, not 200$/);
  });

  it('creates containers with published ports and a healthcheck', () => {
    const o = containerCreateOptions({ name: 'x', image: 'i', ports: [{ containerPort: 8080 }], healthcheck: { test: ['true'], intervalMs: 1000 } });
    assert.deepEqual(o.HostConfig?.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.deepEqual(o.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(o.Healthcheck, { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 3e9, Retries: 3 });
  });
});
