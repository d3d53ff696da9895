import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { createDockerClient } from '../../src/core/docker/client';
import { runSql } from '../../src/core/postgres/client';
import type { ExtensionApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/nodes';
import { Prompts } from './prompts';

const DB = process.env.PGDB_HOST_TEST_DB ?? '';
const PASSWORD = process.env.PGDB_HOST_TEST_PASSWORD ?? '';
const docker = createDockerClient();
const target = { container: DB, containerName: DB, user: 'shop', password: PASSWORD };
const sql = (db: string, text: string) => runSql(docker, target, db, text, 'host test SQL');

type Pick = vscode.QuickPickItem & { container?: { name: string }; table?: string };

/** Copy to Container… driven like a person would: right-click chinook, pick the target, name, scope, the modal. */
describe('Copy to Container… inside VS Code', function () {
  let api: ExtensionApi;
  const prompts = new Prompts();
  afterEach(() => prompts.restore());

  async function chinookNode(): Promise<Node & { kind: 'database' }> {
    api = await vscode.extensions.getExtension<ExtensionApi>('pg-docker-backup.pg-docker-backup')!.activate();
    await api.model.refresh();
    const p = api.trees.containersProvider;
    const project = (await p.getChildren()).find((n) => n.kind === 'project' && n.project === 'hostshop')!;
    const container = (await p.getChildren(project)).find((n) => n.kind === 'container' && n.container.name === DB)!;
    return (await p.getChildren(container)).find((n) => n.kind === 'database' && n.database.name === 'chinook') as Node & { kind: 'database' };
  }

  /** Answers the container pick with DB, "what to copy?" with `scope`, and the table pick with `tables`. */
  function answerPicks(scope: RegExp, tables: string[] = []): void {
    prompts.answer('showQuickPick', async (first: unknown) => {
      const items = (await Promise.resolve(first)) as unknown as Pick[];
      if (items.some((i) => i.container)) return items.find((i) => i.container?.name === DB);
      if (items.some((i) => i.table !== undefined)) return items.filter((i) => i.table !== undefined && tables.includes(i.table));
      return items.find((i) => scope.test(i.label));
    });
  }

  it('copies the whole database into a new one in the chosen container, after a modal with the plan', async function () {
    const node = await chinookNode();
    answerPicks(/Whole Database/);
    prompts.answer('showInputBox', async () => 'chinook_copy');
    prompts.answer('showWarningMessage', async (_m: string, ...rest: unknown[]) => rest.find((r) => r === 'Copy'));
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.copyToContainer', node);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Copy "chinook" from .* into "chinook_copy" in /);
    assert.match(modal?.detail ?? '', /pg_dump there, streamed into pg_restore/);
    const count = (db: string) => sql(db, 'SELECT count(*) FROM track').then((s) => s.trim());
    assert.equal(await count('chinook_copy'), await count('chinook'));
    const done = prompts.seen.find((s) => s.fn === 'showInformationMessage' || (s.fn === 'showWarningMessage' && s !== modal));
    assert.match(done?.message ?? '', /^Copied "chinook" into "chinook_copy"/);
  });

  it('copies one picked table: the modal names the tables that reference it; only that table changes', async function () {
    await sql('chinook_copy', `UPDATE album SET title = 'changed'; UPDATE genre SET name = 'kept'`);
    const node = await chinookNode();
    answerPicks(/Some Tables/, ['album']);
    prompts.answer('showInputBox', async () => 'chinook_copy');
    prompts.answer('showWarningMessage', async (_m: string, ...rest: unknown[]) => rest.find((r) => r === 'Replace Tables'));
    prompts.answer('showInformationMessage', async () => undefined);
    await vscode.commands.executeCommand('pgDockerBackup.copyToContainer', node);
    const modal = prompts.seen.find((s) => s.fn === 'showWarningMessage');
    assert.match(modal?.message ?? '', /^Replace public\.album in "chinook_copy"/);
    assert.match(modal?.detail ?? '', /Tables that reference them: public\.track/);
    assert.equal((await sql('chinook_copy', `SELECT count(*) FROM album WHERE title = 'changed'`)).trim(), '0', 'album is as in chinook');
    assert.notEqual((await sql('chinook_copy', `SELECT count(*) FROM genre WHERE name = 'kept'`)).trim(), '0', 'genre is untouched');
    await sql('postgres', 'DROP DATABASE chinook_copy');
  });
});
