import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** The content of the lock file. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** Last sign of life of the holder (ISO). */
  heartbeat: string;
  /** Tells two holders with the same pid (another machine, a reused pid) apart. */
  token: string;
}

export interface RunnerLockOptions {
  dir: string;
  name?: string;
  now?: () => Date;
  pid?: number;
  hostname?: string;
  /** A heartbeat older than this makes the lock stale. Default 90 s (three missed 30 s heartbeats). */
  staleAfterMs?: number;
  /** Whether a process of this machine still runs; default: `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One holder across processes (VS Code windows) and machines sharing a home directory: a lock file
 * created with O_EXCL holding pid, hostname and a heartbeat. It is stale when its process is gone (same
 * hostname) or its heartbeat is older than `staleAfterMs`; a stale lock is moved aside with rename (only
 * one contender wins that) and checked to be the one judged stale before the winner creates its own.
 */
export class RunnerLock {
  readonly file: string;
  private readonly token = randomUUID();
  private readonly now: () => Date;
  private readonly pid: number;
  private readonly hostname: string;
  private readonly staleAfterMs: number;
  private readonly isAlive: (pid: number) => boolean;

  constructor(options: RunnerLockOptions) {
    this.file = path.join(options.dir, options.name ?? 'runner.lock');
    this.now = options.now ?? (() => new Date());
    this.pid = options.pid ?? process.pid;
    this.hostname = options.hostname ?? os.hostname();
    this.staleAfterMs = options.staleAfterMs ?? 90_000;
    this.isAlive = options.isAlive ?? processIsAlive;
  }

  private info(): LockInfo {
    return { pid: this.pid, hostname: this.hostname, heartbeat: this.now().toISOString(), token: this.token };
  }

  /** The current holder, if the file is there and readable. */
  async holder(): Promise<LockInfo | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }

  isStale(info: LockInfo | undefined): boolean {
    if (!info || typeof info.heartbeat !== 'string' || typeof info.pid !== 'number') return true;
    if (this.now().getTime() - Date.parse(info.heartbeat) > this.staleAfterMs) return true;
    return info.hostname === this.hostname && info.pid !== this.pid && !this.isAlive(info.pid);
  }

  async held(): Promise<boolean> {
    return (await this.holder())?.token === this.token;
  }

  /** Takes the lock if it is free or stale; true when this instance holds it afterwards. */
  async acquire(): Promise<boolean> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      // The lock appears whole or not at all: written beside it, then hard-linked into place (link fails
      // when the name exists). An O_EXCL create followed by a write would show an empty file meanwhile,
      // which another contender would take for a stale lock.
      const tmp = `${this.file}.${this.token}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(this.info()), { mode: 0o600 });
      try {
        await fs.link(tmp, this.file);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        await fs.rm(tmp, { force: true });
      }
      const text = await fs.readFile(this.file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released meanwhile
      let info: LockInfo | undefined;
      try {
        info = JSON.parse(text) as LockInfo;
      } catch {
        info = undefined;
      }
      if (info?.token === this.token) return true;
      if (!this.isStale(info)) return false;
      if (!(await this.removeIfUnchanged(text))) return false;
    }
    return false;
  }

  /** Moves the lock file aside and deletes it if it still is `expected`; else puts it back. */
  private async removeIfUnchanged(expected: string): Promise<boolean> {
    const aside = `${this.file}.${this.token}.stale`;
    try {
      await fs.rename(this.file, aside);
    } catch {
      return true; // someone else moved it: try to create ours
    }
    const moved = await fs.readFile(aside, 'utf8').catch(() => '');
    if (moved === expected) {
      await fs.rm(aside, { force: true });
      return true;
    }
    // a fresh lock was taken between our read and the rename: give it back (link fails if yet another exists)
    await fs.link(aside, this.file).catch(() => undefined);
    await fs.rm(aside, { force: true });
    return false;
  }

  /** Renews the heartbeat; false (and nothing written) when the lock was lost to another holder. */
  async heartbeat(): Promise<boolean> {
    if (!(await this.held())) return false;
    const tmp = `${this.file}.${this.token}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(this.info()), { mode: 0o600 });
    await fs.rename(tmp, this.file);
    return true;
  }

  async release(): Promise<void> {
    if (await this.held()) await fs.rm(this.file, { force: true });
  }
}
