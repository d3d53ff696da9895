import * as assert from 'node:assert/strict';
import { chooseLoader, decideRestore, restoreTarget, PARALLEL_MIN_BYTES, type RestoreFacts } from '../../src/core/restore/plan';
import type { BackupSource } from '../../src/core/restore/source';
import type { StageRecord } from '../../src/core/pipeline/stage';
import type { BackupManifest } from '../../src/core/backup/manifest';

const gzip: StageRecord = { kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' };
const now = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));

function source(o: { format?: 'sql' | 'custom'; stages?: StageRecord[]; size?: number; pgDump?: string; container?: string; database?: string; manifest?: Partial<BackupManifest>; headerDb?: string } = {}): BackupSource {
  const format = o.format ?? 'sql';
  const stages = o.stages ?? (format === 'sql' ? [gzip] : []);
  const manifest = o.manifest ? ({ options: { tables: [], schemas: [], noOwner: false }, tables: [], database: o.database ?? 'shop', ...o.manifest } as BackupManifest) : undefined;
  return {
    entry: {
      path: '/b/x', fileName: 'shop_20261125_110000.sql.gz', sizeBytes: o.size ?? 1000, modified: now, created: now,
      container: 'container' in o ? o.container : 'db', database: 'database' in o ? o.database : 'shop',
      format, gzipped: stages.some((s) => s.algorithm === 'gzip'), pgDumpVersion: o.pgDump ?? '15.14', manifest, source: manifest ? 'manifest' : 'detected',
    },
    format,
    stages,
    content: { format, gzipped: stages.length > 0, pgDumpVersion: o.pgDump ?? '15.14', pgDumpMajor: Number.parseInt(o.pgDump ?? '15', 10), database: o.headerDb },
  };
}

function facts(src: BackupSource, o: { version?: string; extensions?: string[]; needs?: RestoreFacts['needs']; major?: number; databases?: string[]; cpus?: number; apps?: string[] } = {}): RestoreFacts {
  return {
    source: src,
    container: { id: 'c1', name: 'db', protected: false },
    server: { version: o.version ?? `${o.major ?? 17}.20`, versionNum: (o.major ?? 17) * 10000 + 20, major: o.major ?? 17 },
    maintenanceDb: 'postgres',
    databases: (o.databases ?? ['postgres', 'shop']).map((name) => ({ name, sizeBytes: 1, owner: 'u', allowConnections: true, connections: 0 })),
    liveProperties: undefined,
    runningApps: (o.apps ?? []).map((name) => ({ id: name, name, state: 'running' })),
    cpus: o.cpus ?? 2,
    image: 'postgres:17',
    availableExtensions: o.extensions ?? ['plpgsql', 'pg_trgm', 'hstore'],
    needs: o.needs,
  };
}

