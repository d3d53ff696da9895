import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { createDockerClient } from '../../src/core/docker/client';
import { startPostgresContainer } from '../../src/core/docker/postgresContainer';
import { listBaseBackups } from '../../src/core/pitr/baseStore';
import { runSql } from '../../src/core/postgres/client';
import type { ExtensionApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/nodes';
import { Prompts } from './prompts';

const IMAGE = process.env.PGDB_TEST_IMAGE_NEW ?? 'pg-docker-backup-test/postgres:17';
const ARCHIVE = '/var/lib/postgresql/archive';
const NAME = `pgdb-host-pitr-${process.pid}`;
const VOLUME = `${NAME}-archive`;
const docker = createDockerClient();
const target = { container: NAME, containerName: NAME, user: 'postgres', password: 'pitr-pw' };
const sql = (text: string) => runSql(docker, target, 'postgres', text, 'host test SQL');

/** The WAL segment files in the archive (24 hex digits), sorted. */
async function archivedSegments(): Promise<string[]> {
  const r = await docker.exec(NAME, ['ls', '-1', ARCHIVE], { user: 'postgres' });
  return r.stdout.split('\n').filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
}

/** Base backups taken and pruned through the extension's commands on a container archiving its WAL. */
describe('Prune Base Backups and WAL… inside VS Code', function () {
  this.timeout(300_000);
  let api: ExtensionApi;
  const prompts = new Prompts();
  const dir = process.env.PG_DOCKER_BACKUP_DIR ?? '';

  async function pitrNode(): Promise<Node> {
    await api.model.refresh();
    const p = api.trees.containersProvider;
    const walk = async (nodes: Node[]): Promise<Node | undefined> => {
      for (const n of nodes) {
        if (n.kind === 'container' && n.container.name === NAME) return { kind: 'pitr', container: n.container } as Node;
        if (n.kind === 'project') {
          const found = await walk(await p.getChildren(n));
          if (found) return found;
        }
      }
      return undefined;
    };
    const node = await walk(await p.getChildren());
    assert.ok(node, `${NAME} is in the Containers tree`);
    return node;
  }

  before(async function () {
    api = await vscode.extensions.getExtension<ExtensionApi>('pg-docker-backup.pg-docker-backup')!.activate();
    await startPostgresContainer(docker, {
      name: NAME,
      image: IMAGE,
      env: { POSTGRES_PASSWORD: 'pitr-pw' },
      serverArgs: ['-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=test ! -f ${ARCHIVE}/%f && cp %p ${ARCHIVE}/%f`],
      mounts: [{ type: 'volume', source: VOLUME, target: ARCHIVE }],
    });
    const chown = await docker.exec(NAME, ['chown', 'postgres:postgres', ARCHIVE], { user: 'root' });
    assert.equal(chown.exitCode, 0, chown.stderr);
    await sql('CREATE TABLE item (id int)');
  });

  after(async function () {
    prompts.restore();
    await vscode.workspace.getConfiguration('pgDockerBackup').update('retention', undefined, vscode.ConfigurationTarget.Global);
    await docker.removeContainer(NAME, { force: true, removeVolumes: true }).catch(() => undefined);
    await docker.removeVolume(VOLUME, { force: true }).catch(() => undefined);
  });

  it('keeps the newest base backup by the retention setting and deletes the older one with the WAL only it needed, after the modal', async function () {
    prompts.answer('showInformationMessage', async () => undefined);
    const node = await pitrNode();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) await sql(`INSERT INTO item VALUES (${j}); SELECT pg_switch_wal()`);
      await vscode.commands.executeCommand('pgDockerBackup.pitrBaseBackup', node);
    }
    await sql('INSERT INTO item VALUES (9); SELECT pg_switch_wal()');
    const bases = await listBaseBackups(dir, NAME);
    assert.equal(bases.length, 2, 'two base backups were taken through the command');
    const [newest, oldest] = [...bases].sort((a, b) => b.manifest.consistentAt.localeCompare(a.manifest.consistentAt));
    const before = await archivedSegments();
    const neededByNewest = before.filter((f) => f.slice(8) >= newest.manifest.walFiles[0].slice(8));
    assert.ok(before.length > neededByNewest.length, 'the archive holds WAL older than the newest base backup');

    await vscode.workspace.getConfiguration('pgDockerBackup').update('retention', { keepLast: 1, keepDaily: 0, keepMonthly: 0 }, vscode.ConfigurationTarget.Global); // VS Code merges object settings with the default's keys
    prompts.answer('showWarningMessage', async () => undefined); // first: decline
    await vscode.commands.executeCommand('pgDockerBackup.pitrPrune', node);
    assert.equal((await listBaseBackups(dir, NAME)).length, 2, 'declining the modal deletes nothing');
    assert.deepEqual(await archivedSegments(), before);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Delete 1 base backup\(s\) .* and \d+ WAL file\(s\)/);
    assert.match(modal?.detail ?? '', /Rules \(pgDockerBackup\.retention\): 1 last\./);

    prompts.answer('showWarningMessage', async () => 'Delete');
    await vscode.commands.executeCommand('pgDockerBackup.pitrPrune', node);
    const left = await listBaseBackups(dir, NAME);
    assert.deepEqual(left.map((b) => b.path), [newest.path], `the newest base backup is kept, ${oldest.path} is gone`);
    const after = await archivedSegments();
    assert.deepEqual(after, neededByNewest, 'exactly the WAL before the kept base backup is gone; everything from its start on is there');
  });
});
