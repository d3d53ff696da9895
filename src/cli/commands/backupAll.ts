import { oneOf } from '../args';
import { parseCompression } from '../../core/backup/pgDump';
import { backupAll, type BackupAllItem } from '../../core/backup/backupAll';
import { PgBackupError, errorMessage, isPgBackupError } from '../../core/errors';
import { formatBytes, formatDuration } from '../../core/progress';
import { EXIT_FAILED, EXIT_OK, progressPrinter, writeJson, type CliContext } from '../io';
import { notifyUrlFor, sendNotification } from '../notify';
import { backupDirFor, discoveryFor, dockerFor } from '../services';
import { encryptionStages } from '../encryption';
import { uploadBackup } from '../remoteBackup';

export interface BackupAllFlags {
  container?: string[];
  format?: string;
  compression?: string;
  encoding?: string;
  recipient?: string[];
  'recipients-file'?: string;
  passphrase?: boolean;
  upload?: string;
  endpoint?: string;
  region?: string;
  'path-style'?: boolean;
  dir?: string;
  notify?: string;
  json?: boolean;
  'with-role-passwords'?: boolean;
  'no-role-passwords'?: boolean;
}

function itemJson(i: BackupAllItem): Record<string, unknown> {
  return { container: i.container, database: i.database, kind: i.kind, ...(i.path ? { path: i.path, bytes: i.bytes } : {}), ...(i.after ? { uploaded: i.after } : {}), ...(i.error ? { error: i.error } : {}), ...(i.skipped ? { skipped: i.skipped } : {}) };
}

function itemLine(i: BackupAllItem): string {
  const what = i.kind === 'roles' ? `${i.container} roles` : i.database ? `${i.container}/${i.database}` : i.container;
  if (i.error) return `FAILED  ${what}: ${i.error}`;
  if (i.skipped) return `skipped ${what}: ${i.skipped}`;
  return `ok      ${what} → ${i.path} (${formatBytes(i.bytes ?? 0)})${i.after ? `; uploaded to ${i.after}` : ''}`;
}

/**
 * `backup --all`: every database of every running Postgres container (or of those named with --container;
 * a stopped one named there is a failure, one merely discovered is reported as skipped), plus roles files;
 * encrypted to --recipient/--passphrase and uploaded with --upload like a single backup (the roles files stay
 * local and plain: without --with-role-passwords they hold no secret). Exit 1 when anything failed.
 */
export async function backupAllCommand(ctx: CliContext, values: BackupAllFlags): Promise<number> {
  if (values['with-role-passwords'] && values['no-role-passwords']) throw new PgBackupError('usage', '--with-role-passwords and --no-role-passwords contradict each other.');
  const notifyUrl = notifyUrlFor(ctx, values.notify);
  const dir = backupDirFor(ctx, values.dir);
  const what = { command: 'backup --all', containers: values.container ?? [] };
  const hostStages = await encryptionStages(ctx, values);
  if (hostStages.length && values['with-role-passwords']) {
    throw new PgBackupError('usage', 'The roles file is written unencrypted: --with-role-passwords would put the password hashes beside encrypted backups in the clear. Leave it out (roles are then created without passwords).');
  }
  let result;
  try {
    result = await backupAll(dockerFor(ctx), {
      dir,
      containers: values.container,
      format: oneOf(values.format, ['sql', 'custom'] as const, '--format'),
      compression: values.compression !== undefined ? parseCompression(values.compression) : undefined,
      encoding: values.encoding,
      hostStages,
      afterEach: values.upload ? async (b) => (await uploadBackup(ctx, values, b))?.url : undefined,
      withRolePasswords: !!values['with-role-passwords'],
      signal: ctx.signal,
      onProgress: progressPrinter(ctx),
      logger: ctx.logger,
      discovery: discoveryFor(ctx),
    });
  } catch (e) {
    await sendNotification(ctx, notifyUrl, { ok: false, ...what, error: errorMessage(e), kind: isPgBackupError(e) ? e.kind : 'failed' });
    throw e;
  }
  const results = result.items.map(itemJson);
  await sendNotification(ctx, notifyUrl, { ok: result.ok, ...what, dir, failed: result.failed, durationMs: result.durationMs, results });
  if (values.json) writeJson(ctx, { ok: result.ok, dir, failed: result.failed, durationMs: result.durationMs, results });
  else {
    if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
    for (const i of result.items) ctx.stdout.write(itemLine(i) + '\n');
    const done = result.items.filter((i) => i.kind === 'database' && i.path).length;
    ctx.stdout.write(`${done} database(s) backed up${result.failed ? `, ${result.failed} FAILED` : ''} in ${formatDuration(result.durationMs)}.\n`);
  }
  return result.ok ? EXIT_OK : EXIT_FAILED;
}
