import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describeBackup, listBackups } from '../../src/core/store/backupStore';
import { CLI, cli, tempDir } from './harness';

// Real files in a temp dir and the built CLI; no Docker needed. The CLI runs in Berlin time, so that
// runbook names (local time) and our names (UTC) really differ.
const TZ = 'Europe/Berlin';
const DAY = 86_400_000;
const NEWEST = Date.UTC(2026, 10, 20, 2, 0, 0); // 2026-11-20 02:00Z

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

function manifest(file: string, created: Date, verified?: boolean): object {
  return {
    manifestVersion: 2,
    tool: 'pg-docker-backup 0.1.0',
    file: path.basename(file),
    container: 'db1',
    containerId: 'x',
    image: 'postgres:17',
    database: 'app',
    serverVersion: '17.0',
    pgDumpVersion: '17.0',
    format: 'sql',
    stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }],
    options: { tables: [], schemas: [], noOwner: false },
    bytes: 10,
    sha256: '0'.repeat(64),
    created: created.toISOString(),
    durationMs: 1,
    rowCounts: 'exact',
    tables: [],
    verifications: verified === undefined ? undefined : [{ at: created.toISOString(), kind: 'quick', ok: verified }],
  };
}

const plainDump = gzipSync('--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n');

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(() => true, () => false);
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) out.push(path.join(e.parentPath, e.name));
  return out.sort();
}

describe('prune (CLI, real files)', function () {
  this.timeout(60000);
  let root: string;
  let dir: string;
  let outside: string;
  let ours: string[] = [];
  let verifiedOld: string;
  const runbook: Record<string, string> = {};

  before(async function () {
    await fs.access(CLI).catch(() => {
      throw new Error(`${CLI} is missing: run \`node esbuild.js\` first`);
    });
    root = await tempDir('prune');
    dir = path.join(root, 'backups');
    outside = path.join(root, 'outside');
    const app = path.join(dir, 'db1', 'app');
    await fs.mkdir(app, { recursive: true });
    await fs.mkdir(path.join(outside, 'app'), { recursive: true });
    // 40 daily backups of ours (UTC names, manifests); the 30th-newest passed verification
    ours = [];
    for (let i = 0; i < 40; i++) {
      const at = new Date(NEWEST - i * DAY);
      const file = path.join(app, `app_${stamp(at.getTime())}.sql.gz`);
      await fs.writeFile(file, plainDump);
      await fs.writeFile(file + '.json', JSON.stringify(manifest(file, at, i === 29 ? true : i === 1 ? false : undefined)));
      ours.push(file);
    }
    verifiedOld = ours[29];
    // a backup being written, a file that is no backup, a symlink to an old backup outside the folder
    await fs.writeFile(path.join(app, `app_${stamp(NEWEST - 50 * DAY)}.sql.gz.partial`), plainDump);
    await fs.writeFile(path.join(app, 'notes.sql'), 'not a dump at all \u0000\u0001');
    const target = path.join(outside, 'app_20200101_000000.sql.gz');
    await fs.writeFile(target, plainDump);
    await fs.writeFile(target + '.json', JSON.stringify(manifest(target, new Date('2020-01-01T00:00:00Z'))));
    await fs.symlink(target, path.join(app, 'app_20200101_000000.sql.gz'));
    // a symlinked container folder: never walked into
    await fs.writeFile(path.join(outside, 'app', 'app_20200102_000000.sql.gz'), plainDump);
    await fs.symlink(outside, path.join(dir, 'db2'));
    // runbook files (no manifest) named in Berlin local time by `date`:
    // 2026-01-01 23:30 and 2026-01-02 00:30 local are different local days (read as UTC both would be 2 Jan)
    const rb = path.join(dir, 'runbook');
    await fs.mkdir(rb);
    for (const name of ['benchmark_20260101_233000.dump.gz', 'benchmark_20260102_003000.dump.gz', 'benchmark_20251231_120000.dump.gz']) {
      runbook[name] = path.join(rb, name);
      await fs.writeFile(runbook[name], plainDump);
    }
  });

  after(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  function expectedDeletions(): string[] {
    // keep-daily 2: the two newest of ours, plus the newest verified one; runbook: both January days
    return [...ours.slice(2).filter((f) => f !== verifiedOld), runbook['benchmark_20251231_120000.dump.gz']].sort();
  }

  it('refuses without any rule (exit 2) and suggests the runbook policy', async () => {
    const r = await cli(['prune', '--dir', dir], { TZ });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--keep-daily 30 --keep-monthly 12/);
  });

  it('--dry-run lists exactly what would go and deletes nothing', async () => {
    const before = await listTree(root);
    const r = await cli(['prune', '--dir', dir, '--keep-daily', '2', '--dry-run', '--json'], { TZ });
    assert.equal(r.code, 0, r.stderr);
    const json = r.json as { keep: string[]; delete: string[]; reasons: Record<string, string[]> };
    assert.deepEqual([...json.delete].sort(), expectedDeletions());
    assert.deepEqual(
      [...json.keep].sort(),
      [ours[0], ours[1], verifiedOld, runbook['benchmark_20260101_233000.dump.gz'], runbook['benchmark_20260102_003000.dump.gz'], path.join(dir, 'db1', 'app', 'notes.sql')].sort(),
    );
    assert.deepEqual(json.reasons[verifiedOld], ['newest verified backup']);
    assert.deepEqual(json.reasons[runbook['benchmark_20260101_233000.dump.gz']], ['daily 2026-01-01']);
    assert.deepEqual(json.reasons[path.join(dir, 'db1', 'app', 'notes.sql')], ['not a backup this tool recognises']);
    assert.ok(json.keep.every((p) => path.isAbsolute(p)) && json.delete.every((p) => path.isAbsolute(p)));
    assert.deepEqual(await listTree(root), before);
  });

  it('--container/--database narrow the plan', async () => {
    const r = await cli(['prune', '--dir', dir, '--database', 'benchmark', '--keep-daily', '2', '--dry-run', '--json'], { TZ });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((r.json as { delete: string[] }).delete, [runbook['benchmark_20251231_120000.dump.gz']]);
  });

  it('without --yes and without a terminal it refuses and deletes nothing', async () => {
    const before = await listTree(root);
    const r = await cli(['prune', '--dir', dir, '--keep-daily', '2'], { TZ });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--yes/);
    assert.deepEqual(await listTree(root), before);
  });

  it('a real run deletes exactly the planned files and their manifests, nothing else', async () => {
    const before = await listTree(root);
    const r = await cli(['prune', '--dir', dir, '--keep-daily', '2', '--yes', '--json'], { TZ });
    assert.equal(r.code, 0, r.stderr);
    const planned = expectedDeletions();
    assert.deepEqual([...(r.json as { deleted: string[] }).deleted].sort(), planned);
    const gone = new Set(planned.flatMap((f) => [f, f + '.json']).filter((f) => before.includes(f)));
    assert.deepEqual(await listTree(root), before.filter((f) => !gone.has(f)));
    for (const f of planned) {
      assert.equal(await exists(f), false, f);
      assert.equal(await exists(f + '.json'), false, f + '.json');
    }
    // the symlink and its target outside the folder, the symlinked folder's file, the partial: all intact
    assert.ok(await exists(path.join(outside, 'app_20200101_000000.sql.gz')));
    assert.ok(await exists(path.join(outside, 'app_20200101_000000.sql.gz.json')));
    assert.ok(await exists(path.join(dir, 'db1', 'app', 'app_20200101_000000.sql.gz')));
    assert.ok(await exists(path.join(outside, 'app', 'app_20200102_000000.sql.gz')));
    assert.ok(await exists(path.join(dir, 'db1', 'app', `app_${stamp(NEWEST - 50 * DAY)}.sql.gz.partial`)));
    // a second run finds nothing more to delete
    const again = await cli(['prune', '--dir', dir, '--keep-daily', '2', '--yes', '--json'], { TZ });
    assert.deepEqual((again.json as { delete: string[] }).delete, []);
  });
});

