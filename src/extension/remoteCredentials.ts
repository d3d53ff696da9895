import type * as vscode from 'vscode';
import { PgBackupError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { S3Credentials } from '../core/store/remote/objectClient';
import { parseRemote, type NamedRemote } from '../core/store/remote/remoteConfig';
import { openRemoteStore, type RemoteStore } from '../core/store/remote/remoteStore';

const KEY = (name: string) => `pgDockerBackup.remoteKeys.${name}`;

/** What SecretStorage holds per remote: the keys and where they were meant to go. */
interface StoredKeys extends S3Credentials {
  /** The remote's URL and endpoint when the keys were stored: keys are never sent to another server. */
  boundTo: string;
}

function bindingOf(r: NamedRemote): string {
  return `${r.url} ${r.endpoint ?? ''}`;
}

/**
 * S3 access keys per named remote, kept in VS Code's SecretStorage (never in settings or logs) and passed
 * to the S3 client as explicit credentials; without stored keys the SDK's default chain is used. Keys
 * stored for a remote whose URL or endpoint has changed since are not used.
 */
export class RemoteCredentials {
  /** Secrets loaded so far, for the log's redaction. */
  private readonly loaded = new Map<string, StoredKeys>();

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly logger: Logger,
  ) {}

  /** Every secret loaded, for redaction. */
  known(): string[] {
    return [...this.loaded.values()].flatMap((k) => [k.secretAccessKey, k.sessionToken ?? '']).filter(Boolean);
  }

  async has(name: string): Promise<boolean> {
    return Boolean(await this.secrets.get(KEY(name)));
  }

  async store(remote: NamedRemote, keys: S3Credentials): Promise<void> {
    const stored: StoredKeys = { ...keys, boundTo: bindingOf(remote) };
    this.loaded.set(remote.name, stored);
    await this.secrets.store(KEY(remote.name), JSON.stringify(stored));
  }

  async clear(name: string): Promise<void> {
    this.loaded.delete(name);
    await this.secrets.delete(KEY(name));
  }

  /** The stored keys for the remote, or undefined (the SDK's default chain). */
  async get(remote: NamedRemote): Promise<S3Credentials | undefined> {
    const text = await this.secrets.get(KEY(remote.name));
    if (!text) return undefined;
    let stored: StoredKeys;
    try {
      stored = JSON.parse(text) as StoredKeys;
    } catch {
      return undefined;
    }
    this.loaded.set(remote.name, stored);
    if (stored.boundTo !== bindingOf(remote)) {
      this.logger.warn(`The keys stored for remote "${remote.name}" were set for another URL or endpoint; they are not used (run Set Remote Credentials… again).`);
      return undefined;
    }
    return { accessKeyId: stored.accessKeyId, secretAccessKey: stored.secretAccessKey, ...(stored.sessionToken ? { sessionToken: stored.sessionToken } : {}) };
  }

  /** Opens a configured remote with its stored keys (S3) or the SDK's default credentials; loads the SDK now. */
  async open(name: string, remotes: readonly NamedRemote[]): Promise<RemoteStore> {
    const named = remotes.find((r) => r.name === name);
    if (!named) throw new PgBackupError('usage', `There is no remote named "${name}" in the setting pgDockerBackup.remotes.`);
    const remote = parseRemote(name, remotes);
    const credentials = remote.kind === 's3' ? await this.get(named) : undefined;
    return openRemoteStore(remote, { logger: this.logger, credentials });
  }
}
