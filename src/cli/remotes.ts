import { PgBackupError } from '../core/errors';
import { loadNamedRemotes, parseRemote, parseRemoteObject, remotesConfigPath, type NamedRemote, type Remote } from '../core/store/remote/remoteConfig';
import { openRemoteStore, type RemoteStore } from '../core/store/remote/remoteStore';
import type { CliContext } from './io';

/** Flags every remote command takes, for a URL that is not a configured remote (or to override one). */
export const remoteOptions = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'path-style': { type: 'boolean' },
} as const;

export const REMOTE_USAGE = '[--endpoint URL] [--region R] [--path-style]';

type RemoteFlags = { endpoint?: string; region?: string; 'path-style'?: boolean };

function overrides(values: RemoteFlags): Partial<NamedRemote> {
  if (values.endpoint && !/^https?:\/\//.test(values.endpoint)) throw new PgBackupError('usage', `--endpoint must be an http:// or https:// URL (got ${values.endpoint}).`);
  return { endpoint: values.endpoint, region: values.region, forcePathStyle: values['path-style'] };
}

/** Named remotes from PG_DOCKER_BACKUP_REMOTES or the per-user remotes.json (see remotesConfigPath). */
export async function namedRemotes(ctx: CliContext): Promise<NamedRemote[]> {
  return loadNamedRemotes(remotesConfigPath(ctx.env));
}

export async function remoteFor(ctx: CliContext, text: string, values: RemoteFlags, extra: Partial<NamedRemote> = {}): Promise<Remote> {
  return parseRemote(text, await namedRemotes(ctx), { ...overrides(values), ...extra });
}

export async function remoteObjectFor(ctx: CliContext, text: string, values: RemoteFlags): Promise<{ remote: Remote; key: string }> {
  return parseRemoteObject(text, await namedRemotes(ctx), overrides(values));
}

/** Credentials come from the SDK's default chain only (environment, profiles, SSO, instance roles, ADC). */
export function openStore(ctx: CliContext, remote: Remote): Promise<RemoteStore> {
  return openRemoteStore(remote, { logger: ctx.logger });
}
