// Throwaway extension for the self-check of test/e2e/harness.ts (not part of the product).
const vscode = require('vscode');

function activate(context) {
  const tree = {
    getChildren: (element) => (element ? [] : ['Fixture Item One']),
    getTreeItem: (label) => new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None),
  };
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('fixture.tree', tree),
    vscode.commands.registerCommand('fixture.sayHello', () => {
      vscode.window.showInformationMessage('Hello from the fixture extension', 'Thanks');
      return 'hello';
    }),
    // a modal dialog, a quick pick and an input box, to check the harness's helpers
    vscode.commands.registerCommand('fixture.ask', async () => {
      const sure = await vscode.window.showWarningMessage('Really ask?', { modal: true, detail: 'Fixture modal' }, 'Ask');
      if (sure !== 'Ask') return vscode.window.showInformationMessage('Fixture answers: cancelled');
      const color = await vscode.window.showQuickPick(['red', 'green', 'blue'], { placeHolder: 'Pick a color' });
      const name = await vscode.window.showInputBox({ prompt: 'Your name' });
      vscode.window.showInformationMessage(`Fixture answers: ${color} ${name}`);
    }),
  );
}

module.exports = { activate, deactivate() {} };
