import { PassThrough, Readable } from 'node:stream';
import { openDockerConnection, wrapDockerError, type ConnectOptions, type DockerConnection } from './connection';
import { createContainerClient, type ContainerClient } from './containers';
import { DockerDemuxer } from './demux';
import type { DockerEndpoint } from './endpoint';
import { createExecClient, type ExecClient } from './exec';
import { createImageClient, type ImageClient } from './images';
import { createNetworkClient, type NetworkClient } from './networks';
import { createVolumeClient, type VolumeClient } from './volumes';

export { defaultEndpointEnvironment, type ConnectOptions } from './connection';
export { cpusAllowed, parseEnvList, type ContainerDetails, type ContainerMount, type MountedVolume, type ContainerSpec, type ContainerSummary } from './containers';
export type { ExecOptions, ExecResult } from './exec';
export type { ImageSummary, PullProgress } from './images';
export type { NetworkSummary } from './networks';

export interface DockerEvent {
  type: string;
  action: string;
  id: string;
  name?: string;
}

export type DockerEventHandler = (event: DockerEvent) => void;

export interface LogsOptions {
  /** Lines from the end (500 by default), or the whole log. */
  tail?: number | 'all';
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * What the rest of the product needs from Docker, composed the way testcontainers-node splits its
 * clients (containers, exec, images, networks, volumes). These modules are the only ones that talk to dockerode.
 */
export interface DockerClient extends ContainerClient, ExecClient, ImageClient, NetworkClient, VolumeClient {
  endpoint(): Promise<DockerEndpoint>;
  ping(): Promise<void>;
  /** Streams container start/stop/create/destroy/die events until the signal fires. */
  watchEvents(onEvent: DockerEventHandler, signal: AbortSignal): Promise<void>;
  /** The container's log (stdout and stderr merged), `tail` lines then following while `follow`. */
  logs(container: string, options: LogsOptions): Promise<Readable>;
}

/**
 * Creates the client. Nothing talks to Docker until the first call: the endpoint is resolved and
 * pinged then, trying each candidate in order, and an unreachable engine gives one error naming
 * every endpoint tried and how to fix it.
 */
export function createDockerClient(options: ConnectOptions = {}): DockerClient {
  const conn = openDockerConnection(options);
  return {
    endpoint: () => conn.endpoint(),
    async ping() {
      await conn.docker();
    },
    ...createContainerClient(conn),
    ...createExecClient(conn),
    ...createImageClient(conn),
    ...createNetworkClient(conn),
    ...createVolumeClient(conn),
    watchEvents: (onEvent, signal) => watchEvents(conn, onEvent, signal),
    logs: (container, logsOptions) => containerLogs(conn, container, logsOptions),
  };
}

/** One line of the engine's event stream as an event, or undefined for anything else. */
export function parseDockerEvent(line: string): DockerEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const ev = JSON.parse(line) as { Type?: string; Action?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    if (typeof ev.Type !== 'string' || typeof ev.Action !== 'string') return undefined;
    return { type: ev.Type, action: ev.Action, id: ev.Actor?.ID ?? ev.id ?? '', name: ev.Actor?.Attributes?.name };
  } catch {
    return undefined;
  }
}

const WATCHED = ['start', 'stop', 'die', 'create', 'destroy', 'rename', 'pause', 'unpause'];

async function watchEvents(conn: DockerConnection, onEvent: DockerEventHandler, signal: AbortSignal): Promise<void> {
  const docker = await conn.docker();
  conn.log.debug('docker: watching container events');
  let stream: Readable;
  try {
    stream = (await docker.getEvents({ filters: { type: ['container'], event: WATCHED } })) as unknown as Readable;
  } catch (e) {
    throw wrapDockerError('watching Docker events', e);
  }
  const stop = () => stream.destroy();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const ev = parseDockerEvent(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (ev) {
        conn.log.trace(`docker: event ${ev.action} ${ev.name ?? ev.id}`);
        onEvent(ev);
      }
    }
  });
  const failure = await new Promise<Error | undefined>((resolve) => {
    stream.on('close', () => resolve(undefined));
    stream.on('end', () => resolve(undefined));
    stream.on('error', (e) => resolve(e));
  });
  signal.removeEventListener('abort', stop);
  if (failure && !signal.aborted) throw wrapDockerError('watching Docker events', failure);
  conn.log.debug(`docker: event stream ended${signal.aborted ? ' (stopped)' : ''}`);
}

async function containerLogs(conn: DockerConnection, container: string, { tail = 500, follow = false, signal }: LogsOptions): Promise<Readable> {
  const docker = await conn.docker();
  const what = `reading the logs of ${container}`;
  conn.log.debug(`docker: logs of ${container} (tail ${tail}${follow ? ', following' : ''})`);
  let raw: unknown;
  try {
    raw = await docker.getContainer(container).logs({ stdout: true, stderr: true, tail: tail as number, follow: follow as true, timestamps: false });
  } catch (e) {
    throw wrapDockerError(what, e);
  }
  // Docker answers a non-following request with one buffer, a following one with a stream.
  const stream = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Readable);
  const out = new PassThrough();
  let done = false;
  const finish = (e?: unknown) => {
    if (done) return;
    done = true;
    if (e && !signal?.aborted) out.destroy(wrapDockerError(what, e));
    else out.end();
  };
  const demux = new DockerDemuxer((c) => !done && out.write(c));
  signal?.addEventListener('abort', () => stream.destroy(), { once: true });
  stream.on('error', finish);
  demux.on('error', finish);
  stream.pipe(demux).on('data', (c: Buffer) => !done && out.write(c));
  demux.on('end', () => finish());
  stream.on('close', () => finish());
  return out;
}
