import { PgBackupError } from '../errors';
import { quoteIdent, quoteLiteral, tableMatchesPatterns } from '../postgres/sql';
import type { ArchiveToc, TocEntry } from './toc';

/**
 * Selective restore, the pure part: which entries of an archive's table of contents a `--table/--schema`
 * selection restores, and the SQL around a replace of those tables in a live database.
 */

export interface TableRef {
  schema: string;
  name: string;
}

export interface Selection {
  /** The selected tables, in the archive's order. */
  tables: TableRef[];
  /** Every entry a restore into a new database runs (tables, data, indexes, constraints, sequences, defaults, comments, grants and what they need), in the archive's order. */
  listIds: number[];
  /** What a replace in the live database loads: the tables' data and their sequences' positions. */
  dataIds: number[];
  /** Sequences brought along (owned by or used by the tables). */
  sequences: TableRef[];
  /** What was left out and why (a foreign key to a table that is not restored), one sentence each. */
  leftOut: string[];
}

/** Entries that belong to a table (or to what belongs to it): restored when what they depend on is. */
const ATTACHED = new Set([
  'TABLE DATA', 'INDEX', 'INDEX ATTACH', 'CONSTRAINT', 'CHECK CONSTRAINT', 'FK CONSTRAINT', 'DEFAULT', 'TRIGGER', 'RULE', 'POLICY',
  'ROW SECURITY', 'COMMENT', 'ACL', 'SECURITY LABEL', 'SEQUENCE', 'SEQUENCE OWNED BY', 'SEQUENCE SET', 'STATISTICS', 'STATISTICS DATA',
]);
/** What a table (or a default, or a sequence) may need that is brought along: its schema, types, functions, extensions. */
const PULLED = new Set(['SCHEMA', 'TYPE', 'DOMAIN', 'SHELL TYPE', 'FUNCTION', 'EXTENSION', 'COLLATION', 'SEQUENCE']);
/** Session set-up entries pg_restore runs first. */
const SETUP = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH']);

/** A pattern in messages, as typed. */
const said = (p: string) => `"${p}"`;

/**
 * Resolves `--table` / `--schema` patterns (pg_dump's rules: src/core/postgres/sql.ts) against the archive:
 * the union of the tables any pattern matches. A pattern that matches no table is refused, naming it.
 */
export function selectTables(toc: ArchiveToc, tables: readonly string[], schemas: readonly string[], fileName: string): TocEntry[] {
  const candidates = toc.entries.filter((e) => e.desc === 'TABLE');
  const unmatched = [
    ...tables.filter((p) => !candidates.some((e) => tableMatchesPatterns(e.namespace, e.tag, [p], []))).map((p) => `--table ${said(p)}`),
    ...schemas.filter((p) => !candidates.some((e) => tableMatchesPatterns(e.namespace, e.tag, [], [p]))).map((p) => `--schema ${said(p)}`),
  ];
  if (unmatched.length) {
    const some = candidates.slice(0, 8).map((e) => `${e.namespace}.${e.tag}`).join(', ');
    throw new PgBackupError(
      'refused',
      `${unmatched.join(' and ')} ${unmatched.length > 1 ? 'match' : 'matches'} no table in ${fileName} (it has ${candidates.length} table${candidates.length === 1 ? '' : 's'}${some ? `: ${some}${candidates.length > 8 ? ', …' : ''}` : ''}). Nothing was changed.`,
    );
  }
  return candidates.filter((e) => tables.some((p) => tableMatchesPatterns(e.namespace, e.tag, [p], [])) || schemas.some((p) => tableMatchesPatterns(e.namespace, e.tag, [], [p])));
}

/** The entries to restore for the selected tables: see `Selection`. */
export function resolveSelection(toc: ArchiveToc, selected: readonly TocEntry[]): Selection {
  const byId = new Map(toc.entries.map((e) => [e.id, e]));
  const included = new Set<number>();
  const pull = (id: number) => {
    if (included.has(id)) return;
    included.add(id);
    for (const d of byId.get(id)?.deps ?? []) if (byId.has(d) && PULLED.has(byId.get(d)!.desc)) pull(d);
  };
  for (const t of selected) pull(t.id);
  const blocked = new Map<number, TocEntry>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of toc.entries) {
      if (included.has(e.id) || !ATTACHED.has(e.desc) || !e.deps.some((d) => included.has(d))) continue;
      const missing = e.deps.filter((d) => !included.has(d) && byId.has(d));
      if (missing.every((d) => PULLED.has(byId.get(d)!.desc))) {
        pull(e.id);
        blocked.delete(e.id);
        changed = true;
      } else blocked.set(e.id, e);
    }
  }
  const tableIds = new Set(selected.map((t) => t.id));
  const leftOut = [...blocked.values()]
    // Only what belongs to a selected table (another table's foreign key to one of them is not wanted anyway).
    .filter((e) => ['FK CONSTRAINT', 'TRIGGER', 'RULE', 'POLICY'].includes(e.desc) && selected.some((t) => t.namespace === e.namespace && e.tag.startsWith(`${t.tag} `)))
    .map((e) => {
      const others = e.deps.map((d) => byId.get(d)!).filter((d) => d && d.desc === 'TABLE' && !tableIds.has(d.id));
      return `${e.desc === 'FK CONSTRAINT' ? 'foreign key' : e.desc.toLowerCase()} ${e.tag.split(' ').slice(1).join(' ') || e.tag} of ${e.namespace}.${e.tag.split(' ')[0]} (it needs ${others.length ? others.map((o) => `${o.namespace}.${o.tag}`).join(', ') : 'objects'} that ${others.length > 1 ? 'are' : 'is'} not restored)`;
    });
  const entries = toc.entries.filter((e) => included.has(e.id) || SETUP.has(e.desc));
  const sequences = entries.filter((e) => e.desc === 'SEQUENCE');
  const seqIds = new Set(sequences.map((s) => s.id));
  return {
    tables: selected.map((t) => ({ schema: t.namespace, name: t.tag })),
    listIds: entries.map((e) => e.id),
    dataIds: toc.entries.filter((e) => SETUP.has(e.desc) || (e.desc === 'TABLE DATA' && included.has(e.id) && e.deps.some((d) => tableIds.has(d))) || (e.desc === 'SEQUENCE SET' && e.deps.some((d) => seqIds.has(d)))).map((e) => e.id),
    sequences: sequences.map((s) => ({ schema: s.namespace, name: s.tag })),
    leftOut,
  };
}

