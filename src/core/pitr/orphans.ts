import * as os from 'node:os';
import type { DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { LABEL_RECOVERY, LABEL_RECOVERY_DATABASE } from './recovery';

/**
 * Recovery containers and volumes whose `pitr restore` was killed (kill -9, a crash, a closed editor)
 * before it could remove them. Each carries the creating process as `host/pid`; `cleanup` removes those
 * whose process is gone on this machine and leaves the others alone.
 */
export const LABEL_RECOVERY_OWNER = 'pg-docker-backup.pitr-owner';

/** This process, as the owner label records it. */
export function ownerLabel(): string {
  return `${os.hostname()}/${process.pid}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type OwnerState = { state: 'gone' | 'alive' | 'unknown'; why: string };

/** Whether the process that made a recovery container still runs (pure but for `alive`: unit-tested). */
export function ownerState(label: string | undefined, host = os.hostname(), alive: (pid: number) => boolean = pidAlive): OwnerState {
  const m = label ? /^(.+)\/(\d+)$/.exec(label) : null;
  if (!m) return { state: 'unknown', why: 'no creating process recorded (made by an older version): the next pitr restore of its database removes it' };
  if (m[1] !== host) return { state: 'unknown', why: `made by process ${m[2]} on ${m[1]}, another machine: run cleanup there` };
  return alive(Number(m[2])) ? { state: 'alive', why: `its pitr restore (process ${m[2]}) is still running` } : { state: 'gone', why: `its pitr restore (process ${m[2]}) is gone` };
}

export interface RecoveryLeftover {
  kind: 'container' | 'volume';
  name: string;
  why: string;
}

export interface RecoveryCleanup {
  /** Removed (or, in a dry run, to remove). */
  removed: RecoveryLeftover[];
  /** Left alone: their process still runs, or it cannot be told. */
  left: RecoveryLeftover[];
  /** Could not be removed. */
  failed: { name: string; reason: string }[];
}

/**
 * Finds the recovery containers (helpers included) and volumes made for `live` (and `database`, when
 * given) by a pitr restore whose process is gone, and removes them (containers first, forced, then the volumes) unless `dryRun`.
 */
export async function cleanupRecoveries(docker: DockerClient, live: string, options: { database?: string; dryRun?: boolean; log?: Logger } = {}): Promise<RecoveryCleanup> {
  const out: RecoveryCleanup = { removed: [], left: [], failed: [] };
  const ofDb = (labels: Record<string, string>) => options.database === undefined || labels[LABEL_RECOVERY_DATABASE] === options.database;
  const containers = (await docker.listContainers()).filter((c) => c.labels[LABEL_RECOVERY] === live && ofDb(c.labels));
  const volumes = (await docker.listVolumesWithLabels(`${LABEL_RECOVERY}=${live}`)).filter((v) => ofDb(v.labels));
  const items = [
    ...containers.map((c) => ({ kind: 'container' as const, name: c.name, owner: ownerState(c.labels[LABEL_RECOVERY_OWNER]) })),
    ...volumes.map((v) => ({ kind: 'volume' as const, name: v.name, owner: ownerState(v.labels[LABEL_RECOVERY_OWNER]) })),
  ];
  for (const item of items) {
    const entry: RecoveryLeftover = { kind: item.kind, name: item.name, why: item.owner.why };
    if (item.owner.state !== 'gone') {
      out.left.push(entry);
      continue;
    }
    if (!options.dryRun) {
      try {
        if (item.kind === 'container') await docker.removeContainer(item.name, { force: true, removeVolumes: true });
        else await docker.removeVolume(item.name, { force: true });
        options.log?.info(`cleanup: removed recovery ${item.kind} ${item.name} (${item.owner.why})`);
      } catch (e) {
        out.failed.push({ name: item.name, reason: errorMessage(e) });
        continue;
      }
    }
    out.removed.push(entry);
  }
  return out;
}
