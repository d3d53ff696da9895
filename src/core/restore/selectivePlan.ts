import { PgBackupError } from '../errors';
import { resolveSelection, selectTables, shown, type Referencing, type TableRef } from './selective';
import type { ArchiveToc } from './toc';

/** A selective restore in a plan (JSON-safe). */
export interface SelectionPlan {
  /** `new-database`: the tables go into a new database (scratch and rename); `replace`: their rows are replaced in the live one, in one transaction. */
  mode: 'new-database' | 'replace';
  tables: string[];
  /** Their row counts from the manifest, where it has them. */
  rows: Record<string, number>;
  sequences: string[];
  /** Dump ids for `pg_restore -L`. */
  listIds: number[];
  /** Foreign keys, triggers… left out of a new database because they need tables that are not restored. */
  leftOut: string[];
  /** Replace: other tables of the live database whose foreign keys point at the replaced ones. */
  referencing: Referencing[];
  /** The selected tables, unquoted parts. */
  refs: TableRef[];
}

export interface SelectionFacts {
  fileName: string;
  format: 'sql' | 'custom' | 'directory';
  toc?: ArchiveToc;
  /** Why the TOC could not be read. */
  tocError?: string;
  database: string;
  liveExists: boolean;
  /** Replace: the live database's answer to liveTablesSql. */
  live?: { missing: string[]; referencing: Referencing[] };
  manifestTables?: { schema: string; name: string; rows: number }[];
}

export interface SelectionRequest {
  tables?: string[];
  schemas?: string[];
  replaceTables?: boolean;
}

export function isSelective(r: SelectionRequest): boolean {
  return (r.tables?.length ?? 0) + (r.schemas?.length ?? 0) > 0;
}

/** The pure decision for `--table/--schema` (undefined for a whole restore), refusing what cannot work. */
export function decideSelection(f: SelectionFacts, r: SelectionRequest): SelectionPlan | undefined {
  if (!isSelective(r)) {
    if (r.replaceTables) throw new PgBackupError('usage', '--replace-tables needs the tables to replace (--table T or --schema S).');
    return undefined;
  }
  if (f.format === 'sql') {
    throw new PgBackupError('refused', `${f.fileName} is a plain SQL dump: tables can only be picked from a custom or directory-format backup (backup --format custom). Restore it whole into a new database instead. Nothing was changed.`);
  }
  if (!f.toc) throw new PgBackupError('refused', `Cannot pick tables from ${f.fileName}: ${f.tocError ?? 'its table of contents could not be read'}. Nothing was changed.`);
  const selected = selectTables(f.toc, r.tables ?? [], r.schemas ?? [], f.fileName);
  const sel = resolveSelection(f.toc, selected);
  const names = sel.tables.map(shown);
  const rows: Record<string, number> = {};
  for (const t of f.manifestTables ?? []) if (names.includes(`${t.schema}.${t.name}`)) rows[`${t.schema}.${t.name}`] = t.rows;
  const base = { tables: names, rows, sequences: sel.sequences.map(shown), refs: sel.tables };
  if (r.replaceTables) {
    if (!f.liveExists) throw new PgBackupError('refused', `There is no database "${f.database}" whose tables could be replaced: restore the tables into a new database instead (without --replace-tables). Nothing was changed.`);
    const missing = f.live?.missing ?? [];
    if (missing.length) {
      throw new PgBackupError('refused', `"${f.database}" has no table ${missing.join(', ')} to replace (only existing tables are replaced, their definitions kept): restore into a new database instead. Nothing was changed.`);
    }
    return { mode: 'replace', ...base, listIds: sel.dataIds, leftOut: [], referencing: f.live?.referencing ?? [] };
  }
  if (f.liveExists) {
    throw new PgBackupError(
      'refused',
      `"${f.database}" exists: restoring only ${names.join(', ')} over it would replace the whole database with just those tables. ` +
        `Restore them into a new database (--database NEW_NAME), or replace their rows in "${f.database}" with --replace-tables. Nothing was changed.`,
    );
  }
  return { mode: 'new-database', ...base, listIds: sel.listIds, leftOut: sel.leftOut, referencing: [] };
}

/** The steps of a replace in the live database, in order. */
export function replaceSteps(p: { selection: SelectionPlan; database: string; backup: { fileName: string }; container: { name: string } }): string[] {
  const s = p.selection;
  const with_ = (t: string) => (s.rows[t] !== undefined ? `${t} (${s.rows[t]} rows in the backup)` : t);
  return [
    `Replace the rows of ${s.tables.map(with_).join(', ')} in "${p.database}" in ${p.container.name} with those in ${p.backup.fileName}, in ONE transaction: ` +
      `lock them against writes, delete their rows (no TRUNCATE … CASCADE, triggers off for this transaction so nothing cascades), load the backup's rows${s.sequences.length ? `, set ${s.sequences.join(', ')}` : ''}.`,
    s.referencing.length
      ? `Tables that reference them: ${s.referencing.map((r) => `${r.table} (${r.constraint} → ${r.references})`).join(', ')}; they are not touched, and if any of their rows would point at a missing row the transaction rolls back naming the constraint.`
      : 'No other table references them.',
    'Every foreign key from or to these tables is checked before the commit; any failure rolls everything back (nothing changed).',
    'Every other table is untouched; the table definitions, indexes and grants in the live database are kept. App containers keep running. There is no undo: back the tables up first if you may want them back.',
  ];
}
