/**
 * Scale: 100 Postgres containers (90 created and stopped, 10 running, all of the test image) and 5,000
 * synthetic backup files with manifests (plus 50 runbook files without one), and 10,000 for prune.
 * Measures, median of --runs (default 5):
 *  - `node dist/cli.js backups --dir D --json` end to end (process start included), the first run (no
 *    listing index yet) and the rest;
 *  - planning a prune over 10,000 files (planPrune with the runbook's policy, in this process);
 *  - the extension's model and trees (src/, a stand-in `vscode` module, the real Docker engine): from
 *    `model.refresh()` to every container node and the Backup Folder's groups resolved, and to the
 *    refresh's end (every running container's databases discovered).
 * Targets: backups --json < 500 ms; prune planning < 1 s; tree < 200 ms. Prints a table and writes
 * bench/results/scale.json. Everything it creates (temp dirs, containers labelled pgdb-bench-scale) is
 * removed afterwards, also on Ctrl-C.
 *   node esbuild.js && node --import=tsx bench/scale.ts [--runs 5] [--cli dist/cli.js] [--no-containers]
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { backupFileName, encodePathSegment } from '../src/core/store/naming';
import { listingIndexPath } from '../src/core/store/listingIndex';
import { planPrune } from '../src/core/store/prune';
import { median, table } from './lib';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const runs = Number(arg('--runs', '5'));
const cli = path.resolve(arg('--cli', path.join(__dirname, '..', 'dist', 'cli.js')));
const withContainers = !argv.includes('--no-containers');
const IMAGE = process.env.PGDB_TEST_IMAGE_NEW ?? 'pg-docker-backup-test/postgres:17';
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const LABEL = 'pgdb-bench-scale';
const CONTAINERS = 100;
const RUNNING = 10;
const DATABASES = ['postgres', 'app_1', 'app_2', 'app_3', 'app_4'];
const RUNBOOK_FILES = 50;
const newest = Date.UTC(2026, 10, 20, 2, 0, 0);
const policy = { daily: 30, monthly: 12 };
const exec = promisify(execFile);
const containerName = (i: number) => `pgdb-bench-scale-${String(i).padStart(3, '0')}`;

const TABLES = ['album', 'artist', 'customer', 'employee', 'genre', 'invoice', 'invoice_line', 'media_type', 'playlist', 'playlist_track', 'track'];

/** `perDb` backups (one every `hours`) of each database of each container, written as the sink writes them. */
async function makeBackups(dir: string, perDb: number, hours: number, limit: number): Promise<number> {
  let n = 0;
  for (let c = 0; c < CONTAINERS && n < limit; c++) {
    const container = containerName(c);
    const writes: Promise<void>[] = [];
    for (const database of DATABASES) {
      const folder = path.join(dir, encodePathSegment(container), encodePathSegment(database));
      await fs.mkdir(folder, { recursive: true });
      for (let i = 0; i < perDb && n < limit; i++, n++) {
        const created = new Date(newest - i * hours * 3_600_000);
        const file = path.join(folder, backupFileName(database, 'sql', created));
        const manifest = {
          manifestVersion: 2, tool: 'pg-docker-backup 0.1.0 (bench)', file: path.basename(file), container, containerId: 'f'.repeat(64), image: IMAGE,
          database, serverVersion: '17.2', pgDumpVersion: '17.2', format: 'sql', stages: [{ kind: 'compress', algorithm: 'gzip', level: 1, where: 'container' }],
          options: { tables: [], schemas: [], noOwner: false }, bytes: 64, sha256: 'a'.repeat(64), created: created.toISOString(), durationMs: 812,
          rowCounts: 'exact', tables: TABLES.map((name, k) => ({ schema: 'public', name, rows: 100 * k + i })),
          verifications: i % 7 === 3 ? [{ at: created.toISOString(), kind: 'quick', ok: true }] : undefined,
        };
        writes.push(fs.writeFile(file, Buffer.alloc(64, 1)), fs.writeFile(file + '.json', JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 }));
      }
    }
    await Promise.all(writes);
  }
  return n;
}

/** Runbook files (`benchmark_YYYYMMDD_HHMMSS.sql.gz`, no manifest) in DIR/runbook: recognised by their content. */
async function makeRunbookFiles(dir: string, count: number): Promise<void> {
  const folder = path.join(dir, 'runbook');
  await fs.mkdir(folder, { recursive: true });
  const body = gzipSync('--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 17.2\n-- Dumped by pg_dump version 17.2\n\nSET statement_timeout = 0;\n');
  for (let i = 0; i < count; i++) {
    const at = new Date(newest - i * 86_400_000);
    const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
    await fs.writeFile(path.join(folder, `benchmark_${stamp}.sql.gz`), body);
  }
}

