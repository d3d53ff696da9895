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
  );
}

module.exports = { activate, deactivate() {} };
