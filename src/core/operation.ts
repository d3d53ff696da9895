import { silentLogger, type Logger } from './logger';
import type { DiscoveryOptions } from './postgres/discovery';
import { ProgressReporter, type ProgressListener } from './progress';

/** What every operation takes from its front end: cancellation, progress, logging, the clock, discovery. */
export interface OperationContext {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  logger?: Logger;
  /** The clock (tests pass a fixed one). */
  now?: () => Date;
  /** Passwords, app containers and protected containers set by the user. */
  discovery?: DiscoveryOptions;
}

/** An operation under way: the context with its defaults filled in. */
export interface Operation {
  signal?: AbortSignal;
  progress: ProgressReporter;
  log: Logger;
  now: () => Date;
  discovery: DiscoveryOptions;
}

export function beginOperation(ctx: OperationContext = {}): Operation {
  const log = ctx.logger ?? silentLogger;
  return {
    signal: ctx.signal,
    progress: new ProgressReporter(ctx.onProgress),
    log,
    now: ctx.now ?? (() => new Date()),
    discovery: { ...ctx.discovery, logger: ctx.discovery?.logger ?? log, signal: ctx.discovery?.signal ?? ctx.signal },
  };
}
