import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('fixture extension in the extension host', () => {
  it('has the VS Code API', () => {
    assert.match(vscode.version, /^1\.\d+/);
  });

  it('registers its command', async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'e2e-fixture');
    assert.ok(ext, 'the fixture extension is loaded');
    await ext.activate();
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('fixture.sayHello'));
    assert.equal(await vscode.commands.executeCommand('fixture.sayHello'), 'hello');
  });

  it('sees the environment given to code-server', () => {
    assert.equal(process.env.E2E_FIXTURE_MARK, 'from-harness');
  });
});