describe('backup times and listing (real files, in-process)', function () {
  let root: string;
  let savedTz: string | undefined;

  before(async () => {
    savedTz = process.env.TZ;
    process.env.TZ = TZ; // Node reads TZ again when it changes
    root = await tempDir('prune-times');
  });

  after(async () => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('a name of ours in DIR/<container>/<database>/ is UTC even without its manifest; any other name is local time', async () => {
    const ourDir = path.join(root, 'db1', 'app');
    await fs.mkdir(ourDir, { recursive: true });
    const ours = path.join(ourDir, 'app_20260101_020000.sql.gz');
    const theirs = path.join(root, 'benchmark_20260101_020000.dump.gz');
    const theirsInLayout = path.join(ourDir, 'backup_20260101_020000.sql');
    for (const f of [ours, theirs, theirsInLayout]) await fs.writeFile(f, plainDump);
    assert.equal((await describeBackup(ours, root)).created.toISOString(), '2026-01-01T02:00:00.000Z');
    assert.equal((await describeBackup(theirs, root)).created.toISOString(), '2026-01-01T01:00:00.000Z');
    assert.equal((await describeBackup(theirsInLayout, root)).created.toISOString(), '2026-01-01T01:00:00.000Z');
    // summer time: 02:00 CEST is 00:00Z
    const summer = path.join(root, 'benchmark_20260701_020000.dump.gz');
    await fs.writeFile(summer, plainDump);
    assert.equal((await describeBackup(summer, root)).created.toISOString(), '2026-07-01T00:00:00.000Z');
  });

  it('listBackups never follows a symlinked file or folder and never lists .partial files', async () => {
    const dir = path.join(root, 'list');
    const other = path.join(root, 'elsewhere');
    await fs.mkdir(path.join(dir, 'c', 'd'), { recursive: true });
    await fs.mkdir(path.join(other, 'd'), { recursive: true });
    await fs.writeFile(path.join(dir, 'c', 'd', 'd_20260101_000000.sql.gz'), plainDump);
    await fs.writeFile(path.join(dir, 'c', 'd', 'd_20260102_000000.sql.gz.partial'), plainDump);
    await fs.writeFile(path.join(other, 'd', 'd_20250101_000000.sql.gz'), plainDump);
    await fs.symlink(path.join(other, 'd', 'd_20250101_000000.sql.gz'), path.join(dir, 'c', 'd', 'd_20250101_000000.sql.gz'));
    await fs.symlink(other, path.join(dir, 'linked'));
    const listed = (await listBackups(dir)).map((b) => path.relative(dir, b.path));
    assert.deepEqual(listed, [path.join('c', 'd', 'd_20260101_000000.sql.gz')]);
  });
});
