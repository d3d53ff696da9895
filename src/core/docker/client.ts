import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { DockerDemuxer, TailBuffer } from './demux';
import { dockerUnreachableHint, resolveDockerEndpoints, type DockerEndpoint, type EndpointEnvironment } from './endpoint';
import { PgBackupError, cancelledError, errorMessage } from '../errors';
import { formatArgv, redactEnv, silentLogger, type Logger } from '../logger';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** running, exited, paused, restarting, created, dead */
  state: string;
  status: string;
  labels: Record<string, string>;
  createdAt: Date;
}

export interface ContainerDetails extends ContainerSummary {
  env: Record<string, string>;
  /** The container's network aliases are not needed; the compose labels carry project and service. */
  user: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  user?: string;
  /** Bytes fed to the process's stdin; ended (half-close) when the stream ends. */
  stdin?: Readable;
  /** Where stdout goes; without it stdout is collected (bounded by `maxStdoutBytes`) and returned. */
  stdout?: Writable;
  signal?: AbortSignal;
  /** Values hidden in the logged argv (passwords never travel in argv; this is a second guard). */
  secrets?: readonly string[];
  maxStdoutBytes?: number;
  /** Called with the stdout byte count as it grows (for progress). */
  onStdout?: (bytes: number) => void;
  /** What to call the operation in a cancellation message. */
  what?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  /** The last 16 KiB of stderr. */
  stderr: string;
}

export type DockerEventHandler = (event: { type: string; action: string; id: string; name?: string }) => void;

/** What the rest of the product needs from Docker; the only module that talks to dockerode. */
export interface DockerClient {
  endpoint(): Promise<DockerEndpoint>;
  ping(): Promise<void>;
  listContainers(): Promise<ContainerSummary[]>;
  inspectContainer(idOrName: string): Promise<ContainerDetails>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  exec(container: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** The CPUs a container may use: the host's, lowered by its --cpus / --cpu-quota / --cpuset-cpus. */
  cpuCount(container: string): Promise<number>;
  /** Streams container start/stop/create/destroy/die events until the signal fires. */
  watchEvents(onEvent: DockerEventHandler, signal: AbortSignal): Promise<void>;
  /** The container's log (stdout and stderr merged), `tail` lines then following while `follow`. */
  logs(container: string, options: { tail?: number; follow?: boolean; signal?: AbortSignal }): Promise<Readable>;
  /** Low-level access for tests and benchmarks that create containers. */
  raw(): Promise<Docker>;
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

interface ConnectOptions {
  logger?: Logger;
  environment?: EndpointEnvironment;
  /** Seconds to wait for the engine to answer a ping. */
  timeoutSeconds?: number;
}

function wrapDockerError(what: string, e: unknown): PgBackupError {
  if (e instanceof PgBackupError) return e;
  const status = (e as { statusCode?: number }).statusCode;
  const json = (e as { json?: { message?: string } }).json;
  const msg = json?.message ?? errorMessage(e);
  if (status === 404) return new PgBackupError('notFound', `${what}: ${msg}`, { cause: e });
  return new PgBackupError('failed', `${what}: ${msg}`, { cause: e });
}

function toSummary(c: Docker.ContainerInfo): ContainerSummary {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
    labels: c.Labels ?? {},
    createdAt: new Date(c.Created * 1000),
  };
}

/** The CPUs a container may use, from the host's count and its HostConfig limits. */
export function cpusAllowed(hostCpus: number, hc: { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; CpusetCpus?: string }): number {
  let n = Math.max(1, hostCpus);
  if (hc.NanoCpus && hc.NanoCpus > 0) n = Math.min(n, Math.ceil(hc.NanoCpus / 1e9));
  if (hc.CpuQuota && hc.CpuQuota > 0) n = Math.min(n, Math.ceil(hc.CpuQuota / (hc.CpuPeriod && hc.CpuPeriod > 0 ? hc.CpuPeriod : 100_000)));
  if (hc.CpusetCpus) {
    let count = 0;
    for (const part of hc.CpusetCpus.split(',')) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
      if (m) count += m[2] !== undefined ? Math.max(0, Number(m[2]) - Number(m[1]) + 1) : 1;
    }
    if (count > 0) n = Math.min(n, count);
  }
  return Math.max(1, n);
}

