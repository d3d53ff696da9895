import { parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { formatDuration } from '../../core/progress';
import { verifyBackups } from '../../core/verify';
import { keyOptions, readKeys } from '../encryption';
import { EXIT_FAILED, EXIT_OK, progressPrinter, writeJson, type CliContext } from '../io';
import { discoveryFor, dockerFor } from '../services';

export const usage =
  'pg-docker-backup verify <backup-file>... [--deep] [--to CONTAINER] [--identity FILE] [--passphrase] [--json]\n' +
  '       quick: sha256 and size against the manifest, every layer decoded to its end, the dump read through\n' +
  '       (plain: no psql meta-commands and pg_dump\'s last line; custom: pg_restore -f /dev/null in a container);\n' +
  '       --deep: also restores into a throwaway database (in --to, default a container of the backup\'s own\n' +
  '       major) and compares every table\'s row count with the manifest, then drops it. Exit 1 when any is bad.';

const MARK = { ok: 'ok', bad: 'BAD', error: 'NOT VERIFIED' } as const;

export async function verifyCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { deep: { type: 'boolean' }, to: { type: 'string' }, ...keyOptions }, { min: 1, max: 10_000, usage });
  if (positionals.length === 0) throw new PgBackupError('usage', `usage: ${usage}`);
  const keys = await readKeys(ctx, values);
  const results = await verifyBackups(dockerFor(ctx), positionals, {
    deep: values.deep,
    keys,
    to: values.to,
    signal: ctx.signal,
    logger: ctx.logger,
    discovery: discoveryFor(ctx),
    onProgress: progressPrinter(ctx),
  });
  const allOk = results.every((r) => r.status === 'ok');
  if (values.json) {
    writeJson(ctx, { ok: allOk, results });
  } else {
    for (const r of results) {
      const where = r.container ? ` in ${r.container}` : '';
      ctx.stdout.write(`${MARK[r.status]}  ${r.path}  (${r.kind}${where}, ${formatDuration(r.durationMs)})\n`);
      for (const c of r.checks) ctx.stdout.write(`  ${c.ok === true ? '✓' : c.ok === false ? '✗' : '–'} ${c.name}: ${c.detail}\n`);
      if (r.status === 'error') ctx.stdout.write(`  ${r.detail}\n`);
      if (!r.recorded && r.status !== 'error' && !r.checks.some((c) => c.name === 'checksum' && c.ok !== null)) ctx.stdout.write('  no manifest: nothing recorded\n');
    }
  }
  return allOk ? EXIT_OK : EXIT_FAILED;
}
