import type { AppContainer } from './discovery';
import type { DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import { silentLogger, type Logger } from '../logger';

/**
 * The running app containers to stop: those named by the user (`--stop` / `--restart`), else the
 * discovered ones.
 */
export async function runningApps(docker: DockerClient, named: readonly string[] | undefined, discovered: readonly AppContainer[]): Promise<AppContainer[]> {
  const apps = named
    ? await Promise.all(
        named.map(async (n) => {
          const d = await docker.inspectContainer(n);
          return { id: d.id, name: d.name, state: d.state };
        }),
      )
    : discovered;
  return apps.filter((a) => a.state === 'running');
}

export interface AppDowntime<T> {
  result: T;
  /** From the first stop request until every stopped container was started again. */
  downtimeMs: number;
  stopped: AppContainer[];
  /** Containers that could not be started again, with the reason. */
  startFailures: string[];
}

/**
 * Stops the running app containers, runs `work`, and starts again exactly the ones it stopped, in a
 * `finally`: whatever happens inside, they are started. Start failures are reported, not thrown over
 * the work's own error.
 */
export async function withAppsStopped<T>(
  docker: DockerClient,
  apps: readonly AppContainer[],
  work: () => Promise<T>,
  options: { logger?: Logger; stopTimeoutSeconds?: number; onStep?: (message: string) => void; settleMs?: number } = {},
): Promise<AppDowntime<T>> {
  const log = options.logger ?? silentLogger;
  const fresh = await Promise.all(apps.map((a) => docker.inspectContainer(a.id).then((d) => ({ ...a, state: d.state })).catch(() => undefined)));
  const running = fresh.filter((a): a is AppContainer => !!a && a.state === 'running');
  const started = Date.now();
  const stopped: AppContainer[] = [];
  const startFailures: string[] = [];
  const restart = async () => {
    if (stopped.length === 0) return;
    options.onStep?.(`Starting ${stopped.map((a) => a.name).join(', ')}`);
    await Promise.all(
      stopped.map(async (a) => {
        try {
          await docker.startContainer(a.id);
        } catch (e) {
          startFailures.push(`${a.name}: ${errorMessage(e)}`);
          log.error(`could not start ${a.name} again: ${errorMessage(e)}`);
        }
      }),
    );
  };
  let result: T;
  try {
    if (running.length > 0) {
      options.onStep?.(`Stopping ${running.map((a) => a.name).join(', ')}`);
      await Promise.all(
        running.map(async (a) => {
          await docker.stopContainer(a.id, options.stopTimeoutSeconds ?? 10);
          stopped.push(a);
        }),
      );
    }
    result = await work();
  } finally {
    await restart();
  }
  const downtimeMs = running.length > 0 ? Date.now() - started : 0;
  startFailures.push(...(await exitedAfterStart(docker, stopped.filter((a) => !startFailures.some((f) => f.startsWith(`${a.name}:`))), options.settleMs ?? 700)));
  return { result, downtimeMs, stopped, startFailures };
}

/**
 * Writes a container's dirty file data to disk (`sync -f /`: for an overlay root this is the Docker
 * data filesystem, where volumes live too). Stopping a container unmounts its overlay, which waits for
 * every dirty page of that filesystem: after a restore wrote hundreds of MB, that wait would fall
 * inside the apps' downtime. Best effort: a container without `sync -f` only loses the head start.
 */
export async function flushContainerFilesystem(docker: DockerClient, container: string, options: { signal?: AbortSignal; logger?: Logger } = {}): Promise<void> {
  const log = options.logger ?? silentLogger;
  try {
    const r = await docker.exec(container, ['sync', '-f', '/'], { signal: options.signal, what: 'Flushing to disk' });
    if (r.exitCode !== 0) log.debug(`sync -f / in ${container} exited ${r.exitCode}: ${r.stderr.trim()}`);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    log.debug(`could not flush ${container}'s filesystem: ${errorMessage(e)}`);
  }
}

/**
 * The apps that stopped again right after they were started (an entrypoint that exits, a crash on boot):
 * `docker start` returns as soon as the process runs, so their state is read once more a moment later.
 */
async function exitedAfterStart(docker: DockerClient, apps: readonly AppContainer[], settleMs: number): Promise<string[]> {
  if (apps.length === 0) return [];
  await new Promise((r) => setTimeout(r, settleMs));
  const states = await Promise.all(apps.map((a) => docker.inspectContainer(a.id).then((d) => d.state, () => 'gone')));
  return apps.flatMap((a, i) => (states[i] === 'running' ? [] : [`${a.name}: it stopped again right after it was started (it is ${states[i]} now; see \`docker logs ${a.name}\`)`]));
}
