/**
 * A second Docker engine (scripts/docker2.sh): its own dockerd, socket, data and exec root, for tests that
 * kill or restart Docker without disturbing the main engine the other tests use, and for copies between
 * two engines. Started by the first suite that needs it and stopped by that suite's `after` when it was
 * not running before.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createDockerClient, defaultEndpointEnvironment, type DockerClient } from '../../src/core/docker/client';
import { ROOT } from './harness';

const run = promisify(execFile);
const SCRIPT = path.join(ROOT, 'scripts', 'docker2.sh');

/** Its DOCKER_HOST (unix:///run/pgdb-docker2.sock unless PGDB_DOCKER2_RUN says otherwise). */
export const DOCKER2_HOST = `unix://${process.env.PGDB_DOCKER2_RUN ?? '/run/pgdb-docker2'}.sock`;

async function script(action: 'start' | 'stop' | 'restart' | 'kill'): Promise<void> {
  try {
    await run('bash', [SCRIPT, action], { timeout: 300_000, maxBuffer: 1 << 20 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`scripts/docker2.sh ${action} failed (the fault tests need a second Docker engine: root and dockerd, see scripts/test-env.sh): ${err.stderr?.trim() || err.message}`);
  }
}

let startedHere = false;

/** Starts the second engine (no-op when it answers) with the test images loaded; true when this call started it. */
export async function startDocker2(): Promise<boolean> {
  const before = await docker2().ping().then(() => true, () => false);
  await script('start');
  if (!before) startedHere = true;
  return !before;
}

/** Stops the second engine if `startDocker2` started it in this process (a developer's running one stays). */
export async function stopDocker2IfStartedHere(): Promise<void> {
  if (!startedHere) return;
  startedHere = false;
  await script('stop');
}

/** `dockerd` stops (SIGTERM: its containers stop as on a reboot) and starts again; resolves once it answers. */
export async function restartDocker2(): Promise<void> {
  await script('restart');
}

/** The environment a CLI run needs to use the second engine. */
export function docker2Env(): Record<string, string> {
  return { DOCKER_HOST: DOCKER2_HOST };
}

let client: DockerClient | undefined;
/** A DockerClient for the second engine (DOCKER_HOST in its endpoint environment). */
export function docker2(): DockerClient {
  client ??= createDockerClient({ environment: defaultEndpointEnvironment({ ...process.env, ...docker2Env() }) });
  return client;
}
