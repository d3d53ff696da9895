import type { Verification as VerificationRecord } from '../backup/manifest';
import { sideDatabaseKind } from '../databases/sideDatabases';
import type { BackupEntry } from '../store/backupStore';

export interface Verification {
  state: 'verified' | 'failed' | 'never';
  at?: string;
  kind?: 'quick' | 'deep';
  detail?: string;
}

export interface NewestBackup {
  path: string;
  created: Date;
  ageMs: number;
  format: string;
  verification: Verification;
}

export interface DatabaseFreshness {
  /** null: a runbook file whose container is not known. */
  container: string | null;
  database: string | null;
  /** The database exists now in a running container. */
  live: boolean;
  backups: number;
  newest?: NewestBackup;
  /** No backup, or the newest is older than the allowed age. */
  stale: boolean;
}

export interface LiveContainer {
  name: string;
  running: boolean;
  databases?: readonly { name: string }[];
}

/** The latest verification of a backup, from its manifest (missing: never verified). */
export function verificationOf(entry: BackupEntry): Verification {
  const list: unknown = entry.manifest?.verifications;
  if (!Array.isArray(list)) return { state: 'never' };
  // the newest by time (a manifest edited by hand or merged may not be in order); malformed entries are skipped
  const valid = (list as VerificationRecord[]).filter((v) => v && typeof v.at === 'string' && typeof v.ok === 'boolean' && !Number.isNaN(Date.parse(v.at)));
  if (valid.length === 0) return { state: 'never' };
  const last = valid.reduce((a, b) => (Date.parse(b.at) >= Date.parse(a.at) ? b : a));
  return { state: last.ok ? 'verified' : 'failed', at: last.at, kind: last.kind, detail: last.detail };
}

/**
 * Freshness of every database of the running containers plus every container/database that has backups,
 * optionally limited to some containers. Pure: the caller discovers and lists.
 */
export function assessFreshness(input: {
  containers: readonly LiveContainer[];
  backups: readonly BackupEntry[];
  now: Date;
  maxAgeMs: number;
  only?: readonly string[];
}): DatabaseFreshness[] {
  const wanted = (c: string | null) => !input.only?.length || (c !== null && input.only.includes(c));
  const rows = new Map<string, DatabaseFreshness>();
  const key = (c: string | null, d: string | null) => JSON.stringify([c, d]);
  for (const c of input.containers) {
    if (!c.running || !wanted(c.name)) continue;
    for (const db of c.databases ?? []) {
      if (sideDatabaseKind(db.name)) continue;
      rows.set(key(c.name, db.name), { container: c.name, database: db.name, live: true, backups: 0, stale: true });
    }
  }
  // listBackups gives newest first: the first one seen per database is its newest
  for (const b of input.backups) {
    const container = b.container ?? null;
    const database = b.database ?? null;
    if (!wanted(container)) continue;
    const k = key(container, database);
    let row = rows.get(k);
    if (!row) {
      row = { container, database, live: false, backups: 0, stale: true };
      rows.set(k, row);
    }
    row.backups++;
    if (!row.newest || b.created > row.newest.created) {
      row.newest = { path: b.path, created: b.created, ageMs: input.now.getTime() - b.created.getTime(), format: b.format, verification: verificationOf(b) };
    }
  }
  for (const row of rows.values()) row.stale = !row.newest || row.newest.ageMs > input.maxAgeMs;
  return [...rows.values()].sort((a, b) => (a.container ?? '~').localeCompare(b.container ?? '~') || (a.database ?? '~').localeCompare(b.database ?? '~'));
}
