/**
 * Activation cost of the packaged bundle (dist/extension.js, production build): time to load the
 * bundle and run activate() with a stand-in `vscode` module, and proof that activation makes no
 * Docker call (DOCKER_HOST points at a socket that counts connections). Prints a table and writes
 * bench/results/activation.json.   node --import=tsx bench/activation.ts [--runs 20]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;

/** A child process measures one cold load: require + activate, with a counting fake Docker socket. */
const child = `
const Module = require('module');
const noop = () => {};
const disposable = { dispose: noop };
const event = () => disposable;
const emitter = class { constructor() { this.event = event; } fire() {} dispose() {} };
const treeView = { onDidChangeVisibility: event, visible: false, dispose: noop, message: undefined, description: undefined };
const channel = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, show: noop, dispose: noop, append: noop, appendLine: noop };
const vscode = {
  EventEmitter: emitter,
  TreeItem: class {}, ThemeIcon: class { static Folder = {}; }, ThemeColor: class {}, MarkdownString: class { appendMarkdown() {} appendCodeblock() {} },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 }, ProgressLocation: { Notification: 15 },
  ConfigurationTarget: { Global: 1 }, Uri: { file: (p) => ({ fsPath: p }) }, RelativePattern: class {},
  window: { createOutputChannel: () => channel, createTreeView: () => treeView, showInformationMessage: noop },
  workspace: { getConfiguration: () => ({ get: (k, d) => d, inspect: () => undefined }), onDidChangeConfiguration: event, onDidGrantWorkspaceTrust: event, isTrusted: true, createFileSystemWatcher: () => ({ onDidCreate: event, onDidChange: event, onDidDelete: event, dispose: noop }) },
  commands: { registerCommand: () => disposable, executeCommand: async () => undefined },
  env: { clipboard: { writeText: async () => undefined } },
};
const load = Module._load;
Module._load = function (request, ...rest) { return request === 'vscode' ? vscode : load.call(this, request, ...rest); };
const t0 = process.hrtime.bigint();
const ext = require(process.argv[1]);
const t1 = process.hrtime.bigint();
const storage = require('node:os').tmpdir() + '/pgdb-bench-activation-' + process.pid;
const context = { subscriptions: [], secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined, onDidChange: event }, asAbsolutePath: (p) => p, globalStorageUri: { fsPath: storage }, globalState: { get: () => undefined, update: async () => undefined } };
ext.activate(context);
const t2 = process.hrtime.bigint();
setTimeout(() => process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6 })), 300);
`;

async function main(): Promise<void> {
  execFileSync(process.execPath, ['esbuild.js', '--production'], { cwd: root, stdio: 'inherit' });
  const bundle = path.join(root, 'dist', 'extension.js');
  const sock = path.join(os.tmpdir(), `pgdb-bench-docker-${process.pid}.sock`);
  let dockerConnections = 0;
  const server = net.createServer((c) => {
    dockerConnections++;
    c.destroy();
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const samples: { loadMs: number; activateMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['-e', child, bundle], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` } }).toString();
    samples.push(JSON.parse(out));
  }
  server.close();
  fs.rmSync(sock, { force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const total = samples.map((s) => s.loadMs + s.activateMs);
  const result = {
    bundleBytes: fs.statSync(bundle).size,
    runs,
    loadMsMedian: median(samples.map((s) => s.loadMs)),
    activateMsMedian: median(samples.map((s) => s.activateMs)),
    totalMsMedian: median(total),
    totalMsMax: Math.max(...total),
    dockerCallsDuringActivation: dockerConnections,
    target: 'activation (load + activate) under 100 ms, no Docker call before a view is shown',
    pass: median(total) < 100 && dockerConnections === 0,
  };
  console.log('| measure | value |\n|---|---|');
  console.log(`| bundle size | ${(result.bundleBytes / 1024).toFixed(0)} KB |`);
  console.log(`| load bundle (median of ${runs} cold processes) | ${result.loadMsMedian.toFixed(1)} ms |`);
  console.log(`| activate() (median) | ${result.activateMsMedian.toFixed(1)} ms |`);
  console.log(`| load + activate (median / max) | ${result.totalMsMedian.toFixed(1)} / ${result.totalMsMax.toFixed(1)} ms |`);
  console.log(`| Docker connections during activation | ${dockerConnections} |`);
  console.log(`| target met | ${result.pass ? 'PASS' : 'FAIL'} |`);
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'results', 'activation.json'), JSON.stringify(result, null, 2) + '\n');
  if (!result.pass) process.exitCode = 1;
}

void main();
