/** `YYYYMMDD_HHMMSS` in UTC: sortable, and unambiguous across time zones and DST changes. */
export function timestamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}_` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`
  );
}

/**
 * Parses `YYYYMMDD_HHMMSS` back to a Date, or undefined: as UTC (our names), or as this machine's local
 * time (`local`: a runbook name, written by `date +%Y%m%d_%H%M%S`).
 */
export function parseTimestamp(text: string, zone: 'utc' | 'local' = 'utc'): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const date = zone === 'utc' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A container or database name as one path segment, reversibly: characters that are unsafe in file
 * names on any platform (and `%`) become %XX; Unicode letters, spaces and the rest stay readable.
 */
export function encodePathSegment(name: string): string {
  let out = '';
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || '/\\:*?"<>|%'.includes(ch)) {
      out += [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    } else {
      out += ch;
    }
  }
  if (out === '.' || out === '..') out = out.replace(/\./g, '%2E');
  if (out.endsWith('.') || out.endsWith(' ')) out = out.slice(0, -1) + (out.endsWith('.') ? '%2E' : '%20');
  return out;
}

export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
  } catch {
    return segment;
  }
}

/** `sql` plain script, `custom` pg_dump -Fc archive, `directory` pg_dump -Fd folder stored as one tar. */
export type BackupFormat = 'sql' | 'custom' | 'directory';

/** The file name suffix of a format, before any stage's own (`.gz`, `.zst`, `.age`). */
export function formatExtension(format: BackupFormat): string {
  return format === 'sql' ? '.sql' : format === 'directory' ? '.dir.tar' : '.dump';
}

/** The suffix of a backup in the default encoding: a gzipped plain dump (`.sql.gz`), a custom archive (`.dump`), a directory dump's tar (`.dir.tar`). */
export function backupExtension(format: BackupFormat): string {
  return format === 'sql' ? '.sql.gz' : formatExtension(format);
}

/**
 * `<database>_<YYYYMMDD_HHMMSS>.<ext>`; `attempt` > 1 adds `_2`, `_3` for two backups in one second. `ext` is a
 * format (its default suffix) or a whole suffix such as `.sql.zst.age`.
 */
export function backupFileName(database: string, ext: BackupFormat | `.${string}`, at: Date, attempt = 1): string {
  const stem = encodePathSegment(database);
  return `${stem}_${timestamp(at)}${attempt > 1 ? `_${attempt}` : ''}${ext.startsWith('.') ? ext : backupExtension(ext as BackupFormat)}`;
}

/** Backup file suffixes: a format, then compression, then encryption (`.sql`, `.sql.gz`, `.dump.zst.age`…). */
const BACKUP_SUFFIX = String.raw`\.(?:sql|dump|dir\.tar)(?:\.(?:gz|zst|lz4))?(?:\.age)?`;

/** Reads `<db>_<YYYYMMDD_HHMMSS>` back from a file name (any known extension), when it has one; `zone` as parseTimestamp. */
export function parseBackupFileName(fileName: string, zone: 'utc' | 'local' = 'utc'): { database: string; at: Date } | undefined {
  const m = new RegExp(String.raw`^(.*)_(\d{8}_\d{6})(?:_\d+)?${BACKUP_SUFFIX}$`).exec(fileName);
  if (!m) return undefined;
  const at = parseTimestamp(m[2], zone);
  return at ? { database: decodePathSegment(m[1]), at } : undefined;
}

/**
 * Whether a file name is one this tool writes for the database folder it sits in: exactly
 * `<encoded database>_<YYYYMMDD_HHMMSS>[_N].<suffix>` in DIR/<container>/<database>/ (so its time is UTC).
 * Anything else (a runbook `backup_…sql` or `benchmark_…dump.gz` elsewhere, or a name for another
 * database) was named by someone else, by `date` in local time.
 */
export function isToolBackupName(fileName: string, databaseFolder: string): boolean {
  const m = new RegExp(String.raw`^(.*)_\d{8}_\d{6}(?:_\d+)?${BACKUP_SUFFIX}$`).exec(fileName);
  return !!m && m[1] === databaseFolder;
}

export const BACKUP_FILE_PATTERN = new RegExp(`${BACKUP_SUFFIX}$`);
export const MANIFEST_SUFFIX = '.json';
export const PARTIAL_SUFFIX = '.partial';
