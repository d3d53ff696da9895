import * as vscode from 'vscode';
import type { DiscoveryOptions } from '../core/postgres/discovery';
import { createDockerClient, type DockerClient } from '../core/docker/client';
import type { Logger } from '../core/logger';
import { RemoteCredentials } from './remoteCredentials';
import { affectsSettings, readSettings, type Settings } from './settings';

const PASSWORD_KEY = (container: string) => `pgDockerBackup.password.${container}`;

/**
 * What commands and trees share: the Docker client (which connects on first use, never at activation),
 * the logger, settings and the passwords kept in SecretStorage.
 */
export class Services implements vscode.Disposable {
  readonly docker: DockerClient;
  private current: Settings;
  /** Passwords from SecretStorage, loaded once and kept in memory for the synchronous lookups of core. */
  private passwords = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly settingsChanged = new vscode.EventEmitter<Settings>();
  readonly onDidChangeSettings = this.settingsChanged.event;
  /** S3 keys per remote from SecretStorage; opens remotes (the SDKs load on first use). */
  readonly remoteCredentials: RemoteCredentials;

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly channel: vscode.LogOutputChannel,
    readonly logger: Logger,
  ) {
    this.docker = createDockerClient({ logger });
    this.remoteCredentials = new RemoteCredentials(context.secrets, logger);
    this.current = readSettings();
    this.disposables.push(
      this.settingsChanged,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affectsSettings(e)) {
          this.current = readSettings();
          this.settingsChanged.fire(this.current);
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.current = readSettings();
        this.settingsChanged.fire(this.current);
      }),
    );
  }

  get settings(): Settings {
    return this.current;
  }

  /** Every secret known to the extension, for redaction. */
  secrets(): string[] {
    return [...this.passwords.values(), ...(this.remoteCredentials?.known() ?? [])];
  }

  async loadPasswords(containerNames: readonly string[]): Promise<void> {
    await Promise.all(
      containerNames.map(async (n) => {
        const p = await this.context.secrets.get(PASSWORD_KEY(n));
        if (p) this.passwords.set(n, p);
        else this.passwords.delete(n);
      }),
    );
  }

  async setPassword(container: string, password: string | undefined): Promise<void> {
    if (password) {
      await this.context.secrets.store(PASSWORD_KEY(container), password);
      this.passwords.set(container, password);
    } else {
      await this.context.secrets.delete(PASSWORD_KEY(container));
      this.passwords.delete(container);
    }
  }

  discovery(signal?: AbortSignal): DiscoveryOptions {
    const s = this.current;
    return {
      logger: this.logger,
      protectedContainers: s.protectedContainers,
      passwordFor: (name) => this.passwords.get(name),
      appContainersFor: (name) => s.appContainers[name],
      signal,
    };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
