import { PgBackupError } from '../errors';
import { dbConninfo, type ServerInfo } from '../postgres/client';
import { exactPattern } from '../postgres/sql';
import type { FromContainerPlan } from './fromContainer';
import { resolveSelection, selectTables, type Referencing, type TableRef } from './selective';
import { decideSelection, replaceSteps, type SelectionPlan, type SelectionRequest } from './selectivePlan';
import type { ArchiveToc } from './toc';

/**
 * `copy`, the pure part: a database (or some of its tables) from one container into another, maybe on
 * another Docker engine. A whole database goes through the scratch-and-swap of every restore
 * (FromContainerPlan); selected tables have their rows replaced in the existing target database in one
 * transaction (the selective restore's replace). Older to newer only: newer to older is refused here,
 * before anything changes.
 */

/** One end of a copy, as shown in plans and messages. */
export interface CopyEnd {
  container: { id: string; name: string; protected: boolean };
  /** The Docker engine (its URL), named in messages when the two ends are on different engines. */
  host: string;
  database: string;
  server: ServerInfo;
}

export interface CopyPlan {
  mode: 'database' | 'tables';
  source: CopyEnd;
  target: CopyEnd;
  /** The ends are on different Docker engines. */
  crossEngine: boolean;
  /** A whole database: the scratch-and-swap plan in the target. */
  whole?: FromContainerPlan;
  /** Tables: which are replaced and which other tables reference them. */
  selection?: SelectionPlan;
  /** Tables: what pg_dump dumps in the source (the tables and the sequences they use), exact names. */
  dumpObjects?: TableRef[];
  /** A whole database: the roles its objects name that the target lacks (left out with noOwner). */
  missingRoles: string[];
  /** A whole database: `pg_restore --no-owner --no-privileges`, the target's user owning everything. */
  noOwner: boolean;
  /** The plan in sentences, in order. */
  steps: string[];
}

/** `15.8 (Debian 15.8-1.pgdg120+1)` → `15.8`. */
const short = (s: ServerInfo) => s.version.split(' ')[0];

/** `"db" in src (PostgreSQL 15.8)` and, across engines, `on unix:///…`. */
export function describeEnd(end: CopyEnd, crossEngine: boolean): string {
  return `"${end.database}" in ${end.container.name} (PostgreSQL ${short(end.server)}${crossEngine ? ` on ${end.host}` : ''})`;
}

/**
 * What is refused whatever is copied (pure): a source database that does not exist, the copy of a database
 * onto itself, and a newer server into an older one (pg_restore cannot read a newer pg_dump's archive, and
 * what it makes may use what the older server lacks).
 */
export function refuseCopy(f: { source: CopyEnd; target: Omit<CopyEnd, 'server'> & { server?: ServerInfo }; sourceDatabases: readonly string[] }): void {
  const { source, target } = f;
  if (!f.sourceDatabases.includes(source.database)) {
    throw new PgBackupError('notFound', `There is no database "${source.database}" in ${source.container.name}; it has: ${f.sourceDatabases.join(', ') || 'none'}. Nothing was changed.`);
  }
  if (source.host === target.host && source.container.id === target.container.id && source.database === target.database) {
    throw new PgBackupError('usage', `"${source.database}" in ${source.container.name} is both the source and the target: name another target container or database (--to-database DB). Nothing was changed.`);
  }
  if (target.server && source.server.major > target.server.major) {
    throw new PgBackupError(
      'refused',
      `${source.container.name} runs PostgreSQL ${short(source.server)} and ${target.container.name} runs ${short(target.server)}: a copy only goes from an older server to a newer one (or the same major), ` +
        `since PostgreSQL ${target.server.major}'s pg_restore cannot read what pg_dump ${source.server.major} writes. Copy into a container of PostgreSQL ${source.server.major} or later instead. Nothing was changed.`,
    );
  }
}

/**
 * A whole copy into a server that lacks roles the source's objects are owned by (or granted to): refused
 * before anything changes, unless the target's user is to own everything (pure).
 */
