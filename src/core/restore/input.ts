import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PLAIN_DUMP_COMPLETE } from '../backup/format';
import { PgBackupError, errorMessage } from '../errors';
import { decoders } from '../pipeline/layers';
import type { KeyMaterial, StageRecord } from '../pipeline/stage';
import type { BackupFormat } from '../store/naming';
import { EncodedPlainSqlGate } from './gate';
import { PlainSqlCheck } from './plainSqlCheck';

/** For stages undone in the container: a plain dump's encoded bytes go on only once checked here. */
function containerGate(src: InputSource, inContainer: StageRecord[]): Transform[] {
  if (src.format !== 'sql') return [];
  if (inContainer.length !== 1) throw new PgBackupError('failed', `cannot check ${src.fileName} for a restore that decodes ${inContainer.length} layers in the container`);
  return [new EncodedPlainSqlGate(decoders(inContainer, src.keys)[0], src.fileName, src.allowMetaCommands)];
}

/** What the input reads and how it is checked. */
export interface InputSource {
  path: string;
  fileName: string;
  format: BackupFormat;
  /** Every encode stage of the file, in the order applied. */
  stages: StageRecord[];
  keys?: KeyMaterial;
  /** The user trusts this file: psql meta-commands in it may run (never the default). */
  allowMetaCommands?: boolean;
  /** The sha256 of the file's bytes, from its manifest: checked as they are read, before the stream ends. */
  sha256?: string;
}

/** Fails at the end of the stream when the file's bytes do not hash to what its manifest says. */
export class ChecksumCheck extends Transform {
  private readonly hash = createHash('sha256');
  constructor(private readonly fileName: string, private readonly expected: string) {
    super({ highWaterMark: 1024 * 1024 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    const got = this.hash.digest('hex');
    if (got !== this.expected) done(new PgBackupError('failed', `${this.fileName} does not match its manifest: its sha256 is ${got}, the manifest says ${this.expected} (was it changed or damaged after the backup?).`));
    else done();
  }
}

/** Fails the stream at its end when a plain pg_dump script lacks pg_dump's closing line (a cut-off dump). */
export class PlainDumpCompleteness extends Transform {
  private tail = Buffer.alloc(0);
  constructor(private readonly fileName: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - 2048))]).subarray(-2048);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (!this.tail.toString('utf8').includes(PLAIN_DUMP_COMPLETE)) {
      done(new PgBackupError('failed', `${this.fileName} is incomplete: it does not end with pg_dump's "${PLAIN_DUMP_COMPLETE}" line (was the dump cut off?).`));
    } else done();
  }
}

/** The user-facing error for a failed read or decode of the backup file. */
export function inputError(fileName: string, e: unknown): unknown {
  if (e instanceof PgBackupError) return e;
  const code = (e as { code?: string }).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || /unexpected end of file|incorrect header check|invalid/i.test(errorMessage(e))) {
    return new PgBackupError('failed', `${fileName} is damaged: its gzip data ${code === 'Z_BUF_ERROR' ? 'ends early (was it cut off while copying?)' : `is corrupt (${errorMessage(e)})`}.`);
  }
  return e;
}

/**
 * Every check of the decoded dump: a plain dump passes the psql meta-command gate (only checked bytes go
 * on) and must end with pg_dump's last line.
 */
function contentChecks(src: InputSource): Transform[] {
  return src.format === 'sql' ? [new PlainSqlCheck({ fileName: src.fileName, allowMetaCommands: src.allowMetaCommands }), new PlainDumpCompleteness(src.fileName)] : [];
}

export interface BackupInput {
  /** What the restoring process reads. */
  stream: Readable;
  /** Settles when the file went through (and was checked), or with the file's own error. */
  done: Promise<void>;
  /** Ends the feed once the reading process has exited (see openInput). */
  stop: () => void;
}

/**
 * Reads the backup for a restoring process, counting file bytes for progress.
 *
 * The stages in `inContainer` (the first ones applied, e.g. gzip) are left for the process in the container
 * to undo, so only their encoded bytes cross the Docker API; every later stage (e.g. age) is undone here. Nothing unchecked
 * reaches psql: a plain dump's SQL passes the meta-command gate here first, decoded on this machine (for
 * an in-container stage, its encoded bytes go on only once what they decode to was checked, see
 * EncodedPlainSqlGate).
 *
 * `done` settles when everything went through, or with the file's own error (a damaged gzip, a cut-off
 * dump, a refused meta-command). Once the reading process has exited, call `stop()`: a process that quit
 * early (psql at its first error) leaves the rest unread, and nothing would ever settle `done` (Node would
 * then exit as if all was well).
 */
export function openInput(src: InputSource, onBytes: (n: number) => void, signal?: AbortSignal, inContainer: StageRecord[] = []): BackupInput {
  const file = createReadStream(src.path, { highWaterMark: 1024 * 1024, signal });
  let read = 0;
  file.on('data', (c: Buffer | string) => {
    read += c.length;
    onBytes(read);
  });
  // Layers come off outermost first: the host undoes the last ones applied (e.g. age); the container the first (e.g. gzip).
  const hostStages = src.stages.slice(inContainer.length);
  const checksum: Transform[] = src.sha256 ? [new ChecksumCheck(src.fileName, src.sha256)] : [];
  const stages: Transform[] = checksum.concat(inContainer.length ? [...decoders(hostStages, src.keys), ...containerGate(src, inContainer)] : [...decoders(src.stages, src.keys), ...contentChecks(src)]);
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let feedSettled = false;
  let stopped = false;
  const done = pipeline([file, ...stages, out]).then(
    () => {
      feedSettled = true;
    },
    (e: unknown) => {
      feedSettled = true;
      if (stopped) return; // the reader is gone; what it left unread does not matter
      throw inputError(src.fileName, e);
    },
  );
  done.catch(() => undefined);
  const stop = () => {
    // A feed that already failed keeps its own error: that is the one to report.
    if (feedSettled || stopped || file.errored || out.errored || stages.some((st) => st.errored)) return;
    stopped = true;
    file.destroy();
    for (const st of stages) st.destroy();
    out.destroy();
  };
  return { stream: out, done, stop };
}
