import { parse } from '../args';
import { PgBackupError } from '../../core/errors';
import { formatBytes } from '../../core/progress';
import { sidecarKey } from '../../core/store/remote/layout';
import { EXIT_OK, confirm, say, writeJson, type CliContext } from '../io';
import { REMOTE_USAGE, openStore, remoteObjectFor, remoteOptions } from '../remotes';

export const usage = `pg-docker-backup remote-delete <remote-object>... [--yes] ${REMOTE_USAGE} [--json]`;

export async function remoteDeleteCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...remoteOptions, yes: { type: 'boolean', short: 'y' } }, { min: 1, max: 1000, usage });
  const targets = await Promise.all(positionals.map((p) => remoteObjectFor(ctx, p, values)));
  const deleted: string[] = [];
  for (const { remote, key } of targets) {
    const store = await openStore(ctx, remote);
    try {
      const head = await store.head(key);
      if (!head) throw new PgBackupError('notFound', `${store.url(key)} does not exist; nothing was deleted.`);
      await confirm(ctx, `Delete ${store.url(key)} (${formatBytes(head.bytes)}) and its sidecar ${sidecarKey(key).split('/').pop()} from remote "${remote.name}"? This cannot be undone.`, { yes: Boolean(values.yes) });
      await store.delete([key]);
      deleted.push(store.url(key));
      if (!values.json) say(ctx, `Deleted ${store.url(key)}`);
    } finally {
      store.close();
    }
  }
  if (values.json) writeJson(ctx, { deleted });
  return EXIT_OK;
}
