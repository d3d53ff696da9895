/**
 * The line-level half of PsqlScriptLexer (psqlScriptLexer.ts describes the whole model): line numbers,
 * the COPY ... FROM stdin data lines psql passes to the server up to `\.` (src/bin/psql/copy.c), and the
 * backslash meta-command lines psql runs itself, of which only pg_dump's `\restrict KEY` ... `\unrestrict KEY`
 * pair is let through. PsqlScriptLexer adds the SQL lexer (psqlscan.l) that decides where those start.
 */

export type FindingKind = 'metaCommand' | 'ambiguousString' | 'nul' | 'numberWord' | 'copyForm' | 'unrestrictKey';

export interface Finding {
  kind: FindingKind;
  /** 1-based line where it starts. */
  line: number;
  /** The text involved (the meta-command line, trimmed and shortened). */
  text: string;
}

/**
 * The lexer's states. The numbers matter: PsqlScriptLexer.run() dispatches on ranges of them, the state
 * after a closing quote is the quote's state + 1, and the COPY states come last.
 */
export const STATE = {
  INIT: 0, DASH: 1, SLASH: 2, LCOMMENT: 3, BCOMMENT: 4, BC_STAR: 5, BC_SLASH: 6,
  QUOTE: 7, QUOTE_END: 8, ESTR: 9, ESTR_END: 10, NOESC: 11, NOESC_END: 12, DQ: 13, DQ_END: 14,
  DOLLAR_OPEN: 15, DOLLAR_BODY: 16, DOLLAR_CLOSE: 17, IDENT: 18, NUMBER: 19, NUM_E: 20, NUM_ESIGN: 21,
  META: 22, COPY_LS: 23, COPY_BS: 24, COPY_DOT: 25, COPY_DOTCR: 26, COPY_MID: 27,
} as const;

/** Byte values the lexer looks for. */
export const BYTE = { NL: 10, CR: 13, BSL: 92, SQ: 39, DQT: 34, DOL: 36 } as const;

// Module-local copies, read in the per-byte loops: with tsx (per-file CommonJS), every read of an imported
// binding is a getter call, which made such a loop about 40 times slower in a micro-benchmark.
const { INIT, META, COPY_LS, COPY_BS, COPY_DOT, COPY_DOTCR, COPY_MID } = STATE;
const { NL, CR, BSL } = BYTE;
const MAX_META_LINE = 200;

export abstract class PsqlScriptLines {
  /** Lines started so far (1-based number of the current line). */
  line = 1;
  /** COPY ... FROM stdin data blocks seen. */
  copyBlocks = 0;
  /** True while the last thing seen was pg_dump's "-- PostgreSQL database dump complete" (then only comments, blanks, \unrestrict). */
  sawDumpComplete = false;
  /** The key of a `\restrict` not yet matched by `\unrestrict`. */
  restrictKey: string | undefined;
  /** Absolute offset of the first byte not yet decided (a meta-command line being read), or -1. */
  holdFrom = -1;
  finding: Finding | undefined;

  protected state: number = INIT;
  protected offset = 0; // absolute offset of the current chunk's first byte
  protected lineStartAbs = 0; // absolute offset where the current line starts
  /** COPY ... FROM stdin statements ended whose data has not started yet. */
  protected copyPending = 0;
  private resume: number = INIT; // state to return to after COPY data
  private meta: number[] = [];
  private metaLine = 0;
  private metaMidLine = false;

  protected refuse(kind: FindingKind, line: number, text: string): void {
    this.finding ??= { kind, line, text };
  }

  /** A newline at buf index `at` of the current chunk. */
  protected newline(at: number): void {
    this.line++;
    this.lineStartAbs = this.offset + at + 1;
    if (this.copyPending > 0 && this.state < COPY_LS) {
      this.copyPending--;
      this.copyBlocks++;
      this.sawDumpComplete = false;
      this.resume = this.state;
      this.state = COPY_LS;
    }
  }

