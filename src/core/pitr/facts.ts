import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { execClient, queryJson, type PgTarget } from '../postgres/client';
import { archiveDirFromCommand, locateArchive, SAFE_PATH, type ArchiveLocation } from './archive';
import { commitTime, parseWaldumpLine, restorePoints, WAL_SEGMENT_NAME } from './wal';

/** pg_stat_archiver, in our words. */
export interface ArchiverStats {
  archivedCount: number;
  lastArchivedWal?: string;
  lastArchivedTime?: string;
  failedCount: number;
  lastFailedWal?: string;
  lastFailedTime?: string;
  /** The last attempt failed (a failure newer than the last success). */
  failingNow: boolean;
}

/** What the server says about WAL archiving (one query). */
export interface ArchivingSettings {
  archiveMode: string;
  archiveCommand: string;
  archiveLibrary?: string;
  walLevel: string;
  walSegmentBytes: number;
  systemIdentifier: string;
  timeline: number;
  inRecovery: boolean;
  currentWal?: string;
  archiver: ArchiverStats;
  serverTime: string;
}

const SETTINGS_SQL = `SELECT json_build_object(
  'archiveMode', current_setting('archive_mode'),
  'archiveCommand', current_setting('archive_command'),
  'archiveLibrary', current_setting('archive_library', true),
  'walLevel', current_setting('wal_level'),
  'walSegmentBytes', (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
  'systemIdentifier', (SELECT system_identifier::text FROM pg_control_system()),
  'timeline', (SELECT timeline_id FROM pg_control_checkpoint()),
  'inRecovery', pg_is_in_recovery(),
  'currentWal', CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,
  'archiver', (SELECT row_to_json(a) FROM pg_stat_archiver a),
  'serverTime', now())`;

type RawArchiver = { archived_count: number; last_archived_wal: string | null; last_archived_time: string | null; failed_count: number; last_failed_wal: string | null; last_failed_time: string | null };

export function archiverStats(a: RawArchiver): ArchiverStats {
  const ok = a.last_archived_time ? Date.parse(a.last_archived_time) : -Infinity;
  const failed = a.last_failed_time ? Date.parse(a.last_failed_time) : -Infinity;
  return {
    archivedCount: Number(a.archived_count),
    lastArchivedWal: a.last_archived_wal ?? undefined,
    lastArchivedTime: a.last_archived_time ? new Date(a.last_archived_time).toISOString() : undefined,
    failedCount: Number(a.failed_count),
    lastFailedWal: a.last_failed_wal ?? undefined,
    lastFailedTime: a.last_failed_time ? new Date(a.last_failed_time).toISOString() : undefined,
    failingNow: failed > ok,
  };
}

export async function readArchivingSettings(docker: DockerClient, target: PgTarget, maintenanceDb: string, signal?: AbortSignal): Promise<ArchivingSettings> {
  const r = await queryJson<Omit<ArchivingSettings, 'archiver'> & { archiver: RawArchiver; walSegmentBytes: string | number }>(docker, target, maintenanceDb, SETTINGS_SQL, 'reading the WAL archiving settings', signal);
  return { ...r, walSegmentBytes: Number(r.walSegmentBytes), archiveLibrary: r.archiveLibrary || undefined, archiver: archiverStats(r.archiver), serverTime: new Date(r.serverTime).toISOString() };
}

/** Why point-in-time recovery is not possible with these settings (empty: it is). */
export function archivingProblems(s: ArchivingSettings): string[] {
  const p: string[] = [];
  if (s.walLevel === 'minimal') p.push('wal_level is minimal (it must be replica or logical)');
  if (s.archiveMode !== 'on' && s.archiveMode !== 'always') p.push(`archive_mode is ${s.archiveMode}`);
  if (s.archiveLibrary) p.push(`archive_library ${s.archiveLibrary} is set (only an archive_command copying into a folder is supported)`);
  else if (!s.archiveCommand || s.archiveCommand === '(disabled)') p.push('archive_command is empty');
  else if (!archiveDirFromCommand(s.archiveCommand)) p.push(`the archive folder cannot be read from archive_command "${s.archiveCommand}" (expected a copy to DIR/%f)`);
  return p;
}

/** Where the archive is, from archive_command and the container's mounts. */
export async function archiveLocation(docker: DockerClient, containerId: string, settings: ArchivingSettings): Promise<ArchiveLocation | undefined> {
  const dir = archiveDirFromCommand(settings.archiveCommand);
  if (!dir) return undefined;
  const details = await docker.inspectContainer(containerId);
  return locateArchive(dir, details.mounts);
}

/** The segment files in the archive folder (read in the database container as its OS user), sorted. */
export async function listArchive(docker: DockerClient, target: PgTarget, dir: string, signal?: AbortSignal): Promise<string[]> {
  const r = await execClient(docker, target, ['ls', '-1', '--', dir], { signal, what: 'Listing the WAL archive' });
  if (r.exitCode !== 0) throw new PgBackupError('failed', `Cannot list the WAL archive ${dir} in ${target.containerName}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((n) => WAL_SEGMENT_NAME.test(n)).sort();
}

/**
 * `sh -c`: $1 the archive folder, then segment names newest first: prints `NAME <pg_waldump line>` for the
 * newest COMMIT/ABORT record of the first segment that has one. Values only as positional arguments.
 */
const LAST_COMMIT_SCRIPT = [
  'd=$1; shift',
  'for f in "$@"; do',
  '  line=$(pg_waldump -r Transaction "$d/$f" 2>/dev/null | grep -E "desc: (COMMIT|ABORT)" | tail -n 1)',
  '  if [ -n "$line" ]; then printf "%s %s\\n" "$f" "$line"; exit 0; fi',
  'done',
].join('\n');

/** The last commit in the archived WAL: pg_waldump (TZ=UTC) over the newest segments until one has a commit. */
export async function lastArchivedCommit(docker: DockerClient, target: PgTarget, dir: string, segments: readonly string[], signal?: AbortSignal): Promise<{ time: Date; lsn: string; segment: string } | undefined> {
  const newest = [...segments].reverse().slice(0, 8);
  if (!newest.length || !SAFE_PATH.test(dir)) return undefined;
  const r = await docker.exec(target.container, ['sh', '-c', LAST_COMMIT_SCRIPT, 'sh', dir, ...newest], { env: { TZ: 'UTC' }, user: target.osUser, signal, what: 'Reading the archived WAL' });
  const line = r.stdout.trim();
  if (!line) return undefined;
  const segment = line.slice(0, line.indexOf(' '));
  const rec = parseWaldumpLine(line);
  const time = rec && commitTime(rec.desc);
  return rec && time ? { time, lsn: rec.lsn, segment } : undefined;
}

/** `sh -c`: $1 the folder, then segment names: every RESTORE_POINT record in them (pg_waldump -r XLOG). */
const RESTORE_POINTS_SCRIPT = ['d=$1; shift', 'for f in "$@"; do pg_waldump -r XLOG "$d/$f" 2>/dev/null | grep "desc: RESTORE_POINT"; done', 'exit 0'].join('\n');

/** The named restore points in the archived segments (oldest first). */
export async function archivedRestorePoints(docker: DockerClient, target: PgTarget, dir: string, segments: readonly string[], signal?: AbortSignal): Promise<{ name: string; lsn: string }[]> {
  if (!segments.length) return [];
  const r = await docker.exec(target.container, ['sh', '-c', RESTORE_POINTS_SCRIPT, 'sh', dir, ...segments], { user: target.osUser, signal, what: 'Looking for restore points in the archived WAL' });
  return restorePoints(r.stdout);
}
