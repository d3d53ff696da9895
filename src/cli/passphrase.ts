import { PgBackupError } from '../core/errors';
import { PASSPHRASE_ENV } from '../core/pipeline/keys';
import type { CliContext } from './io';

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown };

/**
 * The passphrase for age encryption: PG_DOCKER_BACKUP_PASSPHRASE, else asked on the terminal without
 * echo (twice when `confirm`, for a new backup). Without a terminal and without the variable: refused.
 */
export async function readPassphrase(ctx: CliContext, options: { confirm: boolean }): Promise<string> {
  const fromEnv = ctx.env[PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  const input = ctx.stdin as TtyInput;
  if (!input.isTTY || !input.setRawMode || !ctx.stderr.isTTY) {
    throw new PgBackupError('usage', `A passphrase is needed: set ${PASSPHRASE_ENV}, or run this in a terminal to be asked.`);
  }
  const first = await askHidden(ctx, input, 'Passphrase: ');
  if (!first) throw new PgBackupError('usage', 'The passphrase is empty.');
  if (options.confirm && (await askHidden(ctx, input, 'Passphrase again: ')) !== first) {
    throw new PgBackupError('usage', 'The two passphrases differ.');
  }
  return first;
}

/** One line from the terminal with echo off; Ctrl-C or Ctrl-D cancels. */
function askHidden(ctx: CliContext, input: TtyInput, prompt: string): Promise<string> {
  ctx.stderr.write(prompt);
  input.setRawMode!(true);
  input.resume();
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const done = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      ctx.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new PgBackupError('cancelled', 'Asking for the passphrase was cancelled'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    input.on('data', onData);
  });
}
