import * as path from 'node:path';
import * as vscode from 'vscode';
import { decodePathSegment } from '../../core/store/naming';
import type { BackupModel } from '../model';
import { toTreeItem, type Node } from './nodes';

/** Every backup in the backup directory, grouped by its container and database folders. */
export class BackupFolderTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly model: BackupModel) {
    this.sub = model.onDidChange(() => this.changed.fire(undefined));
  }

  getTreeItem(n: Node): vscode.TreeItem {
    return toTreeItem(n, (x) => (x.kind === 'folder' ? x.children.length : 0));
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (n) return n.kind === 'folder' ? n.children : [];
    await this.model.ensureListed();
    const root = this.model.backupDir;
    if (this.model.backups.length === 0) {
      return [{ kind: 'message', id: 'no-backups', label: 'No backups yet', icon: 'info', tooltip: `Backups are written to ${root}` }];
    }
    // Build folders from the paths relative to the root: <container>/<database>/<file>, or anything else.
    const top: Node[] = [];
    const folders = new Map<string, Extract<Node, { kind: 'folder' }>>();
    const folderFor = (rel: string[]): Node[] => {
      let children = top;
      let parentId = 'folderRoot';
      for (let i = 0; i < rel.length; i++) {
        const abs = path.join(root, ...rel.slice(0, i + 1));
        let f = folders.get(abs);
        if (!f) {
          f = { kind: 'folder', label: decodePathSegment(rel[i]), path: abs, children: [], parentId };
          folders.set(abs, f);
          children.push(f);
        }
        parentId = `folder:${abs}`;
        children = f.children;
      }
      return children;
    };
    for (const b of this.model.backups) {
      const rel = path.relative(root, path.dirname(b.path)).split(path.sep).filter((s) => s && s !== '.');
      const list = folderFor(rel);
      list.push({ kind: 'backup', backup: b, parentId: `folder:${path.dirname(b.path)}` });
    }
    return top;
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
