import { Transform, type TransformCallback } from 'node:stream';
import { PLAIN_DUMP_COMPLETE } from '../backup/format';
import { PgBackupError } from '../errors';
import { refusalMessage } from './plainSqlCheck';
import { PsqlScriptLexer } from './psqlScriptLexer';

/** Fails at its end when a plain dump lacks pg_dump's closing line (a cut-off dump). */
function incomplete(fileName: string): PgBackupError {
  return new PgBackupError('failed', `${fileName} is incomplete: it does not end with pg_dump's "${PLAIN_DUMP_COMPLETE}" line (was the dump cut off?).`);
}

/**
 * Forwards a plain dump's ENCODED bytes (e.g. gzip, for gunzip in the container) only once the SQL they
 * decode to has passed the meta-command check, so that nothing unchecked ever reaches psql while only
 * compressed bytes cross the Docker API.
 *
 * Each encoded chunk is decoded here as it arrives; the decoder has pushed everything that chunk
 * determines by the time it calls back (zlib emits all output its input allows), so the chunk may go on once
 * the check has passed every decoded byte up to there. The check holds back only an undecided meta-command
 * line; a chunk that decodes into one waits for the line's end. At the end, the last chunks go on only
 * after the decoder's own end (gzip CRC and length) and pg_dump's closing line were checked. A refusal
 * names the line and the command, and the bytes of that line never leave.
 */
export class EncodedPlainSqlGate extends Transform {
  private readonly lexer = new PsqlScriptLexer();
  private scanned = 0;
  private pending: { chunk: Buffer; upTo: number }[] = [];
  private failure: Error | undefined;
  private tail = Buffer.alloc(0);

  constructor(
    private readonly decoder: Transform,
    private readonly fileName: string,
    private readonly allowMetaCommands = false,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    decoder.on('data', (c: Buffer) => this.scan(c));
    decoder.on('error', (e: Error) => (this.failure ??= e));
  }

  private scan(c: Buffer): void {
    this.scanned += c.length;
    if (this.allowMetaCommands) {
      this.tail = Buffer.concat([this.tail, c.subarray(-256)]).subarray(-256);
      return;
    }
    this.lexer.scan(c);
    if (this.lexer.finding && !this.failure) this.failure = new PgBackupError('refused', refusalMessage(this.fileName, this.lexer.finding));
  }

  /** Everything decoded is checked up to here (an undecided meta-command line waits). */
  private checked(): number {
    if (this.allowMetaCommands) return Number.POSITIVE_INFINITY;
    return this.lexer.holdFrom >= 0 ? this.lexer.holdFrom : this.scanned;
  }

  /** Passes on the checked chunks; the newest always waits for the end (it may hold the gzip trailer). */
  private release(all = false): void {
    const upTo = this.checked();
    while (this.pending.length > (all ? 0 : 1) && (all || this.pending[0].upTo <= upTo)) this.push(this.pending.shift()!.chunk);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.decoder.write(chunk, (err) => {
      if (this.failure || err) return done(this.failure ?? err);
      // Output the decoder pushed but has not handed over yet is decoded too (normally none).
      this.pending.push({ chunk, upTo: this.scanned + this.decoder.readableLength });
      this.release();
      done();
    });
  }

  override _flush(done: TransformCallback): void {
    this.decoder.once('end', () => {
      if (this.failure) return done(this.failure);
      if (!this.allowMetaCommands) this.lexer.finish();
      if (this.lexer.finding) return done(new PgBackupError('refused', refusalMessage(this.fileName, this.lexer.finding)));
      const complete = this.allowMetaCommands ? this.tail.toString('latin1').includes(PLAIN_DUMP_COMPLETE) : this.lexer.sawDumpComplete;
      if (!complete) return done(incomplete(this.fileName));
      this.release(true);
      done();
    });
    this.decoder.once('error', (e: Error) => done(this.failure ?? e));
    this.decoder.end();
  }

  override _destroy(error: Error | null, cb: (error: Error | null) => void): void {
    this.decoder.destroy();
    cb(error);
  }
}
