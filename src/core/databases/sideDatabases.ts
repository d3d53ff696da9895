import { createHash } from 'node:crypto';
import { parseTimestamp, timestamp } from '../store/naming';

/** Postgres truncates identifiers to NAMEDATALEN-1 = 63 bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * The part of a database name that prefixes its scratch/previous databases. When `<db><suffix>` would
 * pass 63 bytes, the name is cut and a short hash of the whole name keeps two long names apart.
 */
export function databaseStem(database: string, suffixBytes: number): string {
  if (Buffer.byteLength(database) + suffixBytes <= MAX_IDENTIFIER_BYTES) return database;
  const hash = createHash('sha256').update(database).digest('hex').slice(0, 6);
  return `${truncateUtf8(database, MAX_IDENTIFIER_BYTES - suffixBytes - 7)}~${hash}`;
}

/** `verify`: the throwaway database a deep verify restores into (dropped again whatever happens). */
export type SideDatabaseKind = 'restoring' | 'before_restore' | 'verify';
const SUFFIX_BYTES = Buffer.byteLength('__before_restore_20260101_000000');

/** `<db>__restoring_<ts>` / `<db>__before_restore_<ts>` / `<db>__verify_<ts>`, always within 63 bytes. */
export function sideDatabaseName(database: string, kind: SideDatabaseKind, at: Date): string {
  return `${databaseStem(database, SUFFIX_BYTES)}__${kind}_${timestamp(at)}`;
}

/** Recognises a side database of `database` and returns its kind and time. */
export function parseSideDatabaseName(
  database: string,
  candidate: string,
): { kind: SideDatabaseKind; at: Date } | undefined {
  const stem = databaseStem(database, SUFFIX_BYTES);
  for (const kind of ['restoring', 'before_restore', 'verify'] as const) {
    const prefix = `${stem}__${kind}_`;
    if (candidate.startsWith(prefix)) {
      const at = parseTimestamp(candidate.slice(prefix.length));
      if (at) return { kind, at };
    }
  }
  return undefined;
}

/** Whether a database name is one of our scratch or kept-for-undo databases (of any database). */
export function sideDatabaseKind(candidate: string): SideDatabaseKind | undefined {
  const m = /__(restoring|before_restore|verify)_\d{8}_\d{6}$/.exec(candidate);
  return m ? (m[1] as SideDatabaseKind) : undefined;
}
