import { createReadStream } from 'node:fs';
import { PassThrough, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PLAIN_DUMP_COMPLETE } from '../backup/format';
import { PgBackupError, errorMessage } from '../errors';
import { decoders, type KeyMaterial, type StageRecord } from '../pipeline/stage';

/** What the input reads and how it is checked. */
export interface InputSource {
  path: string;
  fileName: string;
  format: 'sql' | 'custom';
  /** Every encode stage of the file, in the order applied. */
  stages: StageRecord[];
  keys?: KeyMaterial;
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
  const code = (e as { code?: string }).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || /unexpected end of file|incorrect header check|invalid/i.test(errorMessage(e))) {
    return new PgBackupError('failed', `${fileName} is damaged: its gzip data ${code === 'Z_BUF_ERROR' ? 'ends early (was it cut off while copying?)' : `is corrupt (${errorMessage(e)})`}.`);
  }
  return e;
}

/** Every check of the decoded dump: a plain dump must end with pg_dump's last line. */
function contentChecks(src: InputSource): Transform[] {
  return src.format === 'sql' ? [new PlainDumpCompleteness(src.fileName)] : [];
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
 * The stages in `inContainer` (the last ones applied, e.g. gzip) are left for the process in the container
 * to undo, so only their encoded bytes cross the Docker API; every other stage is undone here, and the
 * decoded dump is checked here (a plain dump must end with pg_dump's last line). When stages are left to
 * the container, the same file is checked here in a second, independent read that undoes them all.
 *
 * `done` settles when everything went through, or with the file's own error (a damaged gzip, a cut-off
 * dump). Once the reading process has exited, call `stop()`: a process that quit early (psql at its first
 * error) leaves the rest unread, and nothing would ever settle `done` (Node would then exit as if all was
 * well). The second read is not stopped: it reads the local file at its own pace, and its verdict is the
 * better error message.
 */
export function openInput(src: InputSource, onBytes: (n: number) => void, signal?: AbortSignal, inContainer: StageRecord[] = []): BackupInput {
  const file = createReadStream(src.path, { highWaterMark: 1024 * 1024, signal });
  let read = 0;
  file.on('data', (c: Buffer | string) => {
    read += c.length;
    onBytes(read);
  });
  const hostStages = src.stages.slice(0, src.stages.length - inContainer.length);
  const stages: Transform[] = inContainer.length ? decoders(hostStages, src.keys) : [...decoders(src.stages, src.keys), ...contentChecks(src)];
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let feedSettled = false;
  let stopped = false;
  const feed = pipeline([file, ...stages, out]).then(
    () => {
      feedSettled = true;
    },
    (e: unknown) => {
      feedSettled = true;
      if (stopped) return; // the reader is gone; what it left unread does not matter
      throw inputError(src.fileName, e);
    },
  );
  const check = inContainer.length
    ? pipeline([createReadStream(src.path, { highWaterMark: 1024 * 1024, signal }), ...decoders(src.stages, src.keys), ...contentChecks(src), new Writable({ write: (_c, _e, cb) => cb() })]).catch((e: unknown) => {
        throw inputError(src.fileName, e);
      })
    : Promise.resolve();
  // The check's verdict first: a damaged file explains a broken feed, not the other way round.
  const done = Promise.allSettled([check, feed]).then(([c, f]) => {
    if (c.status === 'rejected') throw c.reason;
    if (f.status === 'rejected') throw f.reason;
  });
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
