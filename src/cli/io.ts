import * as readline from 'node:readline/promises';
import { PgBackupError, isPgBackupError } from '../core/errors';
import type { Logger } from '../core/logger';
import { formatBytes, formatDuration, type Progress } from '../core/progress';

/** What every command gets: streams, environment, cancellation and how to talk to the user. */
export interface CliContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  logger: Logger;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** The operation was done, but an after-check failed (`check`: a check failed). */
export const EXIT_CHECKS_FAILED = 3;

export function exitCodeFor(e: unknown): number {
  if (isPgBackupError(e)) return e.kind === 'usage' || e.kind === 'refused' || e.kind === 'notFound' ? EXIT_USAGE : EXIT_FAILED;
  return EXIT_FAILED;
}

export function writeJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function say(ctx: CliContext, line: string): void {
  ctx.stderr.write(line + '\n');
}

/** Progress on stderr, one rewritten line, only when stderr is a terminal. */
export function progressPrinter(ctx: CliContext): ((p: Progress) => void) | undefined {
  if (!ctx.stderr.isTTY) return undefined;
  let lastMessage = '';
  return (p) => {
    if (p.bytes === undefined) {
      if (p.message !== lastMessage) {
        ctx.stderr.write(`\r\x1b[K${p.message}\n`);
        lastMessage = p.message;
      }
      return;
    }
    const pct = p.totalBytes ? ` ${Math.min(100, Math.round((p.bytes / p.totalBytes) * 100))}%` : '';
    const rate = p.bytesPerSecond ? ` ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
    ctx.stderr.write(`\r\x1b[K  ${formatBytes(p.bytes)}${pct}${rate} ${formatDuration(p.elapsedMs)}`);
  };
}

/**
 * Asks before a destructive step: `--yes` answers for the user; without it, a terminal gets a question
 * (for a protected container: type the database name); anything else is refused (exit 2).
 */
export async function confirm(ctx: CliContext, question: string, opts: { yes: boolean; typeToConfirm?: string }): Promise<void> {
  if (opts.yes) return;
  if (!ctx.stdin.isTTY || !ctx.stderr.isTTY) {
    throw new PgBackupError('refused', 'Refusing to change anything without confirmation: run it in a terminal to be asked, or pass --yes.');
  }
  const rl = readline.createInterface({ input: ctx.stdin, output: ctx.stderr });
  try {
    const prompt = opts.typeToConfirm ? `${question}\nThis container is protected: type the database name (${opts.typeToConfirm}) to go on: ` : `${question}\nGo on? [y/N] `;
    const answer = (await rl.question(prompt)).trim();
    const ok = opts.typeToConfirm ? answer === opts.typeToConfirm : /^y(es)?$/i.test(answer);
    if (!ok) throw new PgBackupError('refused', 'Not confirmed; nothing was changed.');
  } finally {
    rl.close();
  }
}
