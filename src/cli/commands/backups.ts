import { parse } from '../args';
import { listBackups } from '../../core/store/backupStore';
import { formatBytes } from '../../core/progress';
import { EXIT_OK, writeJson, type CliContext } from '../io';
import { backupDirFor } from '../services';

export const usage = 'pg-docker-backup backups [--dir DIR] [--json]';

export async function backupsCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parse(args, { dir: { type: 'string' } }, { min: 0, max: 0, usage });
  const dir = backupDirFor(ctx, values.dir);
  const backups = await listBackups(dir);
  if (values.json) {
    writeJson(ctx, {
      dir,
      backups: backups.map((b) => ({
        path: b.path,
        container: b.container ?? null,
        database: b.database ?? null,
        format: b.format,
        gzipped: b.gzipped,
        bytes: b.sizeBytes,
        created: b.created.toISOString(),
        source: b.source,
        pgDumpVersion: b.pgDumpVersion ?? null,
        sha256: b.manifest?.sha256 ?? null,
      })),
    });
    return EXIT_OK;
  }
  if (backups.length === 0) {
    ctx.stdout.write(`No backups in ${dir}\n`);
    return EXIT_OK;
  }
  for (const b of backups) {
    const what = `${b.container ?? '?'}/${b.database ?? '?'}`;
    ctx.stdout.write(`${b.created.toISOString()}  ${what}  ${b.format}${b.gzipped ? '.gz' : ''}  ${formatBytes(b.sizeBytes)}${b.source === 'detected' ? '  (no manifest)' : ''}\n  ${b.path}\n`);
  }
  return EXIT_OK;
}
