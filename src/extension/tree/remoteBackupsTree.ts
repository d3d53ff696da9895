import * as vscode from 'vscode';
import type { RemoteModel } from '../remoteModel';
import { toTreeItem, type Node } from './nodes';
import { NO_CONTAINER, NO_DATABASE, groupRows } from './remoteNodes';

/**
 * The Remote Backups view: each configured remote (collapsed; nothing is listed until it is expanded) →
 * container → database → backups, newest first. A remote that cannot be listed shows its one-sentence
 * error and a Retry row.
 */
export class RemoteBackupsTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  /** The root rows last handed out, so that one remote's row can be refreshed alone. */
  private roots = new Map<string, Node>();

  constructor(private readonly model: RemoteModel) {
    this.sub = model.onDidChange((name) => this.changed.fire(name ? this.roots.get(name) : undefined));
  }

  getTreeItem(n: Node): vscode.TreeItem {
    return toTreeItem(n, () => 0);
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) {
      const problem = this.model.problem;
      if (problem) return [{ kind: 'remoteError', message: problem }];
      this.roots = new Map(this.model.remotes.map((remote) => [remote.name, { kind: 'remote', remote }]));
      return [...this.roots.values()]; // none: the welcome view says how to add one
    }
    switch (n.kind) {
      case 'remote': {
        const listing = await this.model.listing(n.remote.name);
        if (listing.state === 'error') {
          const keys = n.remote.url.startsWith('s3:') && /credentials/i.test(listing.message);
          return [
            { kind: 'remoteError', remote: n.remote.name, message: listing.message },
            { kind: 'remoteAction', remote: n.remote.name, action: 'retry' },
            ...(keys ? [{ kind: 'remoteAction', remote: n.remote.name, action: 'credentials' } as const] : []),
          ];
        }
        if (listing.rows.length === 0) return [{ kind: 'message', id: `remote-empty:${n.remote.name}`, label: 'No backups on this remote yet', icon: 'info', tooltip: n.remote.url }];
        return groupRows(listing.rows, (r) => r.container ?? NO_CONTAINER).map(([container, rows]) => ({ kind: 'remoteContainer', remote: n.remote.name, container, rows }));
      }
      case 'remoteContainer':
        return groupRows(n.rows, (r) => r.database ?? NO_DATABASE).map(([database, rows]) => ({ kind: 'remoteDatabase', remote: n.remote, container: n.container, database, rows }));
      case 'remoteDatabase':
        return n.rows.map((row) => ({ kind: 'remoteBackup', remote: n.remote, row }));
      default:
        return [];
    }
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
