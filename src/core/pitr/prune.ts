import * as path from 'node:path';
import type { DockerClient } from '../docker/client';
import { PgBackupError, errorMessage } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import type { PgTarget } from '../postgres/client';
import { openServer } from '../postgres/server';
import { deleteBackup } from '../store/backupStore';
import type { TimeZone } from '../store/calendar';
import { assertPolicy, type RetentionPolicy } from '../store/retention';
import { archiveReadable } from './archive';
import { deleteWalInContainer, deleteWalOnHost, hostArchiveDir, listArchiveEntries, type WalDeleteResult } from './archiveFiles';
import { listBaseBackups, type BaseBackupEntry } from './baseStore';
import { archiveLocation, readArchivingSettings } from './facts';
import { LABEL_RECOVERY } from './recovery';
import { usableBaseBackups } from './status';
import { planBaseRetention, planWalPrune, type ArchiveEntry, type BaseDecision, type WalPruneDecision } from './walRetention';

export interface PitrPruneOptions extends OperationContext {
  container: string;
  dir: string;
  policy: RetentionPolicy;
  zone?: TimeZone;
}

export interface PitrPrunePlan {
  container: string;
  dir: string;
  policy: RetentionPolicy;
  /** This cluster's base backups, newest first. */
  keep: BaseDecision[];
  delete: BaseDecision[];
  /** Base backups in the folder of another cluster (a recreated container): never deleted here. */
  otherClusters: BaseBackupEntry[];
  /** Where WAL is deleted; undefined when the archive cannot be reached (then no WAL is deleted). */
  archive?: { dir: string; description: string; via: 'container' | 'host'; hostDir?: string };
  /** Why no WAL is pruned, when that is so. */
  walNote?: string;
  wal: WalPruneDecision & { bytes: number };
  /** The archive listing the WAL decision was made from (to decide again after the deletions). */
  entries: ArchiveEntry[];
}

export interface PitrPruneResult {
  deleted: string[];
  skipped: { path: string; reason: string }[];
  wal: WalDeleteResult;
}

/**
 * What `pitr prune` would delete: base backups by the retention rules (the newest, and the one the kept
 * window starts from, always stay), and archived WAL before the oldest kept base backup's start segment.
 * Changes nothing. The container must be running (the archive is read and pruned through it).
 */
export async function planPitrPrune(docker: DockerClient, options: PitrPruneOptions): Promise<PitrPrunePlan & { target: PgTarget }> {
  assertPolicy(options.policy);
  const op = beginOperation(options);
  const { server } = await openServer(docker, options.container, op);
  const name = server.container.name;
  const running = (await docker.listContainers()).find((c) => c.labels[LABEL_RECOVERY] === name);
  if (running) {
    throw new PgBackupError('refused', `A point-in-time recovery of ${name} is under way or was killed (container ${running.name}): prune once it has ended, or remove a killed one with \`pg-docker-backup cleanup ${name}\`. Nothing was deleted.`);
  }
  const settings = await readArchivingSettings(docker, server.target, server.maintenanceDb, op.signal);
  const all = await listBaseBackups(options.dir, name);
  const mine = usableBaseBackups(all, settings);
  const decisions = planBaseRetention(mine, options.policy, { now: op.now(), zone: options.zone });
  const keep = decisions.filter((d) => d.keep);
  const plan: PitrPrunePlan & { target: PgTarget } = {
    container: name,
    dir: path.resolve(options.dir),
    policy: options.policy,
    keep,
    delete: decisions.filter((d) => !d.keep),
    otherClusters: all.filter((b) => !mine.includes(b)),
    wal: { delete: [], segmentsKept: 0, left: [], bytes: 0 },
    entries: [],
    target: server.target,
  };
  const loc = await archiveLocation(docker, server.container.id, settings);
  if (!loc) plan.walNote = 'the archive folder cannot be read from archive_command: no WAL is pruned';
  else if (!archiveReadable(loc)) plan.walNote = `the archive is ${loc.description}: no WAL is pruned`;
  else {
    plan.entries = await listArchiveEntries(docker, server.target, loc.dir, op.signal);
    const wal = planWalPrune(plan.entries, keep.map((d) => d.base.manifest.walFiles[0]));
    const probe = plan.entries.find((e) => e.type === 'file' && wal.delete.includes(e.name))?.name;
    const hostDir = loc.mount?.type === 'bind' ? await hostArchiveDir(loc.mount.source, loc.relative, probe) : undefined;
    plan.archive = { dir: loc.dir, description: loc.description, via: hostDir ? 'host' : 'container', hostDir };
    plan.wal = { ...wal, bytes: wal.delete.filter((n) => !n.endsWith('.backup')).length * settings.walSegmentBytes };
    if (!keep.length) plan.walNote = 'no base backup of this cluster is kept: no WAL is pruned';
  }
  return plan;
}