  /** Counts newlines in buf[from, to) (no state changes besides line numbers: COPY cannot start inside). */
  protected countLines(buf: Buffer, from: number, to: number): void {
    for (let j = buf.indexOf(NL, from); j >= 0 && j < to; j = buf.indexOf(NL, j + 1)) {
      this.line++;
      this.lineStartAbs = this.offset + j + 1;
    }
  }

  /** Where a skip inside a quoted construct may jump to: the target, or the next newline when a COPY starts at it. */
  protected skipLimit(buf: Buffer, i: number, target: number): number {
    if (this.copyPending === 0) return target;
    const n = buf.indexOf(NL, i);
    return n >= 0 && n < target ? n : target;
  }

  /** A backslash at absolute offset `at` starts a meta-command line. */
  protected startMeta(at: number, atLineStart: boolean): void {
    this.state = META;
    this.meta = [BSL];
    this.metaLine = this.line;
    this.metaMidLine = !atLineStart; // never allowed mid-line
    this.holdFrom = at;
  }

  protected decideMeta(): void {
    let n = this.meta.length;
    if (n > 0 && this.meta[n - 1] === CR) n--;
    const text = Buffer.from(this.meta.slice(0, n)).toString('latin1');
    const m = /^\\(restrict|unrestrict) ([A-Za-z0-9]{1,63})$/.exec(text);
    const shown = Buffer.from(this.meta.slice(0, n)).toString('utf8');
    const shortText = shown.length > 80 ? `${shown.slice(0, 79)}…` : shown;
    if (!m || this.metaMidLine || this.meta.length > MAX_META_LINE) {
      this.refuse('metaCommand', this.metaLine, shortText);
    } else if (m[1] === 'restrict') {
      if (this.restrictKey !== undefined) this.refuse('metaCommand', this.metaLine, shortText);
      else this.restrictKey = m[2];
    } else if (this.restrictKey !== m[2]) {
      this.refuse('unrestrictKey', this.metaLine, shortText);
    } else this.restrictKey = undefined;
    if (this.finding) return;
    this.meta = [];
    this.holdFrom = -1;
    this.state = INIT;
  }

  /** A meta-command line (META): collected up to its newline (or MAX_META_LINE bytes), then decided. */
  protected metaCommand(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding && this.state === META) {
      const c = buf[i];
      if (c === NL) { this.decideMeta(); if (!this.finding) { this.newline(i); i++; } break; }
      this.meta.push(c);
      i++;
      if (this.meta.length > MAX_META_LINE) this.decideMeta();
    }
    return i;
  }

  /** COPY data lines (COPY_LS, COPY_MID, COPY_BS, COPY_DOT, COPY_DOTCR): skipped line by line up to `\.`. */
  protected copyData(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding) {
      const c = buf[i];
      switch (this.state) {
        case COPY_LS:
          if (c === BSL) { this.state = COPY_BS; i++; break; }
          if (c === NL) { this.line++; i++; break; }
          this.state = COPY_MID;
          break;
        case COPY_MID: {
          const j = buf.indexOf(NL, i);
          if (j < 0 || j >= end) { i = end; break; }
          this.line++;
          i = j + 1;
          this.state = COPY_LS;
          break;
        }
        case COPY_BS:
          if (c === 46) { this.state = COPY_DOT; i++; } else this.state = COPY_MID;
          break;
        case COPY_DOT:
        case COPY_DOTCR:
          if (c === NL) { this.line++; this.lineStartAbs = this.offset + i + 1; i++; this.endCopy(); break; }
          if (c === CR && this.state === COPY_DOT) { this.state = COPY_DOTCR; i++; break; }
          this.state = c === NL ? COPY_LS : COPY_MID;
          break;
        default:
          return i;
      }
    }
    return i;
  }

  private endCopy(): void {
    if (this.copyPending > 0) { this.copyPending--; this.copyBlocks++; this.state = COPY_LS; return; }
    this.state = this.resume;
  }
}
