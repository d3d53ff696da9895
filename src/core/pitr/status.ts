import type { DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import { beginOperation, type OperationContext } from '../operation';
import { openServer } from '../postgres/server';
import { archiveReadable, type ArchiveLocation } from './archive';
import { listBaseBackups, type BaseBackupEntry } from './baseStore';
import { archiveLocation, archivingProblems, lastArchivedCommit, listArchive, readArchivingSettings, type ArchiverStats, type ArchivingSettings } from './facts';
import { missingSegments } from './wal';

export interface RecoverableWindow {
  /** The end (consistency point) of the oldest usable base backup (ISO). */
  from: string;
  /** The last commit found in the archived WAL (ISO). */
  to: string;
  fromBackup: string;
  lastCommitLsn: string;
}

export interface PitrStatus {
  container: string;
  /** Archiving is set up (wal_level, archive_mode, an archive_command copying into a folder). */
  enabled: boolean;
  settings: Pick<ArchivingSettings, 'archiveMode' | 'archiveCommand' | 'archiveLibrary' | 'walLevel' | 'walSegmentBytes' | 'systemIdentifier' | 'timeline' | 'currentWal'>;
  problems: string[];
  archive?: ArchiveLocation & { readable: boolean; segments: number; oldest?: string; newest?: string; missing: string[]; error?: string };
  archiver: ArchiverStats;
  /** This cluster's base backups in the backup folder (others', e.g. of a recreated container, left out). */
  baseBackups: BaseBackupEntry[];
  window?: RecoverableWindow;
  /** Why there is no window. */
  windowProblem?: string;
}

/** The base backups that belong to this cluster and timeline. */
export function usableBaseBackups(all: readonly BaseBackupEntry[], settings: Pick<ArchivingSettings, 'systemIdentifier'>): BaseBackupEntry[] {
  return all.filter((b) => b.manifest.systemIdentifier === settings.systemIdentifier);
}

/** The recoverable window from the facts (pure). */
export function recoverableWindow(bases: readonly BaseBackupEntry[], lastCommit: { time: Date; lsn: string } | undefined): { window?: RecoverableWindow; problem?: string } {
  if (!bases.length) return { problem: 'no base backup of this cluster in the backup folder (pg-docker-backup pitr base-backup)' };
  if (!lastCommit) return { problem: 'no commit found in the newest archived WAL segments' };
  const oldest = bases[0];
  if (Date.parse(oldest.manifest.consistentAt) > lastCommit.time.getTime()) return { problem: 'nothing was committed (and archived) since the oldest base backup' };
  return { window: { from: oldest.manifest.consistentAt, to: lastCommit.time.toISOString(), fromBackup: oldest.path, lastCommitLsn: lastCommit.lsn } };
}

export interface PitrStatusOptions extends OperationContext {
  container: string;
  dir: string;
}

/** Archiving settings, where the archive is and whether it works, base backups, and the recoverable window. */
export async function pitrStatus(docker: DockerClient, options: PitrStatusOptions): Promise<PitrStatus> {
  const op = beginOperation(options);
  const { server } = await openServer(docker, options.container, op);
  const settings = await readArchivingSettings(docker, server.target, server.maintenanceDb, op.signal);
  const problems = archivingProblems(settings);
  const loc = await archiveLocation(docker, server.container.id, settings);
  const baseBackups = usableBaseBackups(await listBaseBackups(options.dir, server.container.name), settings);
  const status: PitrStatus = {
    container: server.container.name,
    enabled: problems.length === 0,
    settings: {
      archiveMode: settings.archiveMode,
      archiveCommand: settings.archiveCommand,
      archiveLibrary: settings.archiveLibrary,
      walLevel: settings.walLevel,
      walSegmentBytes: settings.walSegmentBytes,
      systemIdentifier: settings.systemIdentifier,
      timeline: settings.timeline,
      currentWal: settings.currentWal,
    },
    problems,
    archiver: settings.archiver,
    baseBackups,
  };
  if (!loc) {
    status.windowProblem = problems.join('; ') || 'the archive folder is unknown';
    return status;
  }
  if (!archiveReadable(loc)) problems.push(`the archive is ${loc.description}`);
  try {
    const names = await listArchive(docker, server.target, loc.dir, op.signal);
    const from = baseBackups[0]?.manifest.walFiles[0];
    const missing = missingSegments(names, settings.timeline, settings.walSegmentBytes, from && names.includes(from) ? from : undefined);
    status.archive = { ...loc, readable: archiveReadable(loc), segments: names.length, oldest: names[0], newest: names[names.length - 1], missing };
    const last = await lastArchivedCommit(docker, server.target, loc.dir, names, op.signal);
    const w = recoverableWindow(baseBackups, last);
    status.window = w.window;
    status.windowProblem = w.problem;
    if (missing.length) status.windowProblem = `the archive lacks ${missing.length} segment(s) (first ${missing[0]}): recovery cannot pass that gap`;
  } catch (e) {
    status.archive = { ...loc, readable: archiveReadable(loc), segments: 0, missing: [], error: errorMessage(e) };
    status.windowProblem = errorMessage(e);
  }
  return status;
}
