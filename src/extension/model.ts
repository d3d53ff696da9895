import * as vscode from 'vscode';
import { listBackups, type BackupEntry } from '../core/store/backupStore';
import { discoverContainers, type PgContainer } from '../core/postgres/discovery';
import { errorMessage, isPgBackupError } from '../core/errors';
import type { Services } from './services';

export type ModelState = 'idle' | 'loading' | 'ready' | 'noContainers' | 'dockerUnreachable';

/**
 * What the trees show: containers (with databases) and backups, loaded together on refresh. Nothing is
 * loaded until a view asks for it, so activation makes no Docker call.
 */
export class BackupModel implements vscode.Disposable {
  state: ModelState = 'idle';
  containers: PgContainer[] = [];
  backups: BackupEntry[] = [];
  backupDir = '';
  /** One line on why the containers are missing (Docker unreachable, …). */
  problem?: string;
  private loading?: Promise<void>;
  private reloading?: Promise<void>;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly services: Services) {}

  /** Loads once; later callers get the same load. */
  ensureLoaded(): Promise<void> {
    if (this.state === 'idle' && !this.loading) return this.refresh();
    return this.loading ?? Promise.resolve();
  }

  refresh(): Promise<void> {
    // A load already running may have read Docker and the backup folder before the change this
    // refresh is for (a command's new backup, a Docker event): load once more after it. Callers
    // meanwhile share that one next load.
    if (this.loading) {
      this.reloading ??= this.loading.catch(() => undefined).then(() => {
        this.reloading = undefined;
        return this.refresh();
      });
      return this.reloading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      this.changed.fire();
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const log = this.services.logger;
    this.backupDir = this.services.settings.backupDirectory;
    const backups = listBackups(this.backupDir).catch((e) => {
      log.warn(`cannot list ${this.backupDir}: ${errorMessage(e)}`);
      return [] as BackupEntry[];
    });
    try {
      const summaries = await this.services.docker.listContainers();
      await this.services.loadPasswords(summaries.map((s) => s.name));
      this.containers = await discoverContainers(this.services.docker, this.services.discovery());
      this.state = this.containers.length ? 'ready' : 'noContainers';
      this.problem = this.containers.length ? undefined : 'No Postgres container found.';
    } catch (e) {
      this.containers = [];
      this.state = isPgBackupError(e, 'dockerUnreachable') ? 'dockerUnreachable' : 'noContainers';
      this.problem = errorMessage(e);
      log.warn(this.problem);
    }
    this.backups = await backups;
    void vscode.commands.executeCommand('setContext', 'pgDockerBackup.state', this.state);
  }

  /** Backups of one database of one container, newest first. */
  backupsOf(container: string, database: string): BackupEntry[] {
    return this.backups.filter((b) => b.container === container && b.database === database);
  }

  containerByName(name: string): PgContainer | undefined {
    return this.containers.find((c) => c.name === name);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
