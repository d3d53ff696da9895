/**
 * The gate in front of psql for plain-SQL backups: psql meta-commands (`\!`, `\o`, `\copy … program`,
 * `\connect`, ...) run outside the database, so a backup file may hold only the ones pg_dump writes
 * (`\restrict KEY` / `\unrestrict KEY` lines, and the `\.` that ends COPY data). PlainSqlCheck forwards
 * only bytes that have passed the check: it holds back at most one undecided meta-command line, and
 * fails before pushing the offending line or anything after it.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { PgBackupError } from '../errors';
import { PsqlScriptLexer, type Finding } from './psqlScriptLexer';

export type { Finding, FindingKind } from './psqlScriptLexer';

const TRUST = 'Nothing was changed. If you trust this file, restore it with --allow-meta-commands.';
const DUMP_COMPLETE_LINE = '-- PostgreSQL database dump complete';

/** The one-sentence refusal a user reads for a finding. */
export function refusalMessage(fileName: string, f: Finding): string {
  const at = `${fileName} line ${f.line}`;
  switch (f.kind) {
    case 'metaCommand':
      return `${at}: the psql meta-command "${f.text}" would run outside the database (psql meta-commands in a backup can run shell commands). ${TRUST}`;
    case 'unrestrictKey':
      return `${at}: the psql meta-command "${f.text}" does not match the \\restrict line before it, so it is not pg_dump's own (psql meta-commands in a backup can run shell commands). ${TRUST}`;
    case 'ambiguousString':
      return `${at}: a string literal here has a backslash before a quote, so where it ends depends on standard_conforming_strings and the check cannot tell what psql would run after it. ${TRUST}`;
    case 'nul':
      return `${at}: holds a NUL byte, which psql would cut the line at, so the check cannot tell what psql would run. ${TRUST}`;
    case 'numberWord':
      return `${at}: a number runs straight into a word, which psql versions split differently, so the check cannot tell what psql would run. ${TRUST}`;
    case 'copyForm':
      return `${at}: a COPY ... FROM STDIN form that pg_dump does not write, so the check cannot tell which lines psql would send as data. ${TRUST}`;
  }
}

export interface PlainSqlCheckOptions {
  /** Shown in the refusal ("evil.sql line 5: ..."). */
  fileName: string;
  /** Pass everything through unchecked (the user trusts the file). */
  allowMetaCommands?: boolean;
}

/** What a whole-file check found. */
export interface PlainSqlCheckResult {
  /** Undefined when psql may run the file. */
  refusal: (Finding & { message: string }) | undefined;
  /** Lines in the input (a last line without a newline counts). */
  lines: number;
  /** The input ends with pg_dump's "-- PostgreSQL database dump complete" (then only blanks, comments, \unrestrict). */
  sawDumpComplete: boolean;
  /** COPY ... FROM stdin data blocks. */
  copyBlocks: number;
}

/** Checks a whole script held in memory (tests, tools). */
export function checkPlainSql(input: Buffer | string, fileName = 'input'): PlainSqlCheckResult {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const lexer = new PsqlScriptLexer();
  lexer.scan(buf);
  lexer.finish();
  const f = lexer.finding;
  return {
    refusal: f && { ...f, message: refusalMessage(fileName, f) },
    lines: lineCount(lexer, buf.length > 0 && buf[buf.length - 1] !== 10),
    sawDumpComplete: !f && lexer.sawDumpComplete,
    copyBlocks: lexer.copyBlocks,
  };
}

function lineCount(lexer: PsqlScriptLexer, unterminatedLast: boolean): number {
  return lexer.line - 1 + (unterminatedLast ? 1 : 0);
}

/**
 * A stream stage: plain SQL in, the same bytes out, but only once checked. Errors with
 * PgBackupError('refused') naming the line and the command; nothing from that line on is pushed.
 */
export class PlainSqlCheck extends Transform {
  private readonly lexer = new PsqlScriptLexer();
  private readonly fileName: string;
  private readonly allow: boolean;
  /** Bytes received but not yet pushed (only an undecided meta-command line), with the offset of the first. */
  private held: Buffer[] = [];
  private heldFrom = 0;
  private received = 0;
  private lastByte = -1;
  private tail = Buffer.alloc(0); // with allowMetaCommands: the end of the file, for sawDumpComplete

  constructor(options: PlainSqlCheckOptions) {
    super();
    this.fileName = options.fileName;
    this.allow = !!options.allowMetaCommands;
  }

  /** The input so far ends with pg_dump's closing comment (read after the stream ended). */
  get sawDumpComplete(): boolean {
    if (this.allow) return this.tail.toString('latin1').includes(DUMP_COMPLETE_LINE);
    return this.lexer.sawDumpComplete;
  }

  /** Lines seen (exact when checking; counted only when checking). */
  get lines(): number {
    return lineCount(this.lexer, this.lastByte >= 0 && this.lastByte !== 10);
  }

  get copyBlocks(): number {
    return this.lexer.copyBlocks;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    this.lastByte = chunk[chunk.length - 1];
    if (this.allow) {
      this.tail = Buffer.concat([this.tail, chunk.subarray(-256)]).subarray(-256);
      return done(null, chunk);
    }
    this.lexer.scan(chunk);
    this.held.push(chunk);
    this.received += chunk.length;
    if (this.lexer.finding) return done(this.refusal());
    this.release(this.lexer.holdFrom >= 0 ? this.lexer.holdFrom : this.received);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.allow) return done();
    this.lexer.finish();
    if (this.lexer.finding) return done(this.refusal());
    this.release(this.received);
    done();
  }

  /** Pushes held bytes up to absolute offset `upTo`. */
  private release(upTo: number): void {
    while (this.held.length > 0 && this.heldFrom < upTo) {
      const first = this.held[0];
      const n = Math.min(first.length, upTo - this.heldFrom);
      if (n === first.length) {
        this.held.shift();
        this.push(first);
      } else {
        this.held[0] = first.subarray(n);
        this.push(first.subarray(0, n));
      }
      this.heldFrom += n;
    }
  }

  private refusal(): PgBackupError {
    this.held = [];
    return new PgBackupError('refused', refusalMessage(this.fileName, this.lexer.finding!));
  }
}
