import * as fs from 'node:fs/promises';
import * as zlib from 'node:zlib';
import type { BackupFormat } from '../store/naming';

/** What a backup file is, read from its first bytes (never from its name alone). */
export interface BackupContent {
  /** `sql` plain script, `custom` pg_dump -Fc archive, `directory` a tar of a pg_dump -Fd folder; `unknown` anything else. */
  format: BackupFormat | 'unknown';
  /** Whether the file is gzip-compressed on disk (`.sql.gz`, `.dump.gz`). */
  gzipped: boolean;
  /** pg_dump's version string, e.g. `17.2`. */
  pgDumpVersion?: string;
  pgDumpMajor?: number;
  /** The version of the server it was dumped from. */
  serverVersion?: string;
  /** The database name recorded in a custom archive (or a directory dump's toc.dat). */
  database?: string;
  /** A pg_dumpall cluster script: not restorable into one database. */
  cluster?: boolean;
  /** pg_dump's compression of a custom archive (gzip level or algorithm) */
  archiveCompression?: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];
export const HEAD_BYTES = 64 * 1024;

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** The first bytes of a gzip stream's content, tolerating a cut-off input. */
export function gunzipHead(head: Buffer): Buffer {
  try {
    return zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

export function majorOfVersion(version: string | undefined): number | undefined {
  if (!version) return undefined;
  const m = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major >= 10 ? major : Number(`${m[1]}.${m[2] ?? 0}`);
}

/**
 * Reads the header of a custom-format archive (pg_backup_archiver.c ReadHead): magic, version,
 * int and offset sizes, format, compression, creation time, database name, server and pg_dump versions.
 */
export function parseCustomHeader(buf: Buffer): Pick<BackupContent, 'pgDumpVersion' | 'serverVersion' | 'database' | 'archiveCompression'> {
  if (buf.subarray(0, 5).toString('latin1') !== 'PGDMP') return {};
  let off = 5;
  const byte = () => {
    if (off >= buf.length) throw new RangeError('short header');
    return buf[off++];
  };
  const vmaj = byte();
  const vmin = byte();
  const vrev = vmaj > 1 || (vmaj === 1 && vmin > 0) ? byte() : 0;
  const version = (vmaj << 16) | (vmin << 8) | vrev;
  const v = (a: number, b: number, c = 0) => (a << 16) | (b << 8) | c;
  const intSize = byte();
  /* offSize */ byte();
  /* format */ byte();
  const readInt = () => {
    const sign = version >= v(1, 0) ? byte() : 0;
    let value = 0;
    for (let i = 0; i < intSize; i++) value += byte() * 2 ** (8 * i);
    return sign ? -value : value;
  };
  const readStr = () => {
    const len = readInt();
    if (len < 0) return undefined;
    if (off + len > buf.length) throw new RangeError('short header');
    const s = buf.subarray(off, off + len).toString('utf8');
    off += len;
    return s;
  };
  const out: ReturnType<typeof parseCustomHeader> = {};
  try {
    if (version >= v(1, 15)) {
      const alg = byte();
      out.archiveCompression = ['none', 'gzip', 'lz4', 'zstd'][alg] ?? `algorithm ${alg}`;
    } else if (version >= v(1, 2)) {
      const level = readInt();
      out.archiveCompression = level === 0 ? 'none' : `gzip ${level < 0 ? 'default' : level}`;
    }
    if (version >= v(1, 4)) {
      for (let i = 0; i < 7; i++) readInt(); // sec, min, hour, mday, mon, year, isdst
      out.database = readStr();
    }
    if (version >= v(1, 10)) {
      out.serverVersion = readStr();
      out.pgDumpVersion = readStr();
    }
  } catch {
    // a cut-off header: keep what was read
  }
  return out;
}

/**
 * The first member of a tar (POSIX ustar or GNU: `ustar` at offset 257), when these bytes start one: its
 * name and where its content starts.
 */
export function tarFirstMember(head: Buffer): { name: string; data: Buffer } | undefined {
  if (head.length < 512 || head.subarray(257, 262).toString('latin1') !== 'ustar') return undefined;
  const field = head.subarray(0, 100);
  const end = field.indexOf(0);
  const name = field.subarray(0, end < 0 ? 100 : end).toString('utf8');
  return { name, data: head.subarray(512) };
}

/** A tar of a pg_dump directory dump: its first member is `toc.dat` (a custom-format header). */
function detectDirectoryTar(head: Buffer, gzipped: boolean): BackupContent | undefined {
  const first = tarFirstMember(head);
  if (!first || (first.name !== 'toc.dat' && first.name !== './toc.dat')) return undefined;
  if (first.data.subarray(0, 5).toString('latin1') !== 'PGDMP') return undefined;
  const h = parseCustomHeader(first.data);
  return { format: 'directory', gzipped, ...h, pgDumpMajor: majorOfVersion(h.pgDumpVersion) };
}

const DUMPED_FROM = /^-- Dumped from database version (\S+)/m;
const DUMPED_BY = /^-- Dumped by pg_dump(?:all)? version (\S+)/m;

/** Decides what a backup is from its first bytes (decompressing them when gzipped). */
export function detectBackupContent(head: Buffer): BackupContent {
  const gzipped = isGzip(head);
  const content = gzipped ? gunzipHead(head) : head;
  if (content.subarray(0, 5).toString('latin1') === 'PGDMP') {
    const h = parseCustomHeader(content);
    return { format: 'custom', gzipped, ...h, pgDumpMajor: majorOfVersion(h.pgDumpVersion) };
  }
  const dir = detectDirectoryTar(content, gzipped);
  if (dir) return dir;
  const text = content.subarray(0, 8192).toString('utf8');
  if (/^--\s*\n-- PostgreSQL database cluster dump/m.test(text)) {
    const by = DUMPED_BY.exec(text)?.[1];
    return { format: 'sql', gzipped, cluster: true, pgDumpVersion: by, pgDumpMajor: majorOfVersion(by) };
  }
  const isDump = /^-- PostgreSQL database dump/m.test(text);
  const looksSql = isDump || /^\s*(--|\/\*|SET |CREATE |BEGIN|SELECT |INSERT |COPY |\\connect)/i.test(text);
  if (!looksSql || text.includes('\u0000')) return { format: 'unknown', gzipped };
  const by = DUMPED_BY.exec(text)?.[1];
  return {
    format: 'sql',
    gzipped,
    pgDumpVersion: by,
    pgDumpMajor: majorOfVersion(by),
    serverVersion: DUMPED_FROM.exec(text)?.[1],
  };
}

/** The first HEAD_BYTES of a file (fewer when it is shorter). */
export async function readHead(file: string): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads the first 64 KiB of a file and detects its content. */
export async function inspectBackupFile(file: string): Promise<BackupContent & { sizeBytes: number }> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    return { ...detectBackupContent(head), sizeBytes: size };
  } finally {
    await fh.close();
  }
}

/** The line pg_dump writes last in every complete plain dump. */
export const PLAIN_DUMP_COMPLETE = '-- PostgreSQL database dump complete';
