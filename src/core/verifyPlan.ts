import type { BackupManifest, Verification } from './backup/manifest';

/** A running (or not) Postgres container as far as picking one for a check goes. */
export interface VerifyCandidate {
  name: string;
  running: boolean;
  /** The server's major version (its pg_restore's), when known. */
  major?: number;
}

/**
 * The container a check runs in, or why there is none. `wanted` (--to) is taken as it is when it runs and
 * is new enough; else the backup's own container when it runs and is at least the dump's major; else a
 * running one of the preferred major (deep: the backup's server), else the lowest major at least the dump's.
 */
export function chooseVerifyContainer(
  candidates: readonly VerifyCandidate[],
  want: { wanted?: string; own?: string; dumpMajor?: number; preferMajor?: number },
): { name: string } | { problem: string } {
  const fits = (c: VerifyCandidate) => c.running && c.major !== undefined && (want.dumpMajor === undefined || c.major >= want.dumpMajor);
  const needs = want.dumpMajor !== undefined ? `PostgreSQL ${want.dumpMajor} or newer` : 'PostgreSQL';
  if (want.wanted) {
    const c = candidates.find((x) => x.name === want.wanted);
    if (!c) return { problem: `there is no Postgres container named ${want.wanted}` };
    if (!c.running) return { problem: `${want.wanted} is not running (start it with \`docker start ${want.wanted}\`)` };
    if (!fits(c)) return { problem: `${want.wanted} runs PostgreSQL ${c.major ?? '(unknown version)'}, the dump needs ${needs}` };
    return { name: c.name };
  }
  const own = candidates.find((c) => c.name === want.own);
  if (own && fits(own)) return { name: own.name };
  const usable = candidates.filter(fits).sort((a, b) => a.major! - b.major! || a.name.localeCompare(b.name));
  const preferred = usable.find((c) => c.major === want.preferMajor);
  const pick = preferred ?? usable[0];
  if (pick) return { name: pick.name };
  return { problem: `no running Postgres container has ${needs} to check it in: start one, or name one with --to CONTAINER` };
}

export interface RowCountComparison {
  /** Tables whose restored count equals the manifest's exact count. */
  matched: number;
  mismatched: { table: string; expected: number; restored: number | undefined }[];
  /** Tables whose manifest count is an estimate (or that have no manifest at all): not compared. */
  notCompared: string[];
}

/** Compares every table of the manifest with what the restore holds; estimates are not compared. */
export function compareRowCounts(
  manifestTables: BackupManifest['tables'] | undefined,
  restored: readonly { schema: string; name: string; rows: number }[],
): RowCountComparison {
  const out: RowCountComparison = { matched: 0, mismatched: [], notCompared: [] };
  const have = new Map(restored.map((t) => [`${t.schema}.${t.name}`, Number(t.rows)]));
  for (const t of manifestTables ?? []) {
    const key = `${t.schema}.${t.name}`;
    if (t.estimated) {
      out.notCompared.push(key);
      continue;
    }
    const got = have.get(key);
    if (got === Number(t.rows)) out.matched++;
    else out.mismatched.push({ table: key, expected: Number(t.rows), restored: got });
  }
  return out;
}

/** The comparison in one sentence. */
export function describeComparison(c: RowCountComparison, haveManifest: boolean): string {
  if (!haveManifest) return 'no manifest: row counts not compared';
  const parts = [`${c.matched} table${c.matched === 1 ? '' : 's'} with the manifest's row count`];
  if (c.mismatched.length) {
    const shown = c.mismatched.slice(0, 5).map((m) => `${m.table} has ${m.restored === undefined ? 'no table' : `${m.restored} rows`}, the manifest says ${m.expected}`);
    parts.push(`${c.mismatched.length} differ (${shown.join('; ')}${c.mismatched.length > 5 ? '; …' : ''})`);
  }
  if (c.notCompared.length) parts.push(`${c.notCompared.length} not compared (estimated counts in the manifest)`);
  return parts.join(', ');
}

/** The manifest's JSON with one more verification (unknown fields kept as they are). */
export function withVerification(raw: Record<string, unknown>, v: Verification, keep = 50): Record<string, unknown> {
  const list = Array.isArray(raw.verifications) ? (raw.verifications as unknown[]) : [];
  return { ...raw, verifications: [...list, v].slice(-keep) };
}