async function dockerCli(args: string[]): Promise<string> {
  return (await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

async function removeContainers(): Promise<void> {
  const ids = (await dockerCli(['ps', '-aq', '--filter', `label=${LABEL}=${RUN_ID}`]).catch(() => '')).split('\n').filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) await dockerCli(['rm', '-f', '-v', ...ids.slice(i, i + 50)]).catch(() => '');
}

/** 100 containers of the test image, the first RUNNING started; waits until those accept connections. */
async function makeContainers(): Promise<void> {
  const create = async (i: number) => {
    const args = ['--name', containerName(i), '--label', `${LABEL}=${RUN_ID}`, '-e', 'POSTGRES_PASSWORD=bench', IMAGE];
    if (i < RUNNING) await dockerCli(['run', '-d', '--shm-size', '64m', ...args]);
    else await dockerCli(['create', ...args]);
  };
  let next = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (next < CONTAINERS) await create(next++);
  }));
  const deadline = Date.now() + 180_000;
  for (let i = 0; i < RUNNING; i++) {
    for (;;) {
      const ok = await exec('docker', ['exec', containerName(i), 'psql', '-U', 'postgres', '-Atc', 'SELECT 1']).then(() => true, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${containerName(i)} did not accept connections within 3 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** One run of `node ARGS`, stdout into a file (as `> out.json` would): wall clock from spawn to exit, and CPU (GNU time). */
async function runNodeToFile(args: string[], out: string): Promise<{ ms: number; cpuMs: number }> {
  const fh = await fs.open(out, 'w');
  const timeFile = `${out}.time`;
  try {
    const t = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, process.execPath, ...args], { stdio: ['ignore', fh.fd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const ms = performance.now() - t;
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`);
    const [user, sys] = (await fs.readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    return { ms, cpuMs: (user + sys) * 1000 };
  } finally {
    await fh.close();
  }
}

interface CliSamples {
  first: number;
  samples: number[];
  cpu: number[];
  count: number;
  /** `node -e 0` on this machine now: the floor of any CLI run. */
  nodeFloor: number[];
}

async function measureCli(dir: string, out: string): Promise<CliSamples> {
  const once = async () => {
    const r = await runNodeToFile([cli, 'backups', '--dir', dir, '--json'], out);
    return { ...r, count: (JSON.parse(await fs.readFile(out, 'utf8')) as { backups: unknown[] }).backups.length };
  };
  const first = await once();
  const samples: number[] = [];
  const cpu: number[] = [];
  const nodeFloor: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once();
    samples.push(r.ms);
    cpu.push(r.cpuMs);
    nodeFloor.push((await runNodeToFile(['-e', '0'], out)).ms);
  }
  return { first: first.ms, samples, cpu, count: first.count, nodeFloor };
}

async function measurePrune(dir: string): Promise<{ first: number; samples: number[]; deleted: number }> {
  const once = async () => {
    const t = performance.now();
    const p = await planPrune({ dir, policy, now: new Date(newest + 3_600_000) });
    return { ms: performance.now() - t, deleted: p.delete.length };
  };
  const first = await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push((await once()).ms);
  return { first: first.ms, samples, deleted: first.deleted };
}

/** A stand-in for the `vscode` module: enough for the model and the two tree providers. */
function installVscodeStub(): void {
  class EventEmitter<T> {
    private listeners: ((e: T) => void)[] = [];
    event = (l: (e: T) => void) => {
      this.listeners.push(l);
      return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
    };
    fire(e: T) {
      for (const l of this.listeners) l(e);
    }
    dispose() {
      this.listeners = [];
    }
  }
  const vscode = { EventEmitter, commands: { executeCommand: async () => undefined }, TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 } };
  const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = M._load;
  M._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? vscode : load.call(this, request, ...rest);
  };
}

interface TreeSample {
  treeMs: number;
  refreshMs: number;
  containers: number;
  groups: number;
  databases: number;
}

async function measureTree(dir: string): Promise<TreeSample[]> {
  installVscodeStub();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { BackupModel } = require('../src/extension/model') as typeof import('../src/extension/model');
  const { ContainersTree } = require('../src/extension/tree/containersTree') as typeof import('../src/extension/tree/containersTree');
  const { BackupFolderTree } = require('../src/extension/tree/backupFolderTree') as typeof import('../src/extension/tree/backupFolderTree');
  const { createDockerClient } = require('../src/core/docker/client') as typeof import('../src/core/docker/client');
  type Node = import('../src/extension/tree/nodes').Node;
  const services = {
    logger: { trace() {}, debug() {}, info() {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) },
    settings: { backupDirectory: dir },
    docker: createDockerClient(),
    loadPasswords: async () => undefined,
    discovery: () => ({ protectedContainers: [], passwordFor: () => undefined, appContainersFor: () => undefined }),
  };
  const model = new BackupModel(services as never);
  const containersTree = new ContainersTree(model);
  const folderTree = new BackupFolderTree(model);
  const samples: TreeSample[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    const refreshed = model.refresh().then(() => performance.now() - t0);
    const roots = await containersTree.getChildren();
    const nodes = (await Promise.all(roots.map((n) => (n.kind === 'project' ? containersTree.getChildren(n) : [n])))).flat();
    const containers = nodes.filter((n): n is Extract<Node, { kind: 'container' }> => n.kind === 'container' && n.container.name.startsWith('pgdb-bench-scale-'));
    // the rows under each running container (its databases, or a row saying they are being read)
    await Promise.all(containers.map((n) => containersTree.getChildren(n)));
    const groups = await folderTree.getChildren();
    const treeMs = performance.now() - t0;
    const refreshMs = await refreshed;
    const databases = model.containers.filter((c) => c.name.startsWith('pgdb-bench-scale-')).reduce((s, c) => s + (c.databases?.length ?? 0), 0);
    samples.push({ treeMs, refreshMs, containers: containers.length, groups: groups.length, databases });
  }
  containersTree.dispose();
  folderTree.dispose();
  model.dispose();
  return samples;
}

async function main(): Promise<void> {
  await fs.access(cli).catch(() => {
    throw new Error(`${cli} is missing: run \`node esbuild.js\` first`);
  });
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pgdb-bench-scale-'));
  const cleanup = async () => {
    await fs.rm(root, { recursive: true, force: true });
    for (const d of ['list', 'prune']) await fs.rm(listingIndexPath(path.join(root, d)), { force: true });
    if (withContainers) await removeContainers();
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const list = path.join(root, 'list');
    const prune = path.join(root, 'prune');
    let t = performance.now();
    const listed = (await makeBackups(list, 10, 24, 5_000 - RUNBOOK_FILES)) + RUNBOOK_FILES;
    await makeRunbookFiles(list, RUNBOOK_FILES);
    const pruned = await makeBackups(prune, 20, 6, 10_000);
    console.log(`${listed} + ${pruned} backup files written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (withContainers) {
      t = performance.now();
      await makeContainers();
      console.log(`${CONTAINERS} containers (${RUNNING} running) ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const cliResult = await measureCli(list, path.join(root, 'backups.json'));
    const pruneResult = await measurePrune(prune);
    const tree = withContainers ? await measureTree(list) : [];
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const treeLater = tree.slice(1);
    const result = {
      at: new Date().toISOString(),
      cli: path.relative(path.join(__dirname, '..'), cli),
      files: { listed, pruned, runbookWithoutManifest: RUNBOOK_FILES },
      containers: withContainers ? { total: CONTAINERS, running: RUNNING } : null,
      runs,
      backupsJson: { count: cliResult.count, firstMs: cliResult.first, medianMs: median(cliResult.samples), maxMs: Math.max(...cliResult.samples), cpuMsMedian: median(cliResult.cpu), nodeStartMsMedian: median(cliResult.nodeFloor), samples: cliResult.samples },
      prunePlan: { files: pruned, toDelete: pruneResult.deleted, firstMs: pruneResult.first, medianMs: median(pruneResult.samples), maxMs: Math.max(...pruneResult.samples) },
      tree: tree.length
        ? {
            first: tree[0],
            treeMsMedian: median(treeLater.map((s) => s.treeMs)),
            refreshMsMedian: median(treeLater.map((s) => s.refreshMs)),
            samples: treeLater,
          }
        : null,
      loadAverage1m: os.loadavg()[0],
      cpus: os.cpus().length,
      targets: { backupsJsonMs: 500, prunePlanMs: 1000, treeMs: 200 },
    };
    const rows = [
      [`backups --json, ${cliResult.count} backups (CLI process)`, ms(cliResult.first), ms(median(cliResult.samples)), ms(Math.max(...cliResult.samples)), '< 500 ms'],
      ['  CPU time of that process (user+sys)', '', ms(median(cliResult.cpu)), ms(Math.max(...cliResult.cpu)), ''],
      ['  `node -e 0` meanwhile (the floor)', '', ms(median(cliResult.nodeFloor)), ms(Math.max(...cliResult.nodeFloor)), ''],
      [`prune plan, ${pruned} files (${pruneResult.deleted} to delete)`, ms(pruneResult.first), ms(median(pruneResult.samples)), ms(Math.max(...pruneResult.samples)), '< 1 s'],
    ];
    if (tree.length) {
      rows.push([`tree: refresh → ${tree[0].containers} containers + ${tree[0].groups} folder groups`, ms(tree[0].treeMs), ms(median(treeLater.map((s) => s.treeMs))), ms(Math.max(...treeLater.map((s) => s.treeMs))), '< 200 ms']);
      rows.push([`  refresh done (${tree[tree.length - 1].databases} databases of ${RUNNING} running)`, ms(tree[0].refreshMs), ms(median(treeLater.map((s) => s.refreshMs))), ms(Math.max(...treeLater.map((s) => s.refreshMs))), '']);
    }
    console.log(table(['what', 'first', 'median', 'max', 'target'], rows));
    console.log(`load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
    await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
    await fs.writeFile(path.join(__dirname, 'results', 'scale.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await cleanup();
  }
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
