/**
 * What a recovery server's log says (pure: unit-tested). The recovery container's log is read while it
 * replays: which segment it restored last, whether it stopped at the target, and why it failed.
 */
export interface RecoveryLogState {
  /** The last segment restored from the archive. */
  lastRestored?: string;
  restoredCount: number;
  /** `recovery stopping before commit of transaction 750, time 2026-11-25 14:03:00.12+00` */
  stoppedAt?: string;
  /** Recovery is over and the server accepts connections (promoted). */
  ready: boolean;
  /** The first FATAL/PANIC line, when the server gave up. */
  fatal?: string;
  /** Segments the restore_command could not find (the last one is usually just the end of the archive). */
  notFound: string[];
}

export function readRecoveryLog(log: string): RecoveryLogState {
  const state: RecoveryLogState = { restoredCount: 0, ready: false, notFound: [] };
  let afterStop = false;
  for (const line of log.split('\n')) {
    const restored = /restored log file "([0-9A-F]{24})" from archive/.exec(line);
    if (restored) {
      state.lastRestored = restored[1];
      state.restoredCount++;
    }
    const missing = /cannot stat '[^']*\/([0-9A-F]{24})'|could not (?:restore|open) file "(?:[^"]*\/)?([0-9A-F]{24})"/.exec(line);
    if (missing) {
      const name = missing[1] ?? missing[2];
      if (!state.notFound.includes(name)) state.notFound.push(name);
    }
    const stop = /recovery stopping (?:before|after|at) .*$/.exec(line);
    if (stop) {
      state.stoppedAt = stop[0];
      afterStop = true;
    }
    if (afterStop && /database system is ready to accept (read-only )?connections/.test(line)) state.ready = true;
    if (!state.fatal && /\b(FATAL|PANIC):/.test(line) && !/the database system is (starting up|not yet accepting connections)/.test(line)) {
      state.fatal = line.replace(/^.*?\b(FATAL|PANIC):\s*/, '').trim();
    }
  }
  return state;
}

/** One sentence for a recovery that gave up. */
export function recoveryFailure(state: RecoveryLogState, target: string, archive: string): string {
  if (state.fatal && /recovery ended before configured recovery target was reached/.test(state.fatal)) {
    const missing = state.notFound[state.notFound.length - 1];
    return (
      `Recovery could not reach ${target}: the WAL ended before it${state.lastRestored ? ` (the last segment replayed from the archive was ${state.lastRestored})` : ''}` +
      `${missing ? `, and the archive (${archive}) has no segment ${missing}` : ''}: a WAL segment is missing from the archive, or the target lies beyond the archived WAL.`
    );
  }
  if (state.fatal) return `The recovery server stopped: ${state.fatal}`;
  return 'The recovery server stopped before reaching the target.';
}
