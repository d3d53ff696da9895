import { resolveBackupDir } from '../core/store/backupStore';
import type { DiscoveryOptions } from '../core/postgres/discovery';
import { createDockerClient, type DockerClient } from '../core/docker/client';
import type { CliContext } from './io';

export function dockerFor(ctx: CliContext): DockerClient {
  return createDockerClient({ logger: ctx.logger });
}

/** PG_DOCKER_BACKUP_PASSWORD overrides the password read from the container (never taken from argv). */
export function discoveryFor(ctx: CliContext): DiscoveryOptions {
  const password = ctx.env.PG_DOCKER_BACKUP_PASSWORD;
  return { logger: ctx.logger, passwordFor: password ? () => password : undefined, signal: ctx.signal };
}

export function backupDirFor(ctx: CliContext, dir: string | undefined): string {
  return resolveBackupDir(dir, ctx.env);
}
