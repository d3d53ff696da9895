import { parse } from '../args';
import { formatBytes } from '../../core/progress';
import { encodePathSegment } from '../../core/store/naming';
import { isEncryptedName } from '../../core/store/remote/layout';
import type { RemoteBackup, RemoteStore } from '../../core/store/remote/remoteStore';
import { EXIT_OK, writeJson, type CliContext } from '../io';
import { REMOTE_USAGE, openStore, remoteFor, remoteOptions } from '../remotes';

export const usage = `pg-docker-backup remote-list <remote> [--container C] [--database D] ${REMOTE_USAGE} [--json]`;

interface Row extends RemoteBackup {
  encrypted: boolean;
  sha256?: string;
}

/** Reads the sidecars, a few at a time: they hold the names as written and whether a backup is encrypted. */
async function withSidecars(store: RemoteStore, backups: RemoteBackup[], signal: AbortSignal): Promise<Row[]> {
  const rows: Row[] = new Array(backups.length);
  let next = 0;
  const worker = async () => {
    while (next < backups.length && !signal.aborted) {
      const i = next++;
      const b = backups[i];
      const s = b.hasSidecar ? await store.readSidecar(b.key) : undefined;
      rows[i] = { ...b, container: s?.container ?? b.container, database: s?.database ?? b.database, encrypted: isEncryptedName(b.file) || Boolean(s?.encrypted), sha256: s?.sha256 };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return rows.filter(Boolean);
}

export async function remoteListCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...remoteOptions, container: { type: 'string' }, database: { type: 'string' } }, { min: 1, max: 1, usage });
  const remote = await remoteFor(ctx, positionals[0], values);
  const store = await openStore(ctx, remote);
  let rows: Row[];
  try {
    const sub = values.container ? [encodePathSegment(values.container), values.database ? encodePathSegment(values.database) : ''].filter(Boolean).join('/') : '';
    const listed = (await store.list(sub)).filter((b) => !values.database || b.database === values.database);
    rows = (await withSidecars(store, listed, ctx.signal)).sort((a, b) => b.modified.getTime() - a.modified.getTime());
  } finally {
    store.close();
  }
  if (values.json) {
    writeJson(ctx, {
      remote: remote.name,
      backups: rows.map((r) => ({ url: r.url, key: r.key, bytes: r.bytes, modified: r.modified.toISOString(), container: r.container ?? null, database: r.database ?? null, encrypted: r.encrypted, sha256: r.sha256 ?? null })),
    });
    return EXIT_OK;
  }
  if (rows.length === 0) ctx.stdout.write(`No backups on ${remote.name}\n`);
  for (const r of rows) {
    ctx.stdout.write(`${r.modified.toISOString()}  ${r.container ?? '?'}/${r.database ?? '?'}  ${formatBytes(r.bytes)}${r.encrypted ? '  encrypted' : ''}${r.hasSidecar ? '' : '  (no sidecar)'}\n  ${r.url}\n`);
  }
  return EXIT_OK;
}
