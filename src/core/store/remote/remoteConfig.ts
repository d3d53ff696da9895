import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgBackupError } from '../../errors';

export type RemoteKind = 's3' | 'gs';

/** Upload options a remote applies to every object it writes. */
export interface RemoteObjectOptions {
  /** S3 `StorageClass` (STANDARD_IA, GLACIER_IR…) or GCS storage class (NEARLINE, COLDLINE…). */
  storageClass?: string;
  /** S3 server-side encryption: `AES256` or `aws:kms` (with kmsKeyId). */
  sse?: 'AES256' | 'aws:kms';
  /** KMS key: S3 `SSEKMSKeyId`, GCS `kmsKeyName`. */
  kmsKeyId?: string;
}

/**
 * One remote: where objects go and how to reach the server. Never holds a secret: credentials come from
 * the SDK's default chain (environment, shared config and profiles, SSO, instance roles; for GCS
 * Application Default Credentials or keyFile) or from the extension's SecretStorage at run time.
 */
export interface Remote {
  /** The name it was given in settings or remotes.json, else its URL. */
  name: string;
  kind: RemoteKind;
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
  /** S3-compatible endpoint (MinIO, R2, B2, a local server). */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** GCS service-account key file (a path, not the key itself). */
  keyFile?: string;
  /** Refuse uploads of unencrypted backups to this remote. */
  requireEncryption?: boolean;
  options?: RemoteObjectOptions;
  /** Attempts per request, with backoff, for throttling, 5xx and dropped connections (default 5). */
  maxAttempts?: number;
}

/** A named remote as written in `pgDockerBackup.remotes` or remotes.json. */
export interface NamedRemote {
  name: string;
  url: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  keyFile?: string;
  requireEncryption?: boolean;
  options?: RemoteObjectOptions;
  maxAttempts?: number;
}

const URL_PATTERN = /^(s3|gs):\/\/([^/]+)(?:\/(.*))?$/;
const SECRET_FIELDS = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'credentials', 'key', 'privateKey', 'password'];
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/;

export function isRemoteUrl(text: string): boolean {
  return URL_PATTERN.test(text);
}

export function trimSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

/** `s3://bucket/prefix` or `gs://bucket/prefix` into kind, bucket and prefix. */
export function parseRemoteUrl(url: string): { kind: RemoteKind; bucket: string; prefix: string } {
  const m = URL_PATTERN.exec(url.trim());
  if (!m) throw new PgBackupError('usage', `"${url}" is not a remote: use s3://bucket/prefix, gs://bucket/prefix or the name of a configured remote.`);
  const [, kind, bucket, rest] = m;
  if (!BUCKET_PATTERN.test(bucket)) throw new PgBackupError('usage', `"${bucket}" in ${url} is not a valid bucket name (3-63 lower-case letters, digits, dots and dashes).`);
  return { kind: kind as RemoteKind, bucket, prefix: trimSlashes(rest ?? '') };
}

function fromNamed(n: NamedRemote): Remote {
  const { kind, bucket, prefix } = parseRemoteUrl(n.url);
  return {
    name: n.name,
    kind,
    bucket,
    prefix,
    endpoint: n.endpoint || undefined,
    region: n.region || undefined,
    forcePathStyle: n.forcePathStyle ?? (n.endpoint ? true : undefined),
    keyFile: n.keyFile || undefined,
    requireEncryption: n.requireEncryption ?? false,
    options: n.options,
    maxAttempts: n.maxAttempts,
  };
}

/** The configured remote whose URL contains `url` (same bucket, prefix at or above), the longest first. */
function namedRemoteOf(url: string, namedRemotes: readonly NamedRemote[]): NamedRemote | undefined {
  if (!isRemoteUrl(url)) return undefined;
  const u = parseRemoteUrl(url);
  const inside = (r: NamedRemote) => {
    const n = parseRemoteUrl(r.url);
    return n.kind === u.kind && n.bucket === u.bucket && (!n.prefix || u.prefix === n.prefix || u.prefix.startsWith(n.prefix + '/'));
  };
  return namedRemotes.filter(inside).sort((a, b) => b.url.length - a.url.length)[0];
}

/**
 * A remote from a URL or the name of a configured remote. `overrides` (CLI flags) win over the named
 * remote's settings; an S3 URL with an endpoint defaults to path-style addressing.
 */