/** The plan in lines (for the terminal and the extension). */
export function describePitrPrune(plan: PitrPrunePlan): string[] {
  const lines = [`Base backups of ${plan.container} in ${plan.dir}: ${plan.keep.length} kept, ${plan.delete.length} to delete.`];
  for (const k of plan.keep) lines.push(`  keep    ${k.base.path}  (${k.reasons.join(', ')})`);
  for (const d of plan.delete) lines.push(`  delete  ${d.base.path}  (consistent at ${d.base.manifest.consistentAt}) and its manifest`);
  for (const o of plan.otherClusters) lines.push(`  keep    ${o.path}  (another cluster's: not judged here)`);
  if (plan.walNote) lines.push(`WAL: ${plan.walNote}.`);
  if (plan.archive) {
    const where = plan.archive.via === 'host' ? `on this machine in ${plan.archive.hostDir} (the bind mount)` : `through the container ${plan.container} (as its postgres user)`;
    lines.push(`WAL archive ${plan.archive.dir} (${plan.archive.description}): ${plan.wal.delete.length} file(s) before ${plan.wal.cutoff ?? '(none)'} to delete ${where}; ${plan.wal.segmentsKept} segment(s) kept.`);
    for (const n of plan.wal.delete) lines.push(`  delete  ${n}`);
    for (const l of plan.wal.left) lines.push(`  keep    ${l.name}  (${l.reason})`);
  }
  return lines;
}

/**
 * Deletes the plan's base backups (each with its manifest, never through a symlink), then the WAL before
 * the start of the oldest base backup still there (decided again: a base backup that could not be deleted
 * keeps its WAL).
 */
export async function executePitrPrune(docker: DockerClient, plan: PitrPrunePlan & { target: PgTarget }, options: OperationContext = {}): Promise<PitrPruneResult> {
  const op = beginOperation(options);
  const result: PitrPruneResult = { deleted: [], skipped: [], wal: { deleted: [], skipped: [] } };
  const remaining = plan.keep.map((k) => k.base);
  for (const d of plan.delete) {
    if (op.signal?.aborted) throw new PgBackupError('cancelled', `Pruning was cancelled after deleting ${result.deleted.length} base backup(s); the WAL archive is untouched.`);
    try {
      await deleteBackup(d.base.path, plan.dir);
      op.log.info(`pitr prune: deleted ${d.base.path}`);
      result.deleted.push(d.base.path);
    } catch (e) {
      op.log.warn(`pitr prune: left ${d.base.path} alone: ${errorMessage(e)}`);
      result.skipped.push({ path: d.base.path, reason: errorMessage(e) });
      remaining.push(d.base);
    }
  }
  if (!plan.archive || plan.walNote) return result;
  const again = planWalPrune(plan.entries, remaining.map((b) => b.manifest.walFiles[0]));
  const names = plan.wal.delete.filter((n) => again.delete.includes(n));
  if (!names.length) return result;
  op.progress.step('prune', `Deleting ${names.length} WAL file(s) from ${plan.archive.dir}`);
  result.wal = plan.archive.via === 'host' && plan.archive.hostDir
    ? await deleteWalOnHost(plan.archive.hostDir, names, op.signal)
    : await deleteWalInContainer(docker, plan.target, plan.archive.dir, names, op.signal);
  op.log.info(`pitr prune: deleted ${result.wal.deleted.length} WAL file(s) from ${plan.archive.dir}`);
  return result;
}
