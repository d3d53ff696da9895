import { errorMessage } from '../errors';
import type { KeyMaterial } from '../pipeline/stage';
import { rolesInToc } from './roleNeeds';
import type { RolesChoice } from './roles';
import { findRolesFile, readRolesFileFacts, type RolesFileFacts } from './rolesFromFile';
import type { SelectionPlan } from './selectivePlan';
import type { BackupSource } from './source';
import { readArchiveToc, type ArchiveToc } from './toc';

/** Facts a restore plan gathers beside the server's: the archive's table of contents and the roles file. */

/** The roles the entries of a selective restore name (all the dump's roles when the archive was not read). */
export function selectedRoles(toc: ArchiveToc | undefined, needed: string[] | undefined, selection: SelectionPlan): string[] | undefined {
  if (!toc) return needed;
  const ids = new Set(selection.listIds);
  return rolesInToc({ entries: toc.entries.filter((e) => ids.has(e.id)) });
}

/**
 * A custom archive's (or directory dump's) TOC, when a selective restore or the roles need it; a read error is
 * kept for the decision.
 */
export async function tocFor(source: BackupSource, o: { keys?: KeyMaterial; selective: boolean }, signal?: AbortSignal): Promise<{ toc?: ArchiveToc; tocError?: string }> {
  const encrypted = source.stages.some((s) => s.kind === 'encrypt') && !o.keys;
  if (source.format === 'sql' || encrypted || (!o.selective && source.entry.manifest?.roles)) return {};
  try {
    return { toc: await readArchiveToc({ path: source.entry.path, fileName: source.entry.fileName, stages: source.stages, keys: o.keys }, signal) };
  } catch (e) {
    if (signal?.aborted) throw e;
    return { tocError: errorMessage(e).replace(/\.$/, '') };
  }
}

/** With `createRoles: 'file'`: the roles file named, else the newest of the backup's container beside it. */
export async function rolesFileFor(source: BackupSource, choice: RolesChoice & { backupDir?: string }): Promise<RolesFileFacts | undefined> {
  if (choice.createRoles !== 'file') return undefined;
  if (choice.rolesFile) return readRolesFileFacts(choice.rolesFile);
  const found = await findRolesFile(source.entry.path, source.entry.container, choice.backupDir);
  return found.path ? readRolesFileFacts(found.path, found.lookedIn) : { lookedIn: found.lookedIn };
}