describe('the restore decision (pure: facts in, plan or refusal out)', () => {
  it('refuses a dump made by a newer pg_dump than the server, naming both versions', () => {
    assert.throws(() => decideRestore(facts(source({ pgDump: '17.6' }), { major: 15 }), {}, now), (e: Error & { kind?: string }) => {
      assert.equal(e.kind, 'refused');
      assert.match(e.message, /pg_dump 17\.6, newer than PostgreSQL 15 in db/);
      assert.match(e.message, /Nothing was changed/);
      return true;
    });
    assert.doesNotThrow(() => decideRestore(facts(source({ pgDump: '15.14' }), { major: 17 }), {}, now));
  });

  it('refuses a partial backup over a whole database, and allows it into a new one', () => {
    const partial = source({ manifest: { options: { tables: ['users'], schemas: [], noOwner: false }, tables: [{ schema: 'app', name: 'users', rows: 3 }] } });
    assert.throws(() => decideRestore(facts(partial), {}, now), /holds only part of "shop" \(tables users\)/);
    const plan = decideRestore(facts(partial), { database: 'shop_users' }, now);
    assert.equal(plan.liveExists, false);
    assert.deepEqual(plan.partialSchemas, ['app']);
    assert.equal(plan.previousDatabase, undefined);
  });

  it('asks for the container and the database when the backup does not say', () => {
    assert.throws(() => restoreTarget(source({ container: undefined }), {}), (e: Error & { kind?: string }) => e.kind === 'usage' && /--to CONTAINER/.test(e.message));
    assert.throws(() => restoreTarget(source({ database: undefined }), {}), /--database DB/);
    assert.deepEqual(restoreTarget(source({ database: undefined, headerDb: 'fromheader' }), {}), { container: 'db', database: 'fromheader' });
    assert.deepEqual(restoreTarget(source(), { to: 'other', database: 'x' }), { container: 'other', database: 'x' });
    for (const hostile of ['../../images/json', 'db;rm -rf /', 'db$(id)', '`id`', 'a\nb', '']) {
      assert.throws(() => restoreTarget(source({ container: hostile || undefined, manifest: hostile ? {} : undefined }), {}), (e: Error & { kind?: string }) =>
        hostile ? e.kind === 'refused' && /is not a Docker container name/.test(e.message) && /--to CONTAINER/.test(e.message) : e.kind === 'usage');
    }
  });

  it('chooses the loader: gunzip in the container for .sql.gz, psql for .sql, pg_restore streamed or parallel', () => {
    assert.equal(decideRestore(facts(source()), {}, now).loader, 'psql-decompress');
    assert.equal(decideRestore(facts(source({ stages: [] })), {}, now).loader, 'psql');
    assert.equal(chooseLoader({ format: 'sql', stages: [gzip, { kind: 'encrypt', algorithm: 'age', where: 'host' }] }, 1), 'psql-decompress', 'age undone here, gzip in the container');
    assert.equal(chooseLoader({ format: 'sql', stages: [{ kind: 'compress', algorithm: 'zstd', level: 3, where: 'container' }] }, 1), 'psql-decompress');
    assert.equal(chooseLoader({ format: 'sql', stages: [{ kind: 'encrypt', algorithm: 'age', where: 'host' }] }, 1), 'psql');
    const small = decideRestore(facts(source({ format: 'custom', size: PARALLEL_MIN_BYTES - 1 })), {}, now);
    assert.deepEqual([small.loader, small.jobs], ['pg_restore', 1]);
    const big = decideRestore(facts(source({ format: 'custom', size: PARALLEL_MIN_BYTES }), { cpus: 12 }), {}, now);
    assert.deepEqual([big.loader, big.jobs], ['pg_restore-parallel', 8], 'one job per CPU, at most 8');
    const two = decideRestore(facts(source({ format: 'custom', size: PARALLEL_MIN_BYTES }), { cpus: 2 }), {}, now);
    assert.equal(two.jobs, 2);
    assert.equal(decideRestore(facts(source({ format: 'custom', size: 10 })), { jobs: 3 }, now).jobs, 3, 'an explicit --jobs applies at any size');
    assert.equal(decideRestore(facts(source({ format: 'custom', size: PARALLEL_MIN_BYTES })), { jobs: 1 }, now).loader, 'pg_restore', '--jobs 1 streams');
    const gzArchive = decideRestore(facts(source({ format: 'custom', stages: [gzip], size: PARALLEL_MIN_BYTES })), { jobs: 4 }, now);
    assert.deepEqual([gzArchive.loader, gzArchive.jobs], ['pg_restore', 1], 'a gzipped archive (.dump.gz) cannot be read in parallel');
    assert.equal(decideRestore(facts(source()), { jobs: 4 }, now).jobs, 1, 'plain dumps always stream');
  });

  it('names the scratch and previous databases, the apps to stop, and what earlier restores left', () => {
    const plan = decideRestore(facts(source(), { databases: ['postgres', 'shop', 'shop__before_restore_20261101_000000', 'shop__restoring_20261102_000000', 'other__restoring_20261102_000000'], apps: ['web'] }), {}, now);
    assert.equal(plan.scratchDatabase, 'shop__restoring_20261125_120000');
    assert.equal(plan.previousDatabase, 'shop__before_restore_20261125_120000');
    assert.deepEqual(plan.dropAfter, ['shop__before_restore_20261101_000000']);
    assert.deepEqual(plan.leftoverScratch, ['shop__restoring_20261102_000000']);
    assert.deepEqual(plan.stopContainers.map((a) => a.name), ['web']);
    assert.match(plan.steps.join('\n'), /Stop web\.[\s\S]*rename it to "shop__before_restore_20261125_120000"[\s\S]*Start web again/);
    const fresh = decideRestore(facts(source(), { databases: ['postgres'] }), { dropPrevious: true }, now);
    assert.equal(fresh.liveExists, false);
    assert.match(fresh.steps.join('\n'), /there is no "shop" yet/);
    assert.equal(JSON.parse(JSON.stringify(fresh)).loader, 'psql-decompress', 'the plan is plain JSON');
  });
});
