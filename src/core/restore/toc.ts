import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PgBackupError, errorMessage } from '../errors';
import { decoders } from '../pipeline/layers';
import type { KeyMaterial, StageRecord } from '../pipeline/stage';
import { tarFirstMember } from '../backup/format';

/**
 * A custom-format archive's table of contents, read from the archive's own header on this machine
 * (pg_backup_archiver.c ReadHead/ReadToc, archive versions 1.12 to 1.16: pg_dump 9.6 to 18); for a
 * directory dump (stored as a tar whose first member is `toc.dat`), the same from its `toc.dat`.
 *
 * `pg_restore -l` prints the same entries but not their dependencies, and an INDEX line does not say
 * which table it belongs to; a selective restore needs both, so the TOC is read here instead.
 */
export interface TocEntry {
  id: number;
  desc: string;
  namespace: string;
  tag: string;
  owner: string;
  /** The dump ids this entry depends on (as pg_dump recorded them). */
  deps: number[];
  /** The CREATE/ALTER/GRANT text of the entry (empty for data entries). */
  defn: string;
}

export interface ArchiveToc {
  entries: TocEntry[];
}

class Short extends Error {}

const v = (a: number, b: number, c = 0) => (a << 16) | (b << 8) | c;

/** Parses header and TOC; throws `Short` when `buf` ends before the TOC does (pure). */
function parse(buf: Buffer): ArchiveToc {
  if (buf.length >= 5 && buf.subarray(0, 5).toString('latin1') !== 'PGDMP') throw new Error('not a pg_dump custom-format archive');
  let off = 5;
  const byte = () => {
    if (off >= buf.length) throw new Short();
    return buf[off++];
  };
  const vmaj = byte();
  const vmin = byte();
  const vrev = byte();
  const version = v(vmaj, vmin, vrev);
  if (version < v(1, 12) || version > v(1, 16, 255)) throw new Error(`archive version ${vmaj}.${vmin} is not supported for a selective restore`);
  const intSize = byte();
  const offSize = byte();
  // 1: custom (a data block's state byte and offset follow each entry); 3: a directory dump's toc.dat (its data file's name)
  const format = byte();
  if (format !== 1 && format !== 3) throw new Error('not a custom-format archive or a directory dump');
  const readInt = () => {
    const sign = byte();
    let value = 0;
    for (let i = 0; i < intSize; i++) value += byte() * 2 ** (8 * i);
    return sign ? -value : value;
  };
  const readStr = (): string | undefined => {
    const len = readInt();
    if (len < 0) return undefined;
    if (off + len > buf.length) throw new Short();
    const s = buf.subarray(off, off + len).toString('utf8');
    off += len;
    return s;
  };
  if (version >= v(1, 15)) byte();
  else readInt(); // compression
  for (let i = 0; i < 7; i++) readInt(); // creation time
  readStr(); // database
  readStr(); // server version
  readStr(); // pg_dump version
  const count = readInt();
  const entries: TocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const id = readInt();
    readInt(); // hadDumper
    readStr(); // tableoid
    readStr(); // oid
    const tag = readStr() ?? '';
    const desc = readStr() ?? '';
    readInt(); // section
    const defn = readStr() ?? '';
    readStr(); // drop statement
    readStr(); // copy statement
    const namespace = readStr() ?? '';
    readStr(); // tablespace
    if (version >= v(1, 14)) readStr(); // table access method
    if (version >= v(1, 16)) readInt(); // relkind
    const owner = readStr() ?? '';
    readStr(); // "false" (WITH OIDS)
    const deps: number[] = [];
    for (let d = readStr(); d !== undefined; d = readStr()) deps.push(Number.parseInt(d, 10));
    // The format's extra TOC data: custom, the data block's state byte and offset; directory, the data file's name.
    if (format === 3) readStr();
    else for (let k = 0; k <= offSize; k++) byte();
    entries.push({ id, desc, namespace, tag, owner, deps, defn });
  }
  return { entries };
}

/** `toc.dat` of a directory dump's tar (its first member), as far as `buf` has it; the buffer itself otherwise. */
function tocBytes(buf: Buffer): Buffer {
  if (buf.subarray(0, 5).toString('latin1') === 'PGDMP') return buf;
  if (buf.length < 512) throw new Short();
  const first = tarFirstMember(buf);
  if (!first || (first.name !== 'toc.dat' && first.name !== './toc.dat')) throw new Error('not a pg_dump custom-format archive or the tar of a directory dump');
  const size = Number.parseInt(buf.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || 'x', 8);
  if (!Number.isSafeInteger(size)) throw new Error('the tar header of toc.dat is damaged');
  return first.data.subarray(0, size);
}

/** The TOC of a whole archive (or a directory dump's tar) or of its first bytes; undefined when they end before the TOC does (pure). */
export function parseArchiveToc(buf: Buffer): ArchiveToc | undefined {
  try {
    return parse(tocBytes(buf));
  } catch (e) {
    if (e instanceof Short) return undefined;
    throw e;
  }
}

/** Far more than any TOC: the schema of thousands of tables takes a few MB. */
export const TOC_LIMIT = 256 * 1024 * 1024;

/** Reads the TOC from the start of a backup file, undoing its stages (gzip, age…) on the way; reads no further. */
export async function readArchiveToc(src: { path: string; fileName: string; stages: StageRecord[]; keys?: KeyMaterial }, signal?: AbortSignal): Promise<ArchiveToc> {
  const stop = new AbortController();
  const chunks: Buffer[] = [];
  let size = 0;
  let tried = 0;
  let toc: ArchiveToc | undefined;
  let failure: unknown;
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      size += chunk.length;
      // Try again once the buffer doubled: cheap for a small TOC, linear for a big one.
      if (size >= 2 * tried || size >= TOC_LIMIT) {
        tried = size;
        try {
          toc = parseArchiveToc(Buffer.concat(chunks));
        } catch (e) {
          failure = e;
        }
        if (toc || failure || size >= TOC_LIMIT) stop.abort();
      }
      done();
    },
  });
  try {
    await pipeline([createReadStream(src.path, { highWaterMark: 1024 * 1024 }), ...decoders(src.stages, src.keys), sink], { signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
  } catch (e) {
    if (!stop.signal.aborted) throw new PgBackupError('failed', `Cannot read the table of contents of ${src.fileName}: ${errorMessage(e)}`, { cause: e });
  }
  toc ??= failure === undefined ? parseArchiveToc(Buffer.concat(chunks)) : undefined;
  if (failure !== undefined || !toc) {
    throw new PgBackupError('refused', `Cannot read the table of contents of ${src.fileName}: ${failure ? errorMessage(failure) : 'the archive ends before it'}. Nothing was changed.`);
  }
  return toc;
}

/** The tables of an archive by schema, with their row counts from the manifest where it has them (for a picker). */
export function archiveTables(toc: ArchiveToc, manifestTables: readonly { schema: string; name: string; rows: number }[] = []): { schema: string; name: string; rows?: number }[] {
  const rows = new Map(manifestTables.map((t) => [`${t.schema}\u0000${t.name}`, t.rows]));
  return toc.entries
    .filter((e) => e.desc === 'TABLE')
    .map((e) => ({ schema: e.namespace, name: e.tag, rows: rows.get(`${e.namespace}\u0000${e.tag}`) }))
    .sort((a, b) => a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name));
}
