import { integer, oneOf, parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { parseCompression } from '../../core/backup/pgDump';
import { encryptionOptions, encryptionStages } from '../encryption';
import { backupRemoteOptions, remoteSinkFor, uploadBackup } from '../remoteBackup';
import { backupDatabase } from '../../core/backup/backupDatabase';
import { formatBytes, formatDuration } from '../../core/progress';
import { EXIT_OK, progressPrinter, say, writeJson, type CliContext } from '../io';
import { notifyUrlFor, withNotify } from '../notify';
import { backupDirFor, discoveryFor, dockerFor } from '../services';
import { backupAllCommand } from './backupAll';

export const usage =
  'pg-docker-backup backup <container> [--database DB] [--format sql|custom|directory] [--jobs N] [--temp-dir DIR] [--table T]... [--schema S]... [--compression N|gzip:N|zstd[:N]|lz4[:N]|none] [--encoding ENC] [--recipient age1…]... [--recipients-file F] [--passphrase] [--no-owner] [--dir DIR] [--upload REMOTE | --to-remote REMOTE] [--notify URL] [--json]\n' +
  'pg-docker-backup backup --all [--container C]... [--format sql|custom] [--compression …] [--encoding ENC] [--recipient age1…]... [--recipients-file F] [--passphrase] [--dir DIR] [--upload REMOTE] [--with-role-passwords] [--notify URL] [--json]';

export async function backupCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      all: { type: 'boolean' },
      container: { type: 'string', multiple: true },
      'with-role-passwords': { type: 'boolean' },
      'no-role-passwords': { type: 'boolean' },
      database: { type: 'string', short: 'd' },
      format: { type: 'string', short: 'F' },
      jobs: { type: 'string', short: 'j' },
      'temp-dir': { type: 'string' },
      table: { type: 'string', short: 't', multiple: true },
      schema: { type: 'string', short: 'n', multiple: true },
      compression: { type: 'string', short: 'Z' },
      'no-owner': { type: 'boolean', short: 'O' },
      dir: { type: 'string' },
      notify: { type: 'string' },
      encoding: { type: 'string', short: 'E' },
      ...encryptionOptions,
      ...backupRemoteOptions,
    },
    { min: 0, max: 1, usage },
  );
  if (values.all) {
    if (values['to-remote']) throw new PgBackupError('usage', 'backup --all writes local files: use --upload REMOTE to send each one to the remote after it is written (--to-remote is for one database).');
    const single = ['database', 'table', 'schema', 'no-owner', 'jobs', 'temp-dir'].filter((k) => (values as Record<string, unknown>)[k] !== undefined);
    if (positionals.length || single.length) throw new PgBackupError('usage', `backup --all takes no container argument${single.length ? ` and no --${single.join(', --')}` : ''}; name containers with --container.\nusage: ${usage}`);
    return backupAllCommand(ctx, values);
  }
  if (positionals.length !== 1 || values.container || values['with-role-passwords'] || values['no-role-passwords']) throw new PgBackupError('usage', `usage: ${usage}`);
  const notifyUrl = notifyUrlFor(ctx, values.notify);
  const what = { command: 'backup', container: positionals[0], database: values.database ?? null };
  if (values.upload && values['to-remote']) throw new PgBackupError('usage', '--upload keeps a local copy and uploads it, --to-remote sends the backup only to the remote: choose one.');
  const hostStages = await encryptionStages(ctx, values);
  const toRemote = await remoteSinkFor(ctx, values, hostStages.length > 0);
  const r = await withNotify(ctx, notifyUrl, what, () => backupDatabase(dockerFor(ctx), {
    container: positionals[0],
    database: values.database,
    format: oneOf(values.format, ['sql', 'custom', 'directory'] as const, '--format'),
    jobs: integer(values.jobs, '--jobs'),
    containerTempDir: values['temp-dir'],
    tables: values.table,
    schemas: values.schema,
    compression: values.compression !== undefined ? parseCompression(values.compression) : undefined,
    encoding: values.encoding,
    hostStages,
    sink: toRemote?.sink,
    noOwner: values['no-owner'],
    dir: backupDirFor(ctx, values.dir),
    signal: ctx.signal,
    onProgress: progressPrinter(ctx),
    logger: ctx.logger,
    discovery: discoveryFor(ctx),
  }).finally(() => toRemote?.close()), (b) => ({ path: b.path, database: b.database, bytes: b.bytes, sha256: b.sha256, format: b.format, durationMs: b.durationMs }));
  const uploaded = await uploadBackup(ctx, values, r);
  if (values.json) {
    const { path, bytes, sha256, container, database, format, serverVersion, durationMs } = r;
    writeJson(ctx, { path, bytes, sha256, container, database, format, serverVersion, durationMs, ...(uploaded ? { uploaded: { url: uploaded.url, skipped: uploaded.skipped } } : {}) });
  } else {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    say(ctx, `Backed up ${r.container}/${r.database} (${formatBytes(r.bytes)} in ${formatDuration(r.durationMs)})${uploaded ? `; uploaded to ${uploaded.url}` : ''}`);
    ctx.stdout.write(r.path + '\n');
  }
  return EXIT_OK;
}
