import * as vscode from 'vscode';
import type { BackupModel } from '../model';
import type { ScheduleService } from '../schedules';
import type { Services } from '../services';
import { sideDatabaseKind } from '../../core/databases/sideDatabases';
import { decorateFreshness } from './freshness';
import { toTreeItem, type Node } from './nodes';
import { PitrStatusCache } from './pitrRow';

/** Containers grouped by compose project → databases → their backups. */
export class ContainersTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subs: vscode.Disposable[];

  /** Point-in-time recovery status per container, read in the background (with services). */
  readonly pitr?: PitrStatusCache;

  constructor(
    private readonly model: BackupModel,
    private readonly services?: Services,
    private readonly schedules?: ScheduleService,
  ) {
    const fire = () => this.changed.fire(undefined);
    this.pitr = services ? new PitrStatusCache(services, fire) : undefined;
    this.subs = [model.onDidChange(() => {
      this.pitr?.clear();
      fire();
    }), ...(schedules ? [schedules.onDidChange(fire)] : []), ...(services ? [services.onDidChangeSettings(fire)] : [])];
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const item = toTreeItem(n, (x) => (x.kind === 'database' ? this.model.backupsOf(x.container.name, x.database.name).length : 0));
    if (n.kind === 'database' && this.services && !sideDatabaseKind(n.database.name)) {
      const s = this.services.settings;
      decorateFreshness(item, n.container.name, n.database.name, this.model.backupsOf(n.container.name, n.database.name), { text: s.maxBackupAge, ms: s.maxBackupAgeMs });
    }
    return item;
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) {
      // The rows come as soon as the containers are known; each running server's databases follow.
      await this.model.ensureListed();
      const containers = this.model.containers;
      if (containers.length === 0) return []; // the welcome view says why
      const byProject = new Map<string, typeof containers>();
      const loose: Node[] = [];
      for (const c of containers) {
        if (c.composeProject) byProject.set(c.composeProject, [...(byProject.get(c.composeProject) ?? []), c]);
        else loose.push({ kind: 'container', container: c });
      }
      const count = this.schedules?.schedules.length ?? 0;
      return [...[...byProject].map(([project, cs]): Node => ({ kind: 'project', project, containers: cs })), ...loose, ...(count ? [{ kind: 'schedules', count } as Node] : [])];
    }
    switch (n.kind) {
      case 'project':
        return n.containers.map((container) => ({ kind: 'container', container }));
      case 'container':
        if (!n.container.running) return [];
        if (!n.container.databases && !n.container.problem) return [{ kind: 'message', id: `${n.container.name}:reading`, label: 'Reading databases…', icon: 'loading~spin' }];
        if (!n.container.databases) return [{ kind: 'message', id: `${n.container.name}:problem`, label: n.container.problem ?? 'Databases unknown', icon: 'warning', tooltip: n.container.problem }];
        return [...n.container.databases.map((database): Node => ({ kind: 'database', container: n.container, database })), ...(this.pitr ? [{ kind: 'pitr', ...this.pitr.row(n.container) } as Node] : [])];
      case 'schedules': {
        const views = await this.schedules!.views();
        return this.schedules!.schedules.map((schedule) => ({ kind: 'schedule', schedule, view: views.find((v) => v.id === schedule.id) }));
      }
      case 'database':
        return this.model.backupsOf(n.container.name, n.database.name).map((backup) => ({ kind: 'backup', backup, parentId: `database:${n.container.name}/${n.database.name}` }));
      default:
        return [];
    }
  }

  getParent(): undefined {
    return undefined;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}
