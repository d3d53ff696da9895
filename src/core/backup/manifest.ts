import { readFile } from 'node:fs';
import { promisify } from 'node:util';
import type { StageRecord } from '../pipeline/stage';
import type { PgContainer } from '../postgres/discovery';
import { MANIFEST_SUFFIX, type BackupFormat } from '../store/naming';

export const TOOL_NAME = 'pg-docker-backup';

/** One check of a backup, recorded in its manifest. */
export interface Verification {
  /** ISO time. */
  at: string;
  kind: 'quick' | 'deep';
  ok: boolean;
  /** What failed, or what was compared. */
  detail?: string;
}

/** What every manifest says, whatever it describes: where it came from and how its bytes were made. */
export interface ManifestCommon {
  manifestVersion: 2;
  tool: string;
  file: string;
  container: string;
  containerId: string;
  image: string;
  composeProject?: string;
  composeService?: string;
  serverVersion: string;
  /** The encode stages after the tool (pg_dump, pg_basebackup), in the order applied (e.g. gzip in the container, then age here). */
  stages: StageRecord[];
  /** Size and sha256 of the stored bytes (after every stage: for an encrypted file, of the ciphertext). */
  bytes: number;
  sha256: string;
  /** When it started (ISO). */
  created: string;
  durationMs: number;
}

/** The fields every manifest opens with: the version, the tool, and the container the backup came from. */
export function manifestOrigin(c: Pick<PgContainer, 'name' | 'id' | 'image' | 'composeProject' | 'composeService'>): Pick<ManifestCommon, 'manifestVersion' | 'tool' | 'container' | 'containerId' | 'image' | 'composeProject' | 'composeService'> {
  return { manifestVersion: 2, tool: TOOL_NAME, container: c.name, containerId: c.id, image: c.image, composeProject: c.composeProject, composeService: c.composeService };
}

/** Written beside every backup as `<file>.json` (version 2; version 1 files are read and upgraded). */
export interface BackupManifest extends ManifestCommon {
  /** A dump of one database (files written before base backups existed have no kind). */
  kind?: 'dump';
  database: string;
  pgDumpVersion: string;
  format: BackupFormat;
  /** The compression inside a custom archive (pg_dump -Fc -Z), which is part of the format, not a stage. */
  archiveCompression?: { algorithm: string; level?: number };
  options: { tables: string[]; schemas: string[]; noOwner: boolean; encoding?: string };
  /**
   * `exact`: every table counted with count(*) in pg_dump's own snapshot; `estimated`: some (or all) tables
   * carry the planner's estimate instead (marked `estimated` each), which a deep verify does not compare.
   */
  rowCounts: 'exact' | 'estimated';
  /** `dump`: the counts were taken in pg_dump's own snapshot; otherwise beside it (rows written meanwhile differ). */
  rowCountsSnapshot?: 'dump';
  tables: { schema: string; name: string; rows: number; estimated?: true }[];
  /** Roles and extensions the dump refers to, where known. */
  roles?: string[];
  extensions?: string[];
  /** Every verification of this file, oldest first. */
  verifications?: Verification[];
}

/**
 * Beside a base backup (`pg_basebackup` of a whole cluster, for point-in-time recovery): kind `base`, the
 * WAL it starts and ends at, and when it became consistent.
 */
export interface BaseBackupManifest extends ManifestCommon {
  kind: 'base';
  /** The cluster's pg_control system identifier: WAL of another cluster cannot be replayed on it. */
  systemIdentifier: string;
  timeline: number;
  startLsn: string;
  endLsn: string;
  walSegmentBytes: number;
  /** The WAL segments from start to end: inside the tar (`-X fetch`), and the first the recovery replays. */
  walFiles: string[];
  /** The archive folder in the container when it was taken (for messages). */
  archiveDir?: string;
  format: 'tar';
  /** The server's time once the backup had ended: the earliest point a recovery from it can reach. */
  consistentAt: string;
}

export type AnyManifest = BackupManifest | BaseBackupManifest;

/** A base backup's manifest as written since base backups exist; undefined for anything else. */
export function asBaseManifest(raw: unknown): BaseBackupManifest | undefined {
  const b = raw as BaseBackupManifest | null;
  const ok = !!b && typeof b === 'object' && b.manifestVersion === 2 && b.kind === 'base' && typeof b.endLsn === 'string' && typeof b.consistentAt === 'string' && Array.isArray(b.stages) && Array.isArray(b.walFiles);
  return ok ? b : undefined;
}

/** The version-1 manifest: gzip was the only codec (plain: pg_dump -Z in the container; custom: inside the archive). */
interface ManifestV1 extends Omit<BackupManifest, 'manifestVersion' | 'stages' | 'archiveCompression'> {
  manifestVersion: 1;
  compression: { algorithm: 'gzip'; level: number };
}

/** Reads a dump's manifest of any known version as version 2; undefined for anything else (a base backup's too). */
export function upgradeManifest(raw: unknown): BackupManifest | undefined {
  const m = raw as (BackupManifest | ManifestV1 | null | undefined);
  if (!m || typeof m !== 'object' || (m as { kind?: string }).kind === 'base') return undefined;
  if (m.manifestVersion === 2 && Array.isArray(m.stages)) return m;
  if (m.manifestVersion === 1) {
    const { compression, manifestVersion: _v, ...rest } = m;
    return {
      ...rest,
      manifestVersion: 2,
      stages: m.format === 'sql' ? [{ kind: 'compress', algorithm: 'gzip', level: compression.level, where: 'container' }] : [],
      archiveCompression: m.format === 'custom' ? { algorithm: 'gzip', level: compression.level } : undefined,
    };
  }
  return undefined;
}

/** fs.readFile with a callback: about twice as fast as fs/promises' for thousands of small files (listing, prune). */
const readFileFast = promisify(readFile);

/** A base backup's manifest (`<file>.json`), or undefined when there is none or it is not one. */
export async function readBaseManifest(backupPath: string): Promise<BaseBackupManifest | undefined> {
  try {
    return asBaseManifest(JSON.parse(await readFileFast(backupPath + MANIFEST_SUFFIX, 'utf8')));
  } catch {
    return undefined;
  }
}

export async function readManifest(backupPath: string): Promise<BackupManifest | undefined> {
  try {
    return upgradeManifest(JSON.parse(await readFileFast(backupPath + MANIFEST_SUFFIX, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The newest verification, if any. */
export function lastVerification(m: BackupManifest | undefined): Verification | undefined {
  const v = m?.verifications;
  return v && v.length ? v[v.length - 1] : undefined;
}

/** How the stored bytes were made, in words: `gzip level 1`, `custom archive (gzip level 1)`, `zstd 3, then age`. */
export function describeEncoding(m: Pick<BackupManifest, 'stages' | 'archiveCompression'>): string {
  const parts = m.stages.map((s) => (s.kind === 'encrypt' ? `${s.algorithm} encryption` : `${s.algorithm}${s.level !== undefined ? ` level ${s.level}` : ''}`));
  if (m.archiveCompression) parts.unshift(`archive ${m.archiveCompression.algorithm}${m.archiveCompression.level !== undefined ? ` level ${m.archiveCompression.level}` : ''}`);
  return parts.length ? parts.join(', then ') : 'uncompressed';
}