export function parseEnvList(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

/**
 * Creates the client. Nothing talks to Docker until the first call: the endpoint is resolved and
 * pinged then, trying each candidate in order, and an unreachable engine gives one error naming
 * every endpoint tried and how to fix it.
 */
export function createDockerClient(options: ConnectOptions = {}): DockerClient {
  const log = options.logger ?? silentLogger;
  const environment = options.environment ?? defaultEndpointEnvironment();
  let connecting: Promise<{ docker: Docker; endpoint: DockerEndpoint }> | undefined;

  async function connect(): Promise<{ docker: Docker; endpoint: DockerEndpoint }> {
    const candidates = await resolveDockerEndpoints(environment);
    const failures: string[] = [];
    // Loaded on first use: the extension activates without it.
    const { default: DockerCtor } = await import('dockerode');
    for (const ep of candidates) {
      const docker = new DockerCtor({ ...ep.modem, timeout: undefined } as Docker.DockerOptions);
      try {
        await withTimeout(docker.ping(), (options.timeoutSeconds ?? 5) * 1000, `no answer within ${options.timeoutSeconds ?? 5} s`);
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

  async function get(): Promise<Docker> {
    if (!connecting) {
      connecting = connect();
      connecting.catch(() => {
        connecting = undefined; // try again next time (Docker may have been started meanwhile)
      });
    }
    return (await connecting).docker;
  }

  const client: DockerClient = {
    async endpoint() {
      await get();
      return (await connecting!).endpoint;
    },
    async ping() {
      await get();
    },
    async listContainers() {
      const docker = await get();
      log.trace('docker: list containers');
      try {
        return (await docker.listContainers({ all: true })).map(toSummary);
      } catch (e) {
        throw wrapDockerError('listing containers', e);
      }
    },
    async inspectContainer(idOrName) {
      const docker = await get();
      log.trace(`docker: inspect ${idOrName}`);
      try {
        const c = await docker.getContainer(idOrName).inspect();
        return {
          id: c.Id,
          name: c.Name.replace(/^\//, ''),
          image: c.Config.Image,
          state: c.State.Status,
          status: c.State.Status,
          labels: c.Config.Labels ?? {},
          createdAt: new Date(c.Created),
          env: parseEnvList(c.Config.Env),
          user: c.Config.User ?? '',
        };
      } catch (e) {
        const err = wrapDockerError(`inspecting container ${idOrName}`, e);
        if (err.kind === 'notFound') throw new PgBackupError('notFound', `There is no container named ${idOrName}.`, { cause: e });
        throw err;
      }
    },
    async startContainer(id) {
      const docker = await get();
      log.info(`docker: start ${id}`);
      try {
        await docker.getContainer(id).start();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 304) return; // already running
        throw wrapDockerError(`starting container ${id}`, e);
      }
    },
    async stopContainer(id, timeoutSeconds = 10) {
      const docker = await get();
      log.info(`docker: stop ${id} (timeout ${timeoutSeconds} s)`);
      try {
        await docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 304) return; // already stopped
        throw wrapDockerError(`stopping container ${id}`, e);
      }
    },
    async cpuCount(container) {
      const docker = await get();
      try {
        const [info, c] = await Promise.all([docker.info() as Promise<{ NCPU?: number }>, docker.getContainer(container).inspect()]);
        return cpusAllowed(info.NCPU ?? 1, c.HostConfig ?? {});
      } catch (e) {
        throw wrapDockerError(`reading the CPUs of ${container}`, e);
      }
    },
    async exec(container, argv, opts = {}) {
      const docker = await get();
      const what = opts.what ?? argv[0];
      if (opts.signal?.aborted) throw cancelledError(what);
      const envList = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
      log.debug(`exec in ${container}: ${formatArgv(argv, opts.secrets)}${envList.length ? ` (env ${redactEnv(envList).join(' ')})` : ''}`);
      let exec: Docker.Exec;
      try {
        exec = await docker.getContainer(container).exec({
          Cmd: [...argv],
          Env: envList,
          User: opts.user,
          AttachStdin: !!opts.stdin,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
        });
      } catch (e) {
        throw wrapDockerError(`starting ${argv[0]} in ${container}`, e);
      }
      const socket = (await exec.start({ hijack: true, stdin: !!opts.stdin, Tty: false })) as unknown as NodeJS.ReadWriteStream & {
        destroy(err?: Error): void;
        end(): void;
      };
      const stderr = new TailBuffer();
      const demux = new DockerDemuxer((c) => stderr.push(c));
      const collected: Buffer[] = [];
      let collectedBytes = 0;
      const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
      const sink: Writable =
        opts.stdout ??
        new PassThrough().on('data', (c: Buffer) => {
          collectedBytes += c.length;
          if (collectedBytes <= max) collected.push(c);
        });
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        socket.destroy(cancelledError(what));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.onStdout) {
        const report = opts.onStdout;
        demux.on('data', () => report(demux.stdoutBytes));
      }
      let inputError: Error | undefined;
      let streamError: unknown;
      try {
        const output = pipeline(socket as unknown as Readable, demux, sink);
        if (opts.stdin) {
          // An input error (a truncated gzip, a read error) must stop the process: destroying the socket
          // closes its stdin, and the input error is what gets reported. A process that exits early
          // (psql stopping on the first error) closes the socket under the writer; that is not an input
          // error, and its exit code and stderr tell what happened.
          // The input may have failed (or closed early) before this point, e.g. a small damaged file
          // read and rejected while the exec was being created: then no 'error' event comes any more,
          // and piping it would leave the process waiting on stdin forever.
          const input = opts.stdin;
          const fail = (e: Error) => {
            inputError ??= e;
            socket.destroy();
          };
          if (input.errored) fail(input.errored);
          else if (input.destroyed && !input.readableEnded) fail(new Error('the input closed before its end'));
          else {
            input.once('error', fail);
            input.once('close', () => {
              if (!input.readableEnded) fail(input.errored ?? new Error('the input closed before its end'));
            });
            input.pipe(socket as unknown as Writable);
            socket.on('error', () => input.unpipe());
          }
        }
        await output;
      } catch (e) {
        streamError = e;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        opts.stdin?.unpipe();
      }
      if (aborted || opts.signal?.aborted) throw cancelledError(what);
      if (inputError) {
        throw inputError instanceof PgBackupError
          ? inputError
          : new PgBackupError('failed', errorMessage(inputError), { cause: inputError, detail: stderr.toString() });
      }
      // The stream ended; the exit code is there once the process is reaped.
      let info = await exec.inspect();
      for (let i = 0; info.Running && i < 100; i++) {
        await new Promise((r) => setTimeout(r, Math.min(100, 5 + i * 5)));
        info = await exec.inspect();
      }
      if (streamError && (info.Running || info.ExitCode === 0 || info.ExitCode === null)) {
        throw streamError instanceof PgBackupError
          ? streamError
          : new PgBackupError('failed', `${what} in ${container}: ${errorMessage(streamError)}`, { cause: streamError, detail: stderr.toString() });
      }
      const exitCode = info.ExitCode ?? -1;
      log.trace(`exec in ${container}: ${argv[0]} exited ${exitCode}`);
      return { exitCode, stdout: Buffer.concat(collected).toString('utf8'), stderr: stderr.toString() };
    },
    async watchEvents(onEvent, signal) {
      const docker = await get();
      const stream = (await docker.getEvents({
        filters: { type: ['container'], event: ['start', 'stop', 'die', 'create', 'destroy', 'rename', 'pause', 'unpause'] },
      })) as unknown as Readable;
      const stop = () => stream.destroy();
      signal.addEventListener('abort', stop, { once: true });
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            const ev = JSON.parse(line) as { Type: string; Action: string; id?: string; Actor?: { ID: string; Attributes?: Record<string, string> } };
            onEvent({ type: ev.Type, action: ev.Action, id: ev.Actor?.ID ?? ev.id ?? '', name: ev.Actor?.Attributes?.name });
          } catch {
            // not an event line
          }
        }
      });
      await new Promise<void>((resolve) => {
        stream.on('close', resolve);
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
      signal.removeEventListener('abort', stop);
    },
    async logs(container, { tail = 500, follow = false, signal }) {
      const docker = await get();
      const raw = (await docker.getContainer(container).logs({ stdout: true, stderr: true, tail, follow: follow as true, timestamps: false })) as unknown;
      // Docker answers a non-following request with one buffer, a following one with a stream.
      const stream = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Readable);
      const out = new PassThrough();
      const demux = new DockerDemuxer((c) => out.write(c));
      signal?.addEventListener('abort', () => stream.destroy(), { once: true });
      stream.pipe(demux).on('data', (c: Buffer) => out.write(c));
      demux.on('end', () => out.end());
      stream.on('close', () => out.end());
      return out;
    },
    async raw() {
      return get();
    },
  };
  return client;
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
