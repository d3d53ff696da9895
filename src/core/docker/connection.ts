import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import type Docker from 'dockerode';
import { dockerUnreachableHint, resolveDockerEndpoints, type DockerEndpoint, type EndpointEnvironment } from './endpoint';
import { PgBackupError, errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';

/**
 * The one place that holds dockerode: the containers, exec, images and networks clients each take a
 * connection and ask it for dockerode when they are called.
 */
export interface DockerConnection {
  /** dockerode on the first endpoint that answered a ping; connects on first use. */
  docker(): Promise<Docker>;
  endpoint(): Promise<DockerEndpoint>;
  readonly log: Logger;
}

export interface ConnectOptions {
  logger?: Logger;
  environment?: EndpointEnvironment;
  /** Seconds to wait for the engine to answer a ping. */
  timeoutSeconds?: number;
}

export function defaultEndpointEnvironment(env: NodeJS.ProcessEnv = process.env): EndpointEnvironment {
  return {
    env,
    platform: process.platform,
    homedir: os.homedir(),
    readFile: async (f) => fs.readFile(f, 'utf8').catch(() => undefined),
    exists: async (f) => fs.stat(f).then(() => true, () => false),
    inspectContextWithCli: async (name) => {
      try {
        const { execa } = await import('execa');
        const r = await execa('docker', ['context', 'inspect', ...(name ? [name] : [])], { timeout: 5000, reject: false });
        return r.exitCode === 0 ? r.stdout : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The HTTP status of a Docker Engine API error (dockerode puts it on `statusCode`), if any. */
export function dockerStatus(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

/** A Docker error as a PgBackupError saying what was being done: 404 is `notFound`, the rest `failed`. */
export function wrapDockerError(what: string, e: unknown): PgBackupError {
  if (e instanceof PgBackupError) return e;
  const json = (e as { json?: { message?: string } } | undefined)?.json;
  const msg = json?.message ?? errorMessage(e);
  return new PgBackupError(dockerStatus(e) === 404 ? 'notFound' : 'failed', `${what}: ${msg}`, { cause: e });
}

/**
 * Nothing talks to Docker until the first call: the endpoint is resolved and pinged then, trying each
 * candidate in order, and an unreachable engine gives one error naming every endpoint tried and how to
 * fix it. A failed attempt is forgotten, so the next call tries again (Docker may have been started).
 */
export function openDockerConnection(options: ConnectOptions = {}): DockerConnection {
  const log = options.logger ?? silentLogger;
  const environment = options.environment ?? defaultEndpointEnvironment();
  const timeoutSeconds = options.timeoutSeconds ?? 5;
  let connecting: Promise<{ docker: Docker; endpoint: DockerEndpoint }> | undefined;

  async function connect(): Promise<{ docker: Docker; endpoint: DockerEndpoint }> {
    const candidates = await resolveDockerEndpoints(environment);
    const failures: string[] = [];
    // Loaded on first use: the extension activates without it.
    const { default: DockerCtor } = await import('dockerode');
    for (const ep of candidates) {
      const docker = new DockerCtor({ ...ep.modem, timeout: undefined } as Docker.DockerOptions);
      try {
        await withTimeout(docker.ping(), timeoutSeconds * 1000, `no answer within ${timeoutSeconds} s`);
        log.debug(`docker: using ${ep.url} (${ep.source})`);
        return { docker, endpoint: ep };
      } catch (e) {
        failures.push(`${ep.url} (${ep.source}): ${errorMessage(e)}`);
      }
    }
    const last = candidates[candidates.length - 1];
    throw new PgBackupError(
      'dockerUnreachable',
      `Docker is not reachable at ${candidates.map((c) => c.url).join(', ')}: ${dockerUnreachableHint(last, environment.platform)}.`,
      { detail: failures.join('\n') },
    );
  }

  function connected(): Promise<{ docker: Docker; endpoint: DockerEndpoint }> {
    if (!connecting) {
      connecting = connect();
      connecting.catch(() => {
        connecting = undefined;
      });
    }
    return connecting;
  }

  return {
    log,
    docker: async () => (await connected()).docker,
    endpoint: async () => (await connected()).endpoint,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
