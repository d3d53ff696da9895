import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { lastVerification } from '../backup/manifest';
import { PgBackupError } from '../errors';
import type { Logger } from '../logger';
import { deleteBackup, listBackups, type BackupEntry } from './backupStore';
import type { TimeZone } from './calendar';
import { assertPolicy, planRetention, type RetentionCandidate, type RetentionPolicy } from './retention';

export interface PruneOptions {
  dir: string;
  /** Only this container's backups (the rules still count per container+database group). */
  container?: string;
  database?: string;
  /** Only backups inside this folder (a Backup Folder group in the extension). */
  folder?: string;
  policy: RetentionPolicy;
  now?: Date;
  zone?: TimeZone;
}

export interface PruneItem {
  entry: BackupEntry;
  /** Why it is kept; empty for one to delete. */
  reasons: string[];
}

export interface PrunePlan {
  dir: string;
  policy: RetentionPolicy;
  keep: PruneItem[];
  delete: PruneItem[];
}

export interface PruneResult {
  deleted: string[];
  /** Planned deletions left alone because the file changed since planning (gone, a symlink now, moved). */
  skipped: { path: string; reason: string }[];
}

type Candidate = RetentionCandidate & { entry: BackupEntry };

function candidateOf(entry: BackupEntry): Candidate {
  return {
    entry,
    path: entry.path,
    time: entry.created,
    container: entry.container,
    database: entry.database,
    verifiedOk: lastVerification(entry.manifest)?.ok === true,
    unrecognised: entry.format === 'unknown',
  };
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * What prune would keep and delete, newest first. Lists the backup folder (never through a symlinked file
 * or folder; `.partial` files are not backups), plans every group with restic's rules, then narrows the
 * result to the container/database/folder asked for. Changes nothing.
 */
export async function planPrune(options: PruneOptions): Promise<PrunePlan> {
  assertPolicy(options.policy);
  const dir = path.resolve(options.dir);
  const entries = await listBackups(dir);
  const decisions = planRetention(entries.map(candidateOf), options.policy, { now: options.now ?? new Date(), zone: options.zone });
  const folder = options.folder ? path.resolve(options.folder) : undefined;
  const wanted = (e: BackupEntry) =>
    (options.container === undefined || e.container === options.container) &&
    (options.database === undefined || e.database === options.database) &&
    (folder === undefined || isInside(folder, e.path));
  const plan: PrunePlan = { dir, policy: options.policy, keep: [], delete: [] };
  for (const d of decisions) {
    if (!wanted(d.backup.entry)) continue;
    (d.keep ? plan.keep : plan.delete).push({ entry: d.backup.entry, reasons: d.reasons });
  }
  return plan;
}

/** Why a planned file must not be deleted now, or undefined when it still is a regular file inside `dir`. */
async function stillDeletable(realDir: string, dir: string, file: string): Promise<string | undefined> {
  if (!isInside(dir, file)) return 'outside the backup folder';
  let st: import('node:fs').Stats;
  try {
    st = await fs.lstat(file);
  } catch {
    return 'gone already';
  }
  if (st.isSymbolicLink()) return 'a symlink now';
  if (!st.isFile()) return 'not a regular file';
  // no folder on the way may be a symlink to somewhere else
  const realParent = await fs.realpath(path.dirname(file)).catch(() => undefined);
  if (realParent !== path.join(realDir, path.relative(dir, path.dirname(file)))) return 'reached through a symlinked folder';
  return undefined;
}

/**
 * Deletes the plan's `delete` list, each backup with its manifest, re-checking just before each one that it
 * is still a regular file inside the backup folder. Stops between files when cancelled.
 */
export async function executePrune(plan: PrunePlan, options: { signal?: AbortSignal; logger?: Logger } = {}): Promise<PruneResult> {
  const result: PruneResult = { deleted: [], skipped: [] };
  const realDir = await fs.realpath(plan.dir);
  for (const item of plan.delete) {
    if (options.signal?.aborted) {
      throw new PgBackupError('cancelled', `Prune was cancelled after deleting ${result.deleted.length} of ${plan.delete.length} backups; the rest are untouched.`);
    }
    const file = item.entry.path;
    const why = await stillDeletable(realDir, plan.dir, file);
    if (why) {
      options.logger?.warn(`prune: left ${file} alone: ${why}`);
      result.skipped.push({ path: file, reason: why });
      continue;
    }
    await deleteBackup(file, plan.dir);
    options.logger?.info(`prune: deleted ${file}`);
    result.deleted.push(file);
  }
  return result;
}
