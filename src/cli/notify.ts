import * as os from 'node:os';
import { PgBackupError, errorMessage, isPgBackupError } from '../core/errors';
import { notify, notifyUrlProblem } from '../core/notify';
import type { CliContext } from './io';

export const NOTIFY_ENV = 'PG_DOCKER_BACKUP_NOTIFY_URL';

/** `--notify URL`, else PG_DOCKER_BACKUP_NOTIFY_URL (how scheduled jobs get it, from their 0600 env file). */
export function notifyUrlFor(ctx: CliContext, flag: string | undefined): string | undefined {
  const url = flag ?? ctx.env[NOTIFY_ENV];
  if (!url) return undefined;
  const problem = notifyUrlProblem(url);
  if (problem) throw new PgBackupError('usage', `${problem[0].toUpperCase()}${problem.slice(1)} (--notify or ${NOTIFY_ENV}).`);
  return url;
}

/** POSTs the result; a notification that fails is a warning, never the command's failure. */
export async function sendNotification(ctx: CliContext, url: string | undefined, body: { ok: boolean } & Record<string, unknown>): Promise<void> {
  if (!url) return;
  const outcome = await notify(url, { host: os.hostname(), at: new Date().toISOString(), ...body });
  if (outcome.ok) ctx.logger.debug(`notified ${outcome.target} (HTTP ${outcome.status})`);
  else ctx.logger.warn(`the notification was not delivered: ${outcome.error}`);
}

/** Runs `fn` and notifies its success (with `describe(result)`) or failure (with the error), then returns or rethrows. */
export async function withNotify<T>(
  ctx: CliContext,
  url: string | undefined,
  what: Record<string, unknown> & { command: string },
  fn: () => Promise<T>,
  describe: (result: T) => Record<string, unknown>,
): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await sendNotification(ctx, url, { ok: false, ...what, error: errorMessage(e), kind: isPgBackupError(e) ? e.kind : 'failed' });
    throw e;
  }
  await sendNotification(ctx, url, { ok: true, ...what, ...describe(result) });
  return result;
}
