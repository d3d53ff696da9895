import { createHash } from 'node:crypto';
import * as path from 'node:path';

/** Where the Docker Engine API is, and how it was chosen (for messages and logs). */
export interface DockerEndpoint {
  /** e.g. `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`, `ssh://me@host` */
  url: string;
  /** How it was chosen: `DOCKER_HOST`, `docker context "colima"`, `default socket`. */
  source: string;
  /** Options for dockerode / docker-modem. */
  modem: {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: 'http' | 'https' | 'ssh';
    username?: string;
    ca?: string;
    cert?: string;
    key?: string;
    sshOptions?: Record<string, unknown>;
  };
}

/** What endpoint resolution may look at; injected so every strategy is unit-testable. */
export interface EndpointEnvironment {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  homedir: string;
  readFile(file: string): Promise<string | undefined>;
  exists(file: string): Promise<boolean>;
  /** `docker context inspect` through the docker CLI, when the CLI exists; undefined otherwise. */
  inspectContextWithCli?(name: string | undefined): Promise<string | undefined>;
}

/** Parses a `DOCKER_HOST`-style URL into modem options. TLS files are read by the caller. */
export function parseDockerHost(url: string, platform: NodeJS.Platform): DockerEndpoint['modem'] {
  if (url.startsWith('unix://')) return { socketPath: url.slice('unix://'.length) };
  if (url.startsWith('npipe://')) {
    const p = url.slice('npipe://'.length).replace(/\//g, '\\');
    return { socketPath: p.startsWith('\\\\') ? p : `\\\\.${p.startsWith('\\') ? '' : '\\'}${p}` };
  }
  if (url.startsWith('/') && platform !== 'win32') return { socketPath: url };
  const m = /^(tcp|http|https|ssh):\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (!m) throw new Error(`cannot parse the Docker host "${url}" (expected unix://, npipe://, tcp:// or ssh://)`);
  const [, scheme, user, host, port] = m;
  if (scheme === 'ssh') {
    return { protocol: 'ssh', host, port: port ? Number(port) : 22, username: user, sshOptions: {} };
  }
  return { protocol: scheme === 'https' ? 'https' : 'http', host, port: port ? Number(port) : 2375 };
}

function defaultSockets(e: EndpointEnvironment): string[] {
  if (e.platform === 'win32') return ['//./pipe/docker_engine'];
  const list = ['/var/run/docker.sock'];
  if (e.platform === 'darwin') {
    list.push(path.join(e.homedir, '.docker/run/docker.sock'), path.join(e.homedir, '.colima/default/docker.sock'));
  } else {
    list.push(path.join(e.homedir, '.docker/desktop/docker.sock'));
    const uid = e.env.XDG_RUNTIME_DIR;
    if (uid) list.push(path.join(uid, 'docker.sock')); // rootless Docker
  }
  return list;
}

async function withTls(e: EndpointEnvironment, modem: DockerEndpoint['modem'], certPath: string | undefined, verify: boolean) {
  if (modem.protocol !== 'http' || (!verify && !certPath)) return modem;
  const dir = certPath ?? path.join(e.homedir, '.docker');
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => e.readFile(path.join(dir, f))));
  return { ...modem, protocol: 'https' as const, port: modem.port === 2375 ? 2376 : modem.port, ca, cert, key };
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

/** The docker CLI's current context: DOCKER_CONTEXT, else `currentContext` of ~/.docker/config.json. */
async function currentContextName(e: EndpointEnvironment): Promise<string | undefined> {
  if (e.env.DOCKER_CONTEXT) return e.env.DOCKER_CONTEXT;
  const configDir = e.env.DOCKER_CONFIG ?? path.join(e.homedir, '.docker');
  const text = await e.readFile(path.join(configDir, 'config.json'));
  if (!text) return undefined;
  try {
    const name = (JSON.parse(text) as { currentContext?: string }).currentContext;
    return name && name !== 'default' ? name : undefined;
  } catch {
    return undefined;
  }
}

async function contextEndpoint(e: EndpointEnvironment, name: string): Promise<DockerEndpoint | undefined> {
  const configDir = e.env.DOCKER_CONFIG ?? path.join(e.homedir, '.docker');
  let meta: ContextMeta | undefined;
  if (e.inspectContextWithCli) {
    const text = await e.inspectContextWithCli(name);
    if (text) {
      try {
        const parsed = JSON.parse(text) as ContextMeta[];
        meta = parsed[0];
      } catch {
        meta = undefined;
      }
    }
  }
  if (!meta) {
    // The CLI's own store: contexts/meta/<sha256(name)>/meta.json
    const id = createHash('sha256').update(name).digest('hex');
    const text = await e.readFile(path.join(configDir, 'contexts', 'meta', id, 'meta.json'));
    if (text) meta = JSON.parse(text) as ContextMeta;
  }
  const host = meta?.Endpoints?.docker?.Host;
  if (!host) return undefined;
  const id = createHash('sha256').update(name).digest('hex');
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  let modem = parseDockerHost(host, e.platform);
  if (modem.protocol === 'http' && (await e.exists(path.join(tlsDir, 'ca.pem')))) {
    modem = await withTls(e, modem, tlsDir, true);
  }
  return { url: host, source: `docker context "${name}"`, modem };
}

/**
 * Finds the Docker Engine the way the docker CLI does, in order: DOCKER_HOST (with DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH), the active docker context (DOCKER_CONTEXT or the CLI's current context), then the
 * platform's default sockets. Returns every candidate in order; the caller uses the first that answers
 * (or reports all of them when none does).
 */
export async function resolveDockerEndpoints(e: EndpointEnvironment): Promise<DockerEndpoint[]> {
  const host = e.env.DOCKER_HOST;
  if (host) {
    const modem = await withTls(e, parseDockerHost(host, e.platform), e.env.DOCKER_CERT_PATH, !!e.env.DOCKER_TLS_VERIFY && e.env.DOCKER_TLS_VERIFY !== '0');
    return [{ url: host, source: 'DOCKER_HOST', modem }];
  }
  const ctxName = await currentContextName(e);
  if (ctxName) {
    const ep = await contextEndpoint(e, ctxName);
    if (ep) return [ep];
  }
  const candidates: DockerEndpoint[] = [];
  const sockets = defaultSockets(e);
  for (const s of sockets) {
    if (e.platform === 'win32' || (await e.exists(s))) {
      candidates.push({ url: e.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : `unix://${s}`, source: 'default socket', modem: { socketPath: s } });
    }
  }
  if (candidates.length === 0) {
    candidates.push({ url: `unix://${sockets[0]}`, source: 'default socket', modem: { socketPath: sockets[0] } });
  }
  return candidates;
}

/** One sentence on how to make Docker answer, for the endpoint that was tried. */
export function dockerUnreachableHint(ep: DockerEndpoint, platform: NodeJS.Platform): string {
  if (ep.source === 'DOCKER_HOST') return `check DOCKER_HOST (${ep.url}) or unset it to use the local engine`;
  if (ep.source.startsWith('docker context')) return `start the engine of ${ep.source} or switch with \`docker context use default\``;
  if (platform === 'linux') return 'start Docker (`sudo systemctl start docker`, or `sudo dockerd &`) and make sure your user can read the socket (`docker` group)';
  return 'start Docker Desktop (or your Docker engine) and try again';
}
