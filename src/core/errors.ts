/**
 * Errors that core/ raises for a user to read. `kind` decides the CLI exit code and how a front end
 * presents it: `refused` and `usage` changed nothing by design; `failed` says in its message what was
 * (not) changed; `cancelled` comes from an AbortSignal.
 */
export type ErrorKind = 'usage' | 'refused' | 'failed' | 'cancelled' | 'dockerUnreachable' | 'notFound';

export class PgBackupError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PgBackupError';
    this.detail = options?.detail;
  }
  /** Extra lines (e.g. a stderr tail) that belong in a log, not in the one-line message. */
  readonly detail: string | undefined;
}

export function isPgBackupError(e: unknown, kind?: ErrorKind): e is PgBackupError {
  return e instanceof PgBackupError && (kind === undefined || e.kind === kind);
}

export function cancelledError(what: string): PgBackupError {
  return new PgBackupError('cancelled', `${what} was cancelled`);
}

/** Throws a `cancelled` error when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
