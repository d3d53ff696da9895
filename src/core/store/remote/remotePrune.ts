import { lastVerification, upgradeManifest } from '../../backup/manifest';
import type { Logger } from '../../logger';
import type { TimeZone } from '../calendar';
import { parseBackupFileName, BACKUP_FILE_PATTERN } from '../naming';
import { assertPolicy, planRetention, type RetentionCandidate, type RetentionPolicy } from '../retention';
import type { RemoteBackup, RemoteStore } from './remoteStore';
import type { RemoteSidecar } from './layout';

export interface RemotePruneItem {
  backup: RemoteBackup;
  /** Why it is kept; empty for one to delete. */
  reasons: string[];
}

export interface RemotePrunePlan {
  remote: string;
  policy: RetentionPolicy;
  keep: RemotePruneItem[];
  delete: RemotePruneItem[];
}

type Candidate = RetentionCandidate & { backup: RemoteBackup };

/**
 * A remote backup as the retention planner sees it, by the same rules as a local one: its manifest's time
 * (from the sidecar), else the time in its name (UTC, as ours are written), else the object's time; the
 * manifest's last verification; an object that is no backup of ours is never counted nor deleted.
 */
function candidateOf(b: RemoteBackup & { sidecar?: RemoteSidecar }): Candidate {
  const manifest = upgradeManifest(b.sidecar?.manifest);
  const time = manifest?.created ? new Date(manifest.created) : (parseBackupFileName(b.file)?.at ?? b.modified);
  return {
    backup: b,
    path: b.url,
    time,
    container: b.container,
    database: b.database,
    verifiedOk: lastVerification(manifest)?.ok === true,
    unrecognised: !BACKUP_FILE_PATTERN.test(b.file) || !b.container || !b.database,
  };
}

/** What `prune --remote` would keep and delete: the same rules as a local prune, per container and database. */
export async function planRemotePrune(store: RemoteStore, o: { policy: RetentionPolicy; container?: string; database?: string; now?: Date; zone?: TimeZone; signal?: AbortSignal }): Promise<RemotePrunePlan> {
  assertPolicy(o.policy);
  const all = await store.listWithSidecars('', o.signal);
  const decisions = planRetention(all.map(candidateOf), o.policy, { now: o.now ?? new Date(), zone: o.zone });
  const plan: RemotePrunePlan = { remote: store.remote.name, policy: o.policy, keep: [], delete: [] };
  for (const d of decisions) {
    const b = d.backup.backup;
    if ((o.container !== undefined && b.container !== o.container) || (o.database !== undefined && b.database !== o.database)) continue;
    (d.keep ? plan.keep : plan.delete).push({ backup: b, reasons: d.reasons });
  }
  return plan;
}

/** Deletes the planned objects with their sidecars. */
export async function executeRemotePrune(store: RemoteStore, plan: RemotePrunePlan, log?: Logger): Promise<string[]> {
  const keys = plan.delete.map((d) => d.backup.key);
  if (keys.length) await store.delete(keys);
  log?.info(`remote prune on ${plan.remote}: deleted ${keys.length}`);
  return plan.delete.map((d) => d.backup.url);
}
