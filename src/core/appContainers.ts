import type { AppContainer } from './discovery';
import type { DockerClient } from './dockerClient';
import { errorMessage } from './errors';
import { silentLogger, type Logger } from './logger';

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
  options: { logger?: Logger; stopTimeoutSeconds?: number; onStep?: (message: string) => void } = {},
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
  return { result, downtimeMs, stopped, startFailures };
}
