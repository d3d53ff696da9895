import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface Progress {
  /** Short name of the step, e.g. `dump`, `restore`, `swap`. */
  phase: string;
  /** One line for a person: "Restoring into chinook__restoring_…". */
  message: string;
  bytes?: number;
  totalBytes?: number;
  bytesPerSecond?: number;
  elapsedMs: number;
}

export type ProgressListener = (p: Progress) => void;

/** Reports steps and byte counts, throttled, with elapsed time and rate. */
export class ProgressReporter {
  private readonly started = Date.now();
  private last = 0;
  private phase = '';
  private message = '';
  constructor(private readonly listener: ProgressListener | undefined, private readonly intervalMs = 250) {}

  step(phase: string, message: string): void {
    this.phase = phase;
    this.message = message;
    this.listener?.({ phase, message, elapsedMs: Date.now() - this.started });
  }

  bytes(bytes: number, totalBytes?: number, phaseStart = this.started, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const secs = Math.max(0.001, (now - phaseStart) / 1000);
    this.listener?.({
      phase: this.phase,
      message: this.message,
      bytes,
      totalBytes,
      bytesPerSecond: bytes / secs,
      elapsedMs: now - this.started,
    });
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }
}

/** Counts and hashes (sha256) the bytes passing through, reporting the count as they go. */
export class HashingCounter extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    done(null, chunk);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
