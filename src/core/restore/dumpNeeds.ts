import { createReadStream } from 'node:fs';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { decoders } from '../pipeline/layers';
import type { KeyMaterial } from '../pipeline/stage';
import { execClient, type PgTarget } from '../postgres/client';
import type { BackupSource } from './source';

/** What a dump needs from its target, as far as it could be read before the restore. */
export interface DumpNeeds {
  extensions?: string[];
  /** Why `extensions` is unknown. */
  extensionsUnknown?: string;
  /** A plain dump's head shows `\restrict`. */
  restrictSeen?: boolean;
}

/** How far into a plain dump to look: extensions come before the first table (pre-data), so this is plenty. */
export const PLAIN_HEAD_LIMIT = 8 * 1024 * 1024;

const CREATE_EXTENSION = /^CREATE EXTENSION (?:IF NOT EXISTS )?("(?:[^"]|"")+"|[A-Za-z0-9_]+)/gm;
const TOC_EXTENSION = /^\d+; \d+ \d+ EXTENSION - (\S+)/gm;

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/** Extensions a plain dump's SQL creates, and whether it uses `\restrict` (pure). */
export function scanPlainHead(text: string): { extensions: string[]; restrictSeen: boolean } {
  const extensions = [...text.matchAll(CREATE_EXTENSION)].map((m) => unquote(m[1]));
  return { extensions: [...new Set(extensions)].sort(), restrictSeen: /^\\restrict [A-Za-z0-9]+\r?$/m.test(text) };
}

/** Extensions in a `pg_restore -l` listing (pure). */
export function extensionsInToc(listing: string): string[] {
  return [...new Set([...listing.matchAll(TOC_EXTENSION)].map((m) => m[1]))].sort();
}

/** The decoded head of a plain dump, up to the first table's data or `limit` bytes. */
async function plainHead(source: BackupSource, limit: number, keys: KeyMaterial | undefined, signal?: AbortSignal): Promise<string> {
  const stop = new AbortController();
  const chunks: Buffer[] = [];
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      bytes += chunk.length;
      // pg_dump writes the extensions before any table; once a COPY starts, the rest is data.
      if (bytes >= limit || /^COPY /m.test(chunk.toString('latin1'))) stop.abort();
      done();
    },
  });
  try {
    await pipeline([createReadStream(source.entry.path, { highWaterMark: 256 * 1024 }), ...decoders(source.stages, keys), sink], { signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** `pg_restore -l` in the target container, fed the archive: reads the table of contents and stops. */
async function archiveListing(docker: DockerClient, target: PgTarget, source: BackupSource, keys: KeyMaterial | undefined, signal?: AbortSignal): Promise<string> {
  const file = createReadStream(source.entry.path, { highWaterMark: 1024 * 1024 });
  const stages = decoders(source.stages, keys);
  // A decode error ends the input early: pg_restore then fails, and the extensions stay unknown.
  const input = stages.reduce<Readable>((s, d) => s.pipe(d), file);
  try {
    const r = await execClient(docker, target, ['pg_restore', '-l'], { stdin: input, signal, maxStdoutBytes: 32 * 1024 * 1024, what: 'reading the archive’s table of contents' });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim().split('\n')[0] || `pg_restore -l exited ${r.exitCode}`);
    return r.stdout;
  } finally {
    file.destroy();
    for (const d of stages) d.destroy();
  }
}

/**
 * The extensions a backup needs: its manifest's list when it has one, else the archive's table of contents
 * (`pg_restore -l` in the target container) or the plain SQL's head; and whether a plain dump uses `\restrict`.
 * Never throws: what cannot be read becomes `extensionsUnknown`.
 */
export async function readDumpNeeds(docker: DockerClient, target: PgTarget, source: BackupSource, options: { canReadArchive: boolean; keys?: KeyMaterial; signal?: AbortSignal; log?: Logger }): Promise<DumpNeeds> {
  const fromManifest = source.entry.manifest?.extensions;
  const encrypted = source.stages.some((s) => s.kind === 'encrypt') && !options.keys;
  const needs: DumpNeeds = fromManifest ? { extensions: [...fromManifest] } : {};
  try {
    if (source.format === 'sql' && !encrypted) {
      const head = scanPlainHead(await plainHead(source, PLAIN_HEAD_LIMIT, options.keys, options.signal));
      needs.restrictSeen = head.restrictSeen;
      needs.extensions ??= head.extensions;
    } else if (!fromManifest && encrypted) {
      needs.extensionsUnknown = 'the file is encrypted and has no manifest listing them';
    } else if (!fromManifest && source.format === 'custom') {
      if (!options.canReadArchive) needs.extensionsUnknown = 'the archive cannot be listed by this container’s pg_restore';
      else needs.extensions = extensionsInToc(await archiveListing(docker, target, source, options.keys, options.signal));
    } else if (!fromManifest && source.format === 'directory') {
      needs.extensionsUnknown = 'a directory dump without a manifest is not listed before it is unpacked';
    }
  } catch (e) {
    if (options.signal?.aborted) throw e;
    options.log?.debug(`could not read what ${source.entry.fileName} needs: ${errorMessage(e)}`);
    if (!needs.extensions) needs.extensionsUnknown = `reading it failed: ${errorMessage(e).replace(/\.$/, '')}`;
  }
  return needs;
}
