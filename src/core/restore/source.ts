import { createReadStream } from 'node:fs';
import { HEAD_BYTES, detectBackupContent, readHead, type BackupContent } from '../backup/format';
import { PgBackupError, errorMessage } from '../errors';
import { sniffLayers } from '../pipeline/layers';
import type { KeyMaterial, Layer, StageRecord } from '../pipeline/stage';
import { describeBackup, type BackupEntry } from '../store/backupStore';
import type { BackupFormat } from '../store/naming';

/** What a restore needs to know about a backup file, with its real content checked. */
export interface BackupSource {
  entry: BackupEntry;
  format: BackupFormat;
  /** The encode stages to undo, in the order they were applied (from the manifest, else sniffed layer by layer). */
  stages: StageRecord[];
  /** What the dump's own header says (pg_dump version, database of a custom archive). */
  content: BackupContent;
}

/**
 * The first bytes under an outermost layer that cannot be looked into without a key (age): decrypted with
 * `keys`, which also proves the key fits before anything changes (a missing or wrong key is one clear error).
 */
export async function underOpaque(path: string, layer: Layer, keys: KeyMaterial, record: StageRecord | undefined): Promise<Buffer> {
  const decoder = layer.decoder(keys, record);
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const out: Buffer[] = [];
  let size = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const stop = () => resolve();
      decoder.on('data', (c: Buffer) => {
        out.push(c);
        size += c.length;
        if (size >= HEAD_BYTES) stop();
      });
      decoder.on('end', stop);
      decoder.on('error', reject);
      file.on('error', reject);
      file.pipe(decoder);
    });
  } finally {
    file.destroy();
    decoder.destroy();
  }
  return Buffer.concat(out).subarray(0, HEAD_BYTES);
}

/**
 * Reads a backup's manifest and first bytes: peels the layers the bytes show (gzip, zstd, lz4; age with the
 * keys given) down to the dump's own header, and refuses (before anything changes) what is not a dump of one
 * database or does not match its manifest.
 */
export async function inspectSource(path: string, keys: KeyMaterial = {}): Promise<BackupSource> {
  let entry: BackupEntry;
  let head: Buffer;
  try {
    entry = await describeBackup(path);
    head = await readHead(path);
  } catch (e) {
    throw new PgBackupError('usage', `Cannot read the backup ${path}: ${errorMessage(e)}`);
  }
  let peeled = sniffLayers(head);
  if (peeled.opaque && peeled.layers.length === 1) {
    const outer = peeled.layers[0];
    const record = entry.manifest?.stages[entry.manifest.stages.length - 1];
    const inner = sniffLayers(await underOpaque(path, outer, keys, record?.algorithm === outer.algorithm ? record : undefined));
    peeled = { ...inner, layers: [outer, ...inner.layers] };
  }
  const content: BackupContent = { ...detectBackupContent(peeled.content), gzipped: peeled.layers.some((l) => l.algorithm === 'gzip') };
  const sniffed: StageRecord[] = [...peeled.layers].reverse().map((l) => ({ kind: l.kind, algorithm: l.algorithm, where: 'host' }));
  if (content.format === 'unknown') {
    throw new PgBackupError(
      'refused',
      `${entry.fileName} is not a PostgreSQL backup: it is neither a plain SQL dump, a pg_dump custom archive nor a tar of a pg_dump directory dump (compressed, encrypted or not). Nothing was changed.`,
    );
  }
  if (content.cluster) {
    throw new PgBackupError('refused', `${entry.fileName} is a pg_dumpall cluster dump (roles and every database), not a backup of one database; restore it with psql by hand. Nothing was changed.`);
  }
  const m = entry.manifest;
  if (m && m.format !== content.format) {
    throw new PgBackupError('refused', `${entry.fileName} does not match its manifest (the manifest says ${m.format}, the file is ${content.format}). Nothing was changed.`);
  }
  if (m && m.stages.map((s) => s.algorithm).join('+') !== sniffed.map((s) => s.algorithm).join('+')) {
    const say = (list: StageRecord[]) => list.map((s) => s.algorithm).join(', then ') || 'none';
    throw new PgBackupError('refused', `${entry.fileName} does not match its manifest (the manifest says its layers are ${say(m.stages)}, the file shows ${say(sniffed)}). Nothing was changed.`);
  }
  if (m && m.bytes !== entry.sizeBytes) {
    throw new PgBackupError('refused', `${entry.fileName} does not match its manifest (the manifest says ${m.bytes} bytes, the file has ${entry.sizeBytes}): was it cut off or changed after the backup? Nothing was changed.`);
  }
  if (m && content.format !== 'sql' && content.database !== undefined && content.database !== m.database) {
    throw new PgBackupError('refused', `${entry.fileName} does not match its manifest (the manifest says it is a backup of "${m.database}", the archive says "${content.database}"). Nothing was changed.`);
  }
  const format = content.format;
  return {
    entry: { ...entry, format, gzipped: content.gzipped, pgDumpVersion: entry.pgDumpVersion ?? content.pgDumpVersion },
    format,
    stages: m ? m.stages : sniffed,
    content,
  };
}
