import type { DockerClient } from '../docker/client';
import { PgBackupError } from '../errors';
import { dbConninfo, queryJson, type PgTarget } from '../postgres/client';
import type { BackupFormat } from '../store/naming';

/**
 * gzip level 1 by default: on a busy two-core machine pg_dump's compression competes with the server for
 * CPU, and level 1 costs a third of level 6 for files about 15% larger (numbers in bench/ and README).
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;
/**
 * Databases up to this size get exact row counts (count(*) in pg_dump's own snapshot, while pg_dump runs);
 * larger ones the planner's estimate, recorded as such. No limit by default: the count runs beside pg_dump,
 * on one core at a lower priority, in the same snapshot (its cost is measured by bench/verify.ts).
 */
export const EXACT_ROW_COUNT_LIMIT_BYTES = Number.POSITIVE_INFINITY;

export function pgDumpArgv(
  target: Pick<PgTarget, 'user'>,
  database: string,
  o: { format: BackupFormat; compressionLevel: number; compression?: Compression; tables?: string[]; schemas?: string[]; noOwner?: boolean; encoding?: string; jobs?: number; snapshot?: string },
): string[] {
  const argv = ['pg_dump', '-w', '-U', target.user, '-d', dbConninfo(database)];
  if (o.snapshot) argv.push(`--snapshot=${o.snapshot}`);
  argv.push(o.format === 'custom' ? '-Fc' : o.format === 'directory' ? '-Fd' : '-Fp', o.compression ? compressArg(o.compression) : `-Z${o.compressionLevel}`);
  // the directory format's folder (-f) is added by the caller, which makes it in the container
  if (o.format === 'directory') argv.push('-j', String(o.jobs ?? 1));
  if (o.encoding) argv.push('-E', o.encoding);
  for (const t of o.tables ?? []) argv.push('-t', t);
  for (const s of o.schemas ?? []) argv.push('-n', s);
  if ((o.tables?.length ?? 0) + (o.schemas?.length ?? 0) > 0) argv.push('--strict-names');
  if (o.noOwner) argv.push('-O');
  return argv;
}

export function validateCompressionLevel(format: BackupFormat, level: number): void {
  const min = format === 'sql' ? 1 : 0;
  if (!Number.isInteger(level) || level < min || level > 9) {
    throw new PgBackupError('usage', `The compression level must be a whole number from ${min} to 9 for the ${format} format (got ${level}).`);
  }
}

export interface TableCount {
  schema: string;
  name: string;
  rows: number;
  /** The planner's estimate (not counted): a deep verify does not compare it. */
  estimated?: true;
}

/** Every ordinary table's row count: exact (count(*)) or the planner's estimate. */
export async function tableRowCounts(docker: DockerClient, target: PgTarget, database: string, exact: boolean, signal?: AbortSignal): Promise<TableCount[]> {
  const rows = exact
    ? `(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint`
    : `greatest(c.reltuples, 0)::bigint`;
  const sql = `SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname, 'rows', ${rows}) ORDER BY n.nspname, c.relname), '[]')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
  const counted = await queryJson<TableCount[]>(docker, target, database, sql, 'counting rows', signal);
  return exact ? counted : counted.map((t) => ({ ...t, estimated: true }));
}

/** How pg_dump compresses: gzip (any version), zstd and lz4 (pg_dump 16 and later), or not at all. */
export interface Compression {
  codec: 'gzip' | 'zstd' | 'lz4' | 'none';
  level?: number;
}

const LEVELS: Record<Compression['codec'], [number, number]> = { gzip: [1, 9], zstd: [1, 22], lz4: [1, 12], none: [0, 0] };

/** Parses `--compression`: `N` (gzip level), `gzip:N`, `zstd[:N]`, `lz4[:N]` or `none`. */
export function parseCompression(text: string): Compression {
  const m = /^(?:(gzip|zstd|lz4|none)(?::(\d+))?|(\d+))$/.exec(text.trim().toLowerCase());
  if (!m) throw new PgBackupError('usage', `--compression takes N (a gzip level), gzip:N, zstd[:N], lz4[:N] or none (got ${text}).`);
  if (m[3] !== undefined) return Number(m[3]) === 0 ? { codec: 'none' } : { codec: 'gzip', level: Number(m[3]) };
  const codec = m[1] as Compression['codec'];
  if (codec === 'none' && m[2] !== undefined) throw new PgBackupError('usage', '--compression none takes no level.');
  const level = m[2] !== undefined ? Number(m[2]) : undefined;
  const [lo, hi] = LEVELS[codec];
  if (level !== undefined && (level < lo || level > hi)) throw new PgBackupError('usage', `The ${codec} level must be from ${lo} to ${hi} (got ${level}).`);
  return { codec, level };
}

/** The first pg_dump major with this codec (gzip: every one). */
export function codecSinceMajor(codec: Compression['codec']): number {
  return codec === 'zstd' || codec === 'lz4' ? 16 : 0;
}

/** pg_dump's -Z value: `-Z1` for gzip levels (as every version takes), `-Zzstd:3`, `-Zlz4`, `-Z0`. */
export function compressArg(c: Compression): string {
  if (c.codec === 'none') return '-Z0';
  if (c.codec === 'gzip') return `-Z${c.level ?? DEFAULT_COMPRESSION_LEVEL}`;
  return `-Z${c.codec}${c.level !== undefined ? `:${c.level}` : ''}`;
}
