import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { wrapDockerError, type DockerConnection } from './connection';
import { DockerDemuxer, TailBuffer } from './demux';
import { PgBackupError, cancelledError, errorMessage } from '../errors';
import { formatArgv, redactEnv } from '../logger';

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

export interface ExecClient {
  /**
   * Runs argv in the container without a TTY: stdout streams to `options.stdout` (or is collected),
   * the last 16 KiB of stderr are kept, and the exit code is read once the process is reaped. A failed
   * input stops the process and is the error reported; a process exiting early is not an input error.
   */
  exec(container: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

/** The hijacked, multiplexed exec connection. */
type ExecSocket = NodeJS.ReadWriteStream & { destroy(err?: Error): void; end(): void };

export function createExecClient(conn: DockerConnection): ExecClient {
  return {
    async exec(container, argv, opts = {}) {
      const docker = await conn.docker();
      const what = opts.what ?? argv[0];
      if (opts.signal?.aborted) throw cancelledError(what);
      const envList = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
      conn.log.debug(`exec in ${container}: ${formatArgv(argv, opts.secrets)}${envList.length ? ` (env ${redactEnv(envList).join(' ')})` : ''}`);
      const { exec, socket } = await startExec(docker, container, argv, envList, opts);
      const stderr = new TailBuffer();
      const stdout = stdoutSink(opts);
      const { aborted, inputError, streamError } = await pump(socket, stderr, stdout.sink, opts, what);
      if (aborted || opts.signal?.aborted) throw cancelledError(what);
      if (inputError) {
        throw inputError instanceof PgBackupError
          ? inputError
          : new PgBackupError('failed', errorMessage(inputError), { cause: inputError, detail: stderr.toString() });
      }
      const info = await waitForExit(exec, `${what} in ${container}`);
      if (streamError && (info.Running || info.ExitCode === 0 || info.ExitCode === null)) {
        throw streamError instanceof PgBackupError
          ? streamError
          : new PgBackupError('failed', `${what} in ${container}: ${errorMessage(streamError)}`, { cause: streamError, detail: stderr.toString() });
      }
      const exitCode = info.ExitCode ?? -1;
      conn.log.trace(`exec in ${container}: ${argv[0]} exited ${exitCode}`);
      return { exitCode, stdout: stdout.collected(), stderr: stderr.toString() };
    },
  };
}

async function startExec(
  docker: Docker,
  container: string,
  argv: readonly string[],
  envList: string[],
  opts: ExecOptions,
): Promise<{ exec: Docker.Exec; socket: ExecSocket }> {
  try {
    const exec = await docker.getContainer(container).exec({
      Cmd: [...argv],
      Env: envList,
      User: opts.user,
      AttachStdin: !!opts.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const socket = (await exec.start({ hijack: true, stdin: !!opts.stdin, Tty: false })) as unknown as ExecSocket;
    return { exec, socket };
  } catch (e) {
    throw wrapDockerError(`starting ${argv[0]} in ${container}`, e);
  }
}

/** Where stdout goes: the caller's stream, or a collector bounded by `maxStdoutBytes`. */
function stdoutSink(opts: ExecOptions): { sink: Writable; collected: () => string } {
  if (opts.stdout) return { sink: opts.stdout, collected: () => '' };
  const chunks: Buffer[] = [];
  let bytes = 0;
  const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
  const sink = new PassThrough().on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes <= max) chunks.push(c);
  });
  return { sink, collected: () => Buffer.concat(chunks).toString('utf8') };
}

/** Streams the exec's output through the demuxer into its sinks and feeds stdin, until the stream ends. */
async function pump(
  socket: ExecSocket,
  stderr: TailBuffer,
  sink: Writable,
  opts: ExecOptions,
  what: string,
): Promise<{ aborted: boolean; inputError?: Error; streamError?: unknown }> {
  const demux = new DockerDemuxer((c) => stderr.push(c));
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
      feedStdin(opts.stdin, socket, (e) => {
        inputError ??= e;
        socket.destroy();
      });
    }
    await output;
  } catch (e) {
    streamError = e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    opts.stdin?.unpipe();
  }
  return { aborted, inputError, streamError };
}

/**
 * An input error (a truncated gzip, a read error) must stop the process: `fail` destroys the socket,
 * which closes its stdin, and the input error is what gets reported. A process that exits early (psql
 * stopping on the first error) closes the socket under the writer; that is not an input error, and its
 * exit code and stderr tell what happened.
 * The input may have failed (or closed early) before this point, e.g. a small damaged file read and
 * rejected while the exec was being created: then no 'error' event comes any more, and piping it would
 * leave the process waiting on stdin forever.
 */
function feedStdin(input: Readable, socket: ExecSocket, fail: (e: Error) => void): void {
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

/** The stream ended; the exit code is there once the process is reaped (polled for up to ~10 s). */
async function waitForExit(exec: Docker.Exec, what: string): Promise<Docker.ExecInspectInfo> {
  try {
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 100; i++) {
      await new Promise((r) => setTimeout(r, Math.min(100, 5 + i * 5)));
      info = await exec.inspect();
    }
    return info;
  } catch (e) {
    throw wrapDockerError(`reading the exit code of ${what}`, e);
  }
}
