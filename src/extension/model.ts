import * as vscode from 'vscode';
import { listBackups, type BackupEntry } from '../core/store/backupStore';
import { ListingIndex } from '../core/store/listingIndex';
import { discoverContainers, readDatabases, type PgContainer } from '../core/postgres/discovery';
import { errorMessage, isPgBackupError } from '../core/errors';
import type { Services } from './services';

export type ModelState = 'idle' | 'loading' | 'ready' | 'noContainers' | 'dockerUnreachable';

/**
 * What the trees show: containers (with databases) and backups. A refresh loads the containers and
 * backups first (the trees show them at once), then each running server's databases as they arrive.
 * Nothing is loaded until a view asks for it, so activation makes no Docker call.
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
  /** The current load's first step: containers (without databases) and backups. */
  private listed?: Promise<void>;
  /** What the last listing read (manifests, content sniffs), so a refresh reads only what changed. */
  private listingIndex?: ListingIndex;
  /** The backups by `container\0database`, built on first use. */
  private byDatabase?: Map<string, BackupEntry[]>;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly services: Services) {}

  /** Loads once, databases included; later callers get the same load. */
  ensureLoaded(): Promise<void> {
    if (this.state === 'idle' && !this.loading) return this.refresh();
    return this.loading ?? Promise.resolve();
  }

  /** Resolves once the containers (their databases may still be coming) and the backups are in. */
  ensureListed(): Promise<void> {
    if (this.state === 'idle' && !this.loading) void this.refresh();
    return this.listed ?? Promise.resolve();
  }

  /** Resolves when everything is loaded, every running server's databases included. */
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
    const listing = this.list();
    this.listed = listing.catch(() => undefined);
    this.loading = listing
      .then(() => {
        this.changed.fire();
        return this.readAllDatabases();
      })
      .finally(() => {
        this.loading = undefined;
        this.changed.fire();
      });
    return this.loading;
  }

  private async list(): Promise<void> {
    const log = this.services.logger;
    this.backupDir = this.services.settings.backupDirectory;
    if (this.listingIndex?.root !== this.backupDir) this.listingIndex = new ListingIndex(this.backupDir);
    const backups = listBackups(this.backupDir, undefined, { index: this.listingIndex }).catch((e) => {
      log.warn(`cannot list ${this.backupDir}: ${errorMessage(e)}`);
      return [] as BackupEntry[];
    });
    try {
      const summaries = await this.services.docker.listContainers();
      await this.services.loadPasswords(summaries.map((s) => s.name));
      this.containers = await discoverContainers(this.services.docker, { ...this.services.discovery(), withDatabases: false });
      this.state = this.containers.length ? 'ready' : 'noContainers';
      this.problem = this.containers.length ? undefined : 'No Postgres container found.';
    } catch (e) {
      this.containers = [];
      this.state = isPgBackupError(e, 'dockerUnreachable') ? 'dockerUnreachable' : 'noContainers';
      this.problem = errorMessage(e);
      log.warn(this.problem);
    }
    this.backups = await backups;
    this.byDatabase = undefined;
    void vscode.commands.executeCommand('setContext', 'pgDockerBackup.state', this.state);
  }

  /** Every running server's databases (one psql each, in parallel); the trees are told at most every 50 ms. */
  private async readAllDatabases(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const arrived = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        this.changed.fire();
      }, 50);
    };
    const options = this.services.discovery();
    const running = this.containers.filter((c) => c.running);
    await Promise.all(running.map((c) => readDatabases(this.services.docker, c, options).then(arrived)));
    clearTimeout(timer); // the end of the refresh tells them
  }

  /** Backups of one database of one container, newest first. */
  backupsOf(container: string, database: string): BackupEntry[] {
    if (!this.byDatabase) {
      this.byDatabase = new Map();
      for (const b of this.backups) {
        if (b.container === undefined || b.database === undefined) continue;
        const key = `${b.container}\0${b.database}`;
        const list = this.byDatabase.get(key);
        if (list) list.push(b);
        else this.byDatabase.set(key, [b]);
      }
    }
    return this.byDatabase.get(`${container}\0${database}`) ?? [];
  }

  containerByName(name: string): PgContainer | undefined {
    return this.containers.find((c) => c.name === name);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
