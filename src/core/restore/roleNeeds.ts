import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { decoders } from '../pipeline/layers';
import type { KeyMaterial } from '../pipeline/stage';
import { isBuiltInRole, rolesInSql, type RolesPlan } from './roles';
import type { BackupSource } from './source';
import type { ArchiveToc } from './toc';

/**
 * A plain dump up to this size (on disk) is scanned whole for the roles it names (its grants come last);
 * a bigger one only up to its first COPY, where every `OWNER TO` is (pg_dump writes owners with the
 * objects, before any data).
 */
export const PLAIN_ROLE_SCAN_BYTES = 64 * 1024 * 1024;

/** Owners and grantees in an archive's table of contents (pure). */
export function rolesInToc(toc: ArchiveToc): string[] {
  const out = new Set<string>();
  for (const e of toc.entries) {
    if (e.owner && !isBuiltInRole(e.owner)) out.add(e.owner);
    if (e.desc === 'ACL' || e.desc === 'DEFAULT ACL') for (const r of rolesInSql(e.defn)) out.add(r);
  }
  return [...out].sort();
}

/** Scans a plain dump's decoded SQL line by line for the roles it names (whole, or up to the first COPY). */
async function plainRoles(source: BackupSource, keys: KeyMaterial | undefined, signal?: AbortSignal): Promise<string[]> {
  const whole = source.entry.sizeBytes <= PLAIN_ROLE_SCAN_BYTES;
  const stop = new AbortController();
  const found = new Set<string>();
  let carry = '';
  const scan = (text: string) => {
    for (const r of rolesInSql(text)) found.add(r);
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = carry + chunk.toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      carry = text.slice(cut);
      const complete = text.slice(0, cut);
      const copyAt = whole ? -1 : complete.search(/^COPY /m);
      scan(copyAt >= 0 ? complete.slice(0, copyAt) : complete);
      if (copyAt >= 0) stop.abort();
      if (carry.length > 1024 * 1024) carry = ''; // a data line, not a statement
      done();
    },
    final(done) {
      scan(carry);
      done();
    },
  });
  try {
    await pipeline([createReadStream(source.entry.path, { highWaterMark: 1024 * 1024 }), ...decoders(source.stages, keys), sink], { signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
  } catch (e) {
    if (!stop.signal.aborted || signal?.aborted) throw e;
  }
  return [...found].sort();
}

/**
 * The roles a backup refers to: its manifest's `roles`, else the archive's owners and grantees (from its
 * table of contents), else the plain SQL's `OWNER TO` / `GRANT … TO` lines. Never throws (unknown then).
 */
export async function readRoleNeeds(source: BackupSource, toc: ArchiveToc | undefined, options: { keys?: KeyMaterial; signal?: AbortSignal; log?: Logger }): Promise<{ needed?: string[]; source: RolesPlan['source'] }> {
  const m = source.entry.manifest;
  if (m?.roles) return { needed: [...m.roles], source: 'manifest' };
  if (toc) return { needed: rolesInToc(toc), source: 'archive' };
  const encrypted = source.stages.some((s) => s.kind === 'encrypt') && !options.keys;
  if (source.format !== 'sql' || encrypted) return { source: 'unknown' };
  try {
    return { needed: await plainRoles(source, options.keys, options.signal), source: 'sql' };
  } catch (e) {
    if (options.signal?.aborted) throw e;
    options.log?.debug(`could not read the roles ${source.entry.fileName} refers to: ${errorMessage(e)}`);
    return { source: 'unknown' };
  }
}