export function parseRemote(urlOrName: string, namedRemotes: readonly NamedRemote[] = [], overrides: Partial<NamedRemote> = {}): Remote {
  const named = namedRemotes.find((r) => r.name === urlOrName) ?? namedRemoteOf(urlOrName, namedRemotes);
  if (!named && !isRemoteUrl(urlOrName)) {
    const known = namedRemotes.map((r) => r.name).join(', ');
    throw new PgBackupError('usage', `"${urlOrName}" is neither an s3:// or gs:// URL nor a configured remote${known ? ` (configured: ${known})` : ''}.`);
  }
  // a URL below a configured remote gets its endpoint, region and options
  const base: NamedRemote = named ? (named.name === urlOrName ? named : { ...named, name: urlOrName.replace(/\/+$/, ''), url: urlOrName }) : { name: urlOrName.replace(/\/+$/, ''), url: urlOrName };
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<NamedRemote>;
  const merged = { ...base, ...defined, options: { ...base.options, ...defined.options } };
  const remote = fromNamed(merged);
  if (remote.kind === 'gs' && (remote.endpoint || remote.forcePathStyle)) {
    throw new PgBackupError('usage', `${remote.name}: --endpoint and path-style are for S3 remotes; for a GCS emulator set STORAGE_EMULATOR_HOST.`);
  }
  return remote;
}

/**
 * A remote object: a full URL (`s3://bucket/prefix/container/database/file`) or `NAME/path` below a
 * configured remote's prefix. Returns the remote (prefix unchanged for a name) and the object's key.
 */
export function parseRemoteObject(text: string, namedRemotes: readonly NamedRemote[] = [], overrides: Partial<NamedRemote> = {}): { remote: Remote; key: string } {
  if (isRemoteUrl(text)) {
    const remote = parseRemote(text, namedRemotes, overrides);
    if (!remote.prefix) throw new PgBackupError('usage', `${text} names a bucket, not an object.`);
    const slash = remote.prefix.lastIndexOf('/');
    return { remote: { ...remote, prefix: slash < 0 ? '' : remote.prefix.slice(0, slash) }, key: remote.prefix };
  }
  const slash = text.indexOf('/');
  const name = slash < 0 ? text : text.slice(0, slash);
  const rest = slash < 0 ? '' : trimSlashes(text.slice(slash + 1));
  if (!namedRemotes.some((r) => r.name === name) || !rest) {
    throw new PgBackupError('usage', `"${text}" is not a remote object: use s3://bucket/key, gs://bucket/key or NAME/container/database/file for a configured remote.`);
  }
  const remote = parseRemote(name, namedRemotes, overrides);
  return { remote, key: remote.prefix ? `${remote.prefix}/${rest}` : rest };
}

/** The remote's URL for a key: `s3://bucket/key`. */
export function objectUrl(remote: Pick<Remote, 'kind' | 'bucket'>, key: string): string {
  return `${remote.kind}://${remote.bucket}/${key}`;
}

/** Checks the shape of a remotes list (settings or remotes.json) and refuses keys written into it. */
export function validateNamedRemotes(value: unknown, where: string): NamedRemote[] {
  if (!Array.isArray(value)) throw new PgBackupError('usage', `${where} must hold a JSON array of remotes ({"name", "url", …}).`);
  const seen = new Set<string>();
  return value.map((r, i) => {
    if (!r || typeof r !== 'object' || typeof r.name !== 'string' || typeof r.url !== 'string' || !r.name) {
      throw new PgBackupError('usage', `${where}: remote #${i + 1} needs a "name" and a "url".`);
    }
    const secret = SECRET_FIELDS.find((f) => f in r);
    if (secret) throw new PgBackupError('refused', `${where}: remote "${r.name}" has "${secret}": keys do not belong in a settings file; use the SDK's credentials (environment, profiles, SSO, instance roles) instead.`);
    if (seen.has(r.name)) throw new PgBackupError('usage', `${where}: the remote name "${r.name}" is used twice.`);
    seen.add(r.name);
    parseRemoteUrl(r.url);
    return r as NamedRemote;
  });
}

/**
 * Where the CLI reads named remotes: PG_DOCKER_BACKUP_REMOTES (a file), else remotes.json in the per-user
 * config folder ($XDG_CONFIG_HOME or ~/.config on Linux, Application Support on macOS, APPDATA on Windows).
 */
export function remotesConfigPath(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  homedir: string = os.homedir(),
): string {
  if (env.PG_DOCKER_BACKUP_REMOTES) return path.resolve(env.PG_DOCKER_BACKUP_REMOTES);
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(homedir, 'AppData', 'Roaming'), 'pg-docker-backup', 'remotes.json');
  if (platform === 'darwin') return path.join(homedir, 'Library', 'Application Support', 'pg-docker-backup', 'remotes.json');
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir, '.config'), 'pg-docker-backup', 'remotes.json');
}

/** The named remotes in `file`; none when it does not exist. */
export async function loadNamedRemotes(file: string): Promise<NamedRemote[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new PgBackupError('failed', `Cannot read the remotes file ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PgBackupError('usage', `The remotes file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return validateNamedRemotes(value, file);
}
