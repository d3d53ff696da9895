import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { NamedRemote } from '../core/store/remote/remoteConfig';
import type { RemoteStore } from '../core/store/remote/remoteStore';
import type { Services } from './services';
import type { RemoteRow } from './tree/remoteNodes';

export type RemoteListing = { state: 'ready'; rows: RemoteRow[] } | { state: 'error'; message: string };

/**
 * What the Remote Backups view shows: each configured remote's backups with their sidecars, listed only
 * when the remote's row is expanded (never at activation) and kept until a refresh or a command changes
 * that remote. A failed listing is a sentence, never an exception.
 */
export class RemoteModel implements vscode.Disposable {
  private readonly listings = new Map<string, Promise<RemoteListing>>();
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with a remote's name when its listing is dropped, or undefined when every remote's is. */
  readonly onDidChange = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly services: Services) {
    this.sub = services.onDidChangeSettings(() => this.invalidate());
  }

  get remotes(): NamedRemote[] {
    return this.services.settings.remotes;
  }

  /** Why the remotes setting could not be used, if it cannot. */
  get problem(): string | undefined {
    return this.services.settings.remotesProblem;
  }

  find(name: string): NamedRemote | undefined {
    return this.remotes.find((r) => r.name === name);
  }

  /** Opens a configured remote (with keys from SecretStorage, if any); the caller closes it. */
  open(name: string): Promise<RemoteStore> {
    return this.services.remoteCredentials.open(name, this.remotes);
  }

  /** Runs `work` with an opened remote and closes it afterwards. */
  async withStore<T>(name: string, work: (store: RemoteStore) => Promise<T>): Promise<T> {
    const store = await this.open(name);
    try {
      return await work(store);
    } finally {
      store.close();
    }
  }

  /** The remote's backups (listed once, then cached). */
  listing(name: string): Promise<RemoteListing> {
    let p = this.listings.get(name);
    if (!p) {
      p = this.load(name);
      this.listings.set(name, p);
    }
    return p;
  }

  private async load(name: string): Promise<RemoteListing> {
    try {
      const rows = await this.withStore(name, (store) => store.listWithSidecars());
      this.services.logger.info(`remote ${name}: ${rows.length} backup${rows.length === 1 ? '' : 's'}`);
      return { state: 'ready', rows };
    } catch (e) {
      const message = errorMessage(e);
      this.services.logger.warn(`listing remote ${name} failed: ${message}`);
      return { state: 'error', message };
    }
  }

  /** Drops one remote's listing (or all) so that the view lists it again. */
  invalidate(name?: string): void {
    if (name) this.listings.delete(name);
    else this.listings.clear();
    this.changed.fire(name);
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