/** The `pg_restore -L` list: one dump id per line (pg_restore reads only the leading number). */
export function restoreList(ids: readonly number[]): string {
  return ids.map((id) => `${id};`).join('\n') + '\n';
}

export const qualified = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
export const shown = (t: TableRef) => `${t.schema}.${t.name}`;

/** One foreign key of another table that points at a replaced table. */
export interface Referencing {
  constraint: string;
  table: string;
  references: string;
}

/**
 * A query in the live database: which selected tables it lacks, and which other tables' foreign keys
 * point at them.
 */
export function liveTablesSql(tables: readonly TableRef[]): string {
  const sel = tables.map((t) => `(${quoteLiteral(t.schema)}, ${quoteLiteral(t.name)})`).join(', ');
  return `WITH sel(s, t) AS (VALUES ${sel})
  SELECT json_build_object(
    'missing', (SELECT coalesce(json_agg(s || '.' || t), '[]') FROM sel WHERE NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = sel.s AND c.relname = sel.t AND c.relkind IN ('r', 'p'))),
    'referencing', (SELECT coalesce(json_agg(json_build_object('constraint', k.conname, 'table', cn.nspname || '.' || cr.relname, 'references', fn.nspname || '.' || fr.relname) ORDER BY 2, 1), '[]')
      FROM pg_constraint k
      JOIN pg_class cr ON cr.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cr.relnamespace
      JOIN pg_class fr ON fr.oid = k.confrelid JOIN pg_namespace fn ON fn.oid = fr.relnamespace
      WHERE k.contype = 'f' AND (fn.nspname, fr.relname) IN (SELECT s, t FROM sel) AND (cn.nspname, cr.relname) NOT IN (SELECT s, t FROM sel)))`;
}

/**
 * What runs before the archive's data: the one transaction begins (explicitly: should the input end early, no
 * COMMIT ever comes and the server rolls back), triggers off for this transaction only
 * (so that no ON DELETE CASCADE reaches another table; foreign keys are checked at the end instead), the
 * tables locked against writers, and their rows deleted (not TRUNCATE … CASCADE, which would empty the
 * tables that reference them).
 */
export function replacePreamble(tables: readonly TableRef[]): string {
  return [
    'BEGIN;',
    'SET LOCAL session_replication_role = replica;',
    `LOCK TABLE ${tables.map(qualified).join(', ')} IN EXCLUSIVE MODE;`,
    ...tables.map((t) => `DELETE FROM ${qualified(t)};`),
    '',
  ].join('\n');
}

/**
 * What runs after the data: triggers back on, then every foreign key from or to a replaced table is checked;
 * a row left pointing at a missing row raises an error naming the constraint, and the transaction rolls back.
 */
export function replacePostamble(tables: readonly TableRef[]): string {
  const oids = `ARRAY[${tables.map((t) => `${quoteLiteral(qualified(t))}::regclass`).join(', ')}]::oid[]`;
  return `
SET LOCAL session_replication_role = origin;
DO $pgdb$
DECLARE k record; bad boolean;
BEGIN
  FOR k IN
    SELECT c.conname, c.conrelid::regclass AS child, c.confrelid::regclass AS parent,
      (SELECT string_agg(format('x.%I = y.%I', a.attname, b.attname), ' AND ') FROM unnest(c.conkey, c.confkey) AS u(ck, pk)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.ck JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = u.pk) AS eq,
      (SELECT string_agg(format('x.%I IS NOT NULL', a.attname), ' AND ') FROM unnest(c.conkey) AS u(ck)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.ck) AS present
    FROM pg_constraint c WHERE c.contype = 'f' AND (c.conrelid = ANY (${oids}) OR c.confrelid = ANY (${oids}))
  LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s x WHERE %s AND NOT EXISTS (SELECT 1 FROM %s y WHERE %s))', k.child, k.present, k.parent, k.eq) INTO bad;
    IF bad THEN
      RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
        MESSAGE = format('rows of %s would point at rows of %s that are not there (foreign key constraint "%s")', k.child, k.parent, k.conname);
    END IF;
  END LOOP;
END
$pgdb$;
COMMIT;
`;
}
