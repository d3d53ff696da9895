import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { formatBytes, formatDuration } from '../../core/progress';
import { encodePathSegment } from '../../core/store/naming';
import { describeKey } from '../../core/store/remote/layout';
import { EXIT_OK, progressPrinter, say, writeJson, type CliContext } from '../io';
import { REMOTE_USAGE, openStore, remoteObjectFor, remoteOptions } from '../remotes';
import { backupDirFor } from '../services';

export const usage = `pg-docker-backup download <remote-object> [--dir DIR] ${REMOTE_USAGE} [--json]`;

export async function downloadCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...remoteOptions, dir: { type: 'string' } }, { min: 1, max: 1, usage });
  const { remote, key } = await remoteObjectFor(ctx, positionals[0], values);
  const store = await openStore(ctx, remote);
  try {
    const sidecar = await store.readSidecar(key);
    const named = describeKey(key);
    const container = sidecar?.container ?? named.container;
    const database = sidecar?.database ?? named.database;
    const dir = backupDirFor(ctx, values.dir);
    const target = container && database ? path.join(dir, encodePathSegment(container), encodePathSegment(database), named.file) : path.join(dir, named.file);
    if (existsSync(target)) throw new PgBackupError('refused', `${target} already exists; delete it first or download into another --dir.`);
    const started = Date.now();
    const r = await store.download(key, target, { signal: ctx.signal, onProgress: progressPrinter(ctx) });
    if (values.json) {
      writeJson(ctx, { path: r.path, url: store.url(key), bytes: r.bytes, sha256: r.sha256, verified: r.verified, container: container ?? null, database: database ?? null });
    } else {
      if (ctx.stderr.isTTY) ctx.stderr.write('\r\x1b[K');
      const ms = Date.now() - started;
      say(ctx, `Downloaded ${store.url(key)} (${formatBytes(r.bytes)} in ${formatDuration(ms)}${r.verified ? ', sha256 matches the sidecar' : ', no sidecar: sha256 not checked'})`);
      ctx.stdout.write(r.path + '\n');
    }
  } finally {
    store.close();
  }
  return EXIT_OK;
}
