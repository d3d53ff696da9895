import * as fs from 'node:fs/promises';
import { PgBackupError } from '../../core/errors';
import { formatIdentityFile, generateIdentity } from '../../core/pipeline/keys';
import { parse } from '../args';
import { EXIT_OK, say, writeJson, type CliContext } from '../io';

export const usage = 'pg-docker-backup keygen [-o FILE] [--json]   new age key (X25519) for encrypted backups';

/**
 * Makes a new age identity in age-keygen's format. With -o the file is created with mode 0600 (never
 * overwritten) and the public key goes to stdout; without it, like age-keygen, the identity file goes to
 * stdout and the public key to stderr.
 */
export async function keygenCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(args, { output: { type: 'string', short: 'o' } }, { min: 0, max: 0, usage });
  const key = await generateIdentity();
  const text = formatIdentityFile(key);
  if (!values.output) {
    if (values.json) throw new PgBackupError('usage', '--json needs -o FILE (the identity must not end up in JSON output).');
    ctx.stdout.write(text);
    say(ctx, `Public key: ${key.recipient}`);
    return EXIT_OK;
  }
  const file = values.output;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new PgBackupError('refused', `${file} already exists; keygen never overwrites a key (it may be the only way to read old backups).`);
    throw new PgBackupError('failed', `Cannot create ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (values.json) {
    writeJson(ctx, { publicKey: key.recipient, file });
  } else {
    ctx.stdout.write(`${key.recipient}\n`);
    say(ctx, `Wrote the identity to ${file} (mode 0600). Encrypt to the public key above with --recipient; keep a copy of ${file} somewhere safe: without it the backups cannot be read.`);
  }
  return EXIT_OK;
}
