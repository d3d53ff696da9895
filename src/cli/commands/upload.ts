import * as path from 'node:path';
import { oneOf, parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { formatBytes, formatDuration } from '../../core/progress';
import { readBaseManifest, readManifest, type AnyManifest } from '../../core/backup/manifest';
import { decodePathSegment } from '../../core/store/naming';
import { backupKey, isEncryptedName } from '../../core/store/remote/layout';
import type { UploadResult } from '../../core/store/remote/remoteStore';
import { EXIT_OK, progressPrinter, say, writeJson, type CliContext } from '../io';
import { REMOTE_USAGE, openStore, remoteFor, remoteOptions } from '../remotes';

export const usage = `pg-docker-backup upload <file>... <remote> [--container C] [--database D] [--storage-class CLASS] [--sse AES256|aws:kms] ${REMOTE_USAGE} [--json]`;

/** Where a backup came from: its manifest, else --container/--database, else its folders DIR/<container>/<database>/. */
async function origin(file: string, values: { container?: string; database?: string }) {
  // a base backup (DIR/<container>/_base/) travels with its own manifest too
  const manifest: AnyManifest | undefined = (await readManifest(file)) ?? (await readBaseManifest(file));
  const dir = path.dirname(path.resolve(file));
  const container = manifest?.container ?? values.container ?? decodePathSegment(path.basename(path.dirname(dir)));
  const database = (manifest && 'database' in manifest ? manifest.database : undefined) ?? values.database ?? decodePathSegment(path.basename(dir));
  if (!container || !database || container === path.sep) {
    throw new PgBackupError('usage', `${file} has no manifest and is not in a DIR/<container>/<database>/ folder: pass --container and --database.`);
  }
  const encrypted = isEncryptedName(file) || Boolean(manifest?.stages.some((s) => s.kind === 'encrypt'));
  return { manifest, container, database, encrypted };
}

export async function uploadCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...remoteOptions, container: { type: 'string' }, database: { type: 'string' }, 'storage-class': { type: 'string' }, sse: { type: 'string' } },
    { min: 2, max: 1000, usage },
  );
  const files = positionals.slice(0, -1);
  const sse = oneOf(values.sse, ['AES256', 'aws:kms'] as const, '--sse');
  const remote = await remoteFor(ctx, positionals[positionals.length - 1], values, {
    options: { ...(values['storage-class'] ? { storageClass: values['storage-class'] } : {}), ...(sse ? { sse } : {}) },
  });
  const store = await openStore(ctx, remote);
  const results: (UploadResult & { file: string })[] = [];
  try {
    for (const file of files) {
      const o = await origin(file, values);
      const key = backupKey(remote.prefix, o.container, o.database, path.basename(file));
      const started = Date.now();
      const r = await store.upload(file, key, {
        container: o.container,
        database: o.database,
        sha256: o.manifest?.sha256,
        encrypted: o.encrypted,
        manifest: o.manifest as unknown as Record<string, unknown> | undefined,
        signal: ctx.signal,
        onProgress: progressPrinter(ctx),
      });
      results.push({ ...r, file });
      if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
      const ms = Date.now() - started;
      if (!values.json) {
        say(ctx, r.skipped ? `Already on ${remote.name} (same sha256): ${r.url}` : `Uploaded ${file} (${formatBytes(r.bytes)} in ${formatDuration(ms)}, ${formatBytes(Math.round(r.bytes / Math.max(0.001, ms / 1000)))}/s)`);
        ctx.stdout.write(r.url + '\n');
      }
    }
  } finally {
    store.close();
  }
  if (values.json) writeJson(ctx, { remote: remote.name, uploads: results.map(({ file, url, key, bytes, sha256, skipped }) => ({ file, url, key, bytes, sha256, skipped })) });
  return EXIT_OK;
}