export function decideCopyRoles(f: { source: CopyEnd; target: CopyEnd; needed: readonly string[]; existing: readonly string[] }, noOwner: boolean): { missingRoles: string[]; steps: string[] } {
  const have = new Set(f.existing);
  const missingRoles = f.needed.filter((r) => !have.has(r));
  if (!missingRoles.length) return { missingRoles, steps: [] };
  const list = missingRoles.join(', ');
  if (noOwner) {
    return { missingRoles, steps: [`${f.target.container.name} lacks the role${missingRoles.length > 1 ? 's' : ''} ${list}: the copy leaves out ownership and grants (pg_restore --no-owner --no-privileges), so everything it copies is owned by the target's user.`] };
  }
  throw new PgBackupError(
    'refused',
    `"${f.source.database}" in ${f.source.container.name} has objects owned by (or granted to) role${missingRoles.length > 1 ? 's' : ''} ${list}, which ${f.target.container.name} lacks: ` +
      `create ${missingRoles.length > 1 ? 'them' : 'it'} there first (\`pg-docker-backup roles create-missing <roles-file> --to ${f.target.container.name}\`, the roles file from \`backup --all\`), or let the target's user own everything (CLI: --no-owner). Nothing was changed.`,
  );
}

/** Facts for a copy of selected tables. */
export interface TablesCopyFacts {
  source: CopyEnd;
  target: CopyEnd;
  crossEngine: boolean;
  /** The source database's schema (`pg_dump --schema-only -Fc`'s table of contents). */
  toc: ArchiveToc;
  targetExists: boolean;
  /** The target database's answer to liveTablesSql for the selected tables. */
  live?: { missing: string[]; referencing: Referencing[] };
}

/** The tables the patterns select in the source, and the sequences they bring along (pure; refuses a pattern that matches nothing). */
export function selectedObjects(toc: ArchiveToc, request: SelectionRequest, sourceName: string): { tables: TableRef[]; sequences: TableRef[] } {
  const sel = resolveSelection(toc, selectTables(toc, request.tables ?? [], request.schemas ?? [], sourceName));
  return { tables: sel.tables, sequences: sel.sequences };
}

/** The plan of a copy of selected tables (pure): refusals first, then the steps. */
export function decideTablesCopy(f: TablesCopyFacts, request: SelectionRequest): CopyPlan {
  const from = describeEnd(f.source, f.crossEngine);
  const sourceName = `"${f.source.database}" in ${f.source.container.name}`;
  if (!f.targetExists) {
    throw new PgBackupError('refused', `There is no database "${f.target.database}" in ${f.target.container.name} whose tables could be replaced: copy the whole database first (without --table/--schema). Nothing was changed.`);
  }
  if (f.live?.missing.length) {
    throw new PgBackupError(
      'refused',
      `"${f.target.database}" in ${f.target.container.name} has no table ${f.live.missing.join(', ')} to replace (a copy of tables replaces the rows of existing tables and keeps their definitions): create ${f.live.missing.length > 1 ? 'them' : 'it'} there first, or copy the whole database. Nothing was changed.`,
    );
  }
  const selection = decideSelection(
    { fileName: sourceName, format: 'custom', toc: f.toc, database: f.target.database, liveExists: f.targetExists, live: f.live },
    { tables: request.tables, schemas: request.schemas, replaceTables: true },
  )!;
  const objects = selectedObjects(f.toc, request, sourceName);
  const steps = [
    `pg_dump in ${f.source.container.name} dumps the rows of ${selection.tables.join(', ')}${objects.sequences.length ? ` and the positions of ${selection.sequences.join(', ')}` : ''} from "${f.source.database}", streamed into pg_restore in ${f.target.container.name} (no file on this machine).`,
    ...replaceSteps({ selection, database: f.target.database, backup: { fileName: from }, container: f.target.container }),
  ];
  return { mode: 'tables', source: f.source, target: f.target, crossEngine: f.crossEngine, selection, dumpObjects: [...objects.tables, ...objects.sequences], missingRoles: [], noOwner: false, steps };
}

/** The pg_dump argv in the source for a copy of tables: their rows and their sequences' positions, exact names. */
export function tablesDumpArgv(user: string, database: string, objects: readonly TableRef[]): string[] {
  return ['pg_dump', '-w', '-U', user, '-d', dbConninfo(database), '-Fc', '-Z0', '--data-only', ...objects.flatMap((o) => ['-t', exactPattern(o.schema, o.name)])];
}
