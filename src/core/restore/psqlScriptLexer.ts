/**
 * A streaming, byte-level model of how psql reads a script (src/fe_utils/psqlscan.l and
 * src/bin/psql/copy.c, versions 14 to 18): which backslashes psql would take as meta-commands and which
 * lines it would send as COPY data. It never builds strings per byte; strings, comments, dollar bodies
 * and COPY data are skipped with indexOf. Where psql's reading depends on server state the file can
 * change at run time (standard_conforming_strings) or on the psql version (a number run into a word,
 * BEGIN ... END heuristics), it reports an ambiguity instead of guessing, so its answer holds for every
 * reading. It assumes psql runs with ON_ERROR_STOP=1 (a failed statement ends the script).
 */

export type FindingKind = 'metaCommand' | 'ambiguousString' | 'nul' | 'numberWord' | 'copyForm' | 'unrestrictKey';

export interface Finding {
  kind: FindingKind;
  /** 1-based line where it starts. */
  line: number;
  /** The text involved (the meta-command line, trimmed and shortened). */
  text: string;
}

// States.
const INIT = 0, DASH = 1, SLASH = 2, LCOMMENT = 3, BCOMMENT = 4, BC_STAR = 5, BC_SLASH = 6;
const QUOTE = 7, QUOTE_END = 8, ESTR = 9, ESTR_END = 10, NOESC = 11, NOESC_END = 12, DQ = 13, DQ_END = 14;
const DOLLAR_OPEN = 15, DOLLAR_BODY = 16, DOLLAR_CLOSE = 17, IDENT = 18, NUMBER = 19, NUM_E = 20, NUM_ESIGN = 21;
const META = 22, COPY_LS = 23, COPY_BS = 24, COPY_DOT = 25, COPY_DOTCR = 26, COPY_MID = 27;

const NL = 10, CR = 13, BSL = 92, SQ = 39, DQT = 34, DOL = 36;
const MAX_META_LINE = 200;
const DUMP_COMPLETE = Buffer.from('-- PostgreSQL database dump complete');

// Words the model cares about (psql's CREATE FUNCTION ... BEGIN heuristic, COPY ... FROM stdin).
const W_OTHER = 0, W_CREATE = 1, W_FUNCTION = 2, W_PROCEDURE = 3, W_OR = 4, W_REPLACE = 5, W_BEGIN = 6, W_CASE = 7,
  W_END = 8, W_COPY = 9, W_FROM = 10, W_STDIN = 11;
const WORDS = new Map<string, number>([
  ['create', W_CREATE], ['function', W_FUNCTION], ['procedure', W_PROCEDURE], ['or', W_OR], ['replace', W_REPLACE],
  ['begin', W_BEGIN], ['case', W_CASE], ['end', W_END], ['copy', W_COPY], ['from', W_FROM], ['stdin', W_STDIN],
]);
const T_NONE = -1;

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOL;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === NL || c === CR || c === 12;
}

export class PsqlScriptLexer {
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

  private state = INIT;
  private offset = 0; // absolute offset of the current chunk's first byte
  private lineStartAbs = 0; // absolute offset where the current line starts
  private resume = INIT; // state to return to after COPY data
  private copyPending = 0;
  private parenDepth = 0;
  private beginDepth = 0;
  private identCount = 0;
  private readonly identifiers = [0, 0, 0, 0];
  private word = '';
  private wordLen = 0;
  private identIsUAmp = false;
  private dolTag = '';
  private dolCand = '';
  private bcDepth = 0;
  private escNext = false;
  private meta: number[] = [];
  private metaLine = 0;
  private metaMidLine = false;
  private commentAtLineStart = false;
  private commentBytes: number[] = [];
  private crCache = -2; // next CR at or after a position in the current chunk (-1: none)
  private bslCache = -2; // next backslash, likewise
  // Current segment (text since the last top-level semicolon): what COPY detection needs.
  private segCount = 0;
  private segFirst = T_NONE;
  private segHasStdin = false;
  private prev1 = T_NONE;
  private prev2 = T_NONE;

  /** Scans one chunk. Stops at the first finding. */
  scan(buf: Buffer): void {
    if (this.finding) return;
    const nul = buf.indexOf(0);
    const end = nul < 0 ? buf.length : nul;
    this.crCache = -2;
    this.bslCache = -2;
    this.run(buf, end);
    if (!this.finding && nul >= 0) this.refuse('nul', this.line, '');
    this.offset += buf.length;
  }

  /** End of input: decides a last line without a newline. */
  finish(): void {
    if (this.finding) return;
    if (this.state === META) this.decideMeta();
  }

  private refuse(kind: FindingKind, line: number, text: string): void {
    this.finding ??= { kind, line, text };
  }

  /** A newline at buf index `at` of the current chunk. */
  private newline(at: number): void {
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
  private countLines(buf: Buffer, from: number, to: number): void {
    for (let j = buf.indexOf(NL, from); j >= 0 && j < to; j = buf.indexOf(NL, j + 1)) {
      this.line++;
      this.lineStartAbs = this.offset + j + 1;
    }
  }

  /** Where a skip inside a quoted construct may jump to: the target, or the next newline when a COPY starts at it. */
  private skipLimit(buf: Buffer, i: number, target: number): number {
    if (this.copyPending === 0) return target;
    const n = buf.indexOf(NL, i);
    return n >= 0 && n < target ? n : target;
  }

  private token(t: number): void {
    this.sawDumpComplete = false;
    if (this.segCount === 0) this.segFirst = t;
    this.segCount++;
    if (t === W_STDIN) this.segHasStdin = true;
    this.prev2 = this.prev1;
    this.prev1 = t;
  }

  private endIdent(): void {
    const w = this.wordLen <= 12 ? (WORDS.get(this.word) ?? W_OTHER) : W_OTHER;
    if (this.identCount === 0) this.identifiers.fill(0);
    if (w >= W_CREATE && w <= W_REPLACE && this.identCount < 4) this.identifiers[this.identCount] = this.word.charCodeAt(0);
    this.identCount++;
    const ids = this.identifiers;
    const f = 102, p = 112, o = 111, r = 114;
    if (ids[0] === 99 && (ids[1] === f || ids[1] === p || (ids[1] === o && ids[2] === r && (ids[3] === f || ids[3] === p))) && this.parenDepth === 0) {
      if (w === W_BEGIN) this.beginDepth++;
      else if (w === W_CASE) { if (this.beginDepth >= 1) this.beginDepth++; }
      else if (w === W_END) { if (this.beginDepth > 0) this.beginDepth--; }
    }
    this.token(w);
  }

  private semicolon(): void {
    if (this.parenDepth > 0) return;
    const copyLike = this.segFirst === W_COPY && this.segHasStdin;
    if (this.beginDepth === 0) {
      if (copyLike) {
        if (this.prev2 === W_FROM && this.prev1 === W_STDIN) this.copyPending++;
        else this.refuse('copyForm', this.line, 'COPY');
      }
      this.identCount = 0;
    } else if (copyLike) {
      this.refuse('copyForm', this.line, 'COPY'); // psql 13 and older would end the statement here
    }
    this.segCount = 0;
    this.segFirst = T_NONE;
    this.segHasStdin = false;
    this.prev1 = this.prev2 = T_NONE;
  }

  private decideMeta(): void {
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

  private run(buf: Buffer, end: number): void {
    let i = 0;
    while (i < end && !this.finding) {
      const c = buf[i];
      switch (this.state) {
        case INIT: {
          const atLineStart = this.offset + i === this.lineStartAbs;
          if (c === NL) { this.newline(i); i++; break; }
          if (isSpace(c)) { i++; break; }
          if (isIdentStart(c)) { this.state = IDENT; this.word = ''; this.wordLen = 0; this.identIsUAmp = false; break; }
          if (isDigit(c)) { this.token(W_OTHER); this.state = NUMBER; i++; break; }
          i++;
          switch (c) {
            case BSL:
              this.state = META;
              this.meta = [c];
              this.metaLine = this.line;
              this.metaMidLine = !atLineStart; // never allowed mid-line
              this.holdFrom = this.offset + i - 1;
              break;
            case 45: this.state = DASH; this.commentAtLineStart = atLineStart; break; // -
            case 47: this.state = SLASH; break; // /
            case SQ: this.token(W_OTHER); this.state = QUOTE; this.escNext = false; break;
            case DQT: this.token(W_OTHER); this.state = DQ; break;
            case DOL: this.state = DOLLAR_OPEN; this.dolTag = ''; break;
            case 59: this.semicolon(); break; // ;
            case 40: this.parenDepth++; this.token(W_OTHER); break;
            case 41: if (this.parenDepth > 0) this.parenDepth--; this.token(W_OTHER); break;
            default: this.token(W_OTHER);
          }
          break;
        }
        case IDENT: {
          if (isIdentCont(c)) {
            let j = i + 1;
            while (j < end && isIdentCont(buf[j])) j++;
            if (this.wordLen < 16) this.word += buf.toString('latin1', i, Math.min(j, i + 16 - this.wordLen)).toLowerCase();
            this.wordLen += j - i;
            i = j;
            break;
          }
          this.state = INIT;
          if (c === SQ && this.wordLen === 1 && 'ebxn'.includes(this.word)) {
            // E'...', B'...', X'...', N'...': a string prefix, not an identifier.
            this.token(W_OTHER);
            this.state = this.word === 'e' ? ESTR : this.word === 'n' ? QUOTE : NOESC;
            this.escNext = false;
            i++;
            break;
          }
          if (c === 38 && this.wordLen === 1 && this.word === 'u') { this.token(W_OTHER); break; } // U& is not an identifier
          this.endIdent();
          break; // the byte is read again in INIT
        }
        case NUMBER:
          if (isDigit(c) || c === 46) { i++; while (i < end && (isDigit(buf[i]) || buf[i] === 46)) i++; break; }
          if (c === 101 || c === 69) { this.state = NUM_E; i++; break; }
          if (isIdentStart(c)) { this.refuse('numberWord', this.line, ''); break; }
          this.state = INIT;
          break;
        case NUM_E:
          if (isDigit(c)) { this.state = NUMBER; i++; break; }
          if (c === 43 || c === 45) { this.state = NUM_ESIGN; i++; break; }
          this.refuse('numberWord', this.line, '');
          break;
        case NUM_ESIGN:
          if (isDigit(c)) { this.state = NUMBER; i++; break; }
          this.refuse('numberWord', this.line, '');
          break;
        case DASH:
          if (c === 45) { this.state = LCOMMENT; this.commentBytes = this.commentAtLineStart ? [45, 45] : []; i++; break; }
          this.token(W_OTHER);
          this.state = INIT;
          break;
        case SLASH:
          if (c === 42) { this.state = BCOMMENT; this.bcDepth = 0; i++; break; }
          this.token(W_OTHER);
          this.state = INIT;
          break;
        case LCOMMENT: {
          // A -- comment ends at \n or \r (psql's lexer takes \r as a newline).
          let n = buf.indexOf(NL, i);
          if (n < 0 || n > end) n = end;
          if (this.crCache === -2 || (this.crCache >= 0 && this.crCache < i)) this.crCache = buf.indexOf(CR, i);
          const stop = this.crCache >= 0 && this.crCache < n ? this.crCache : n;
          if (this.commentAtLineStart && this.commentBytes.length <= DUMP_COMPLETE.length) {
            for (let j = i; j < stop && this.commentBytes.length <= DUMP_COMPLETE.length; j++) this.commentBytes.push(buf[j]);
          }
          i = stop;
          if (i < end) {
            this.state = INIT;
            if (this.commentAtLineStart && this.commentBytes.length === DUMP_COMPLETE.length && DUMP_COMPLETE.equals(Buffer.from(this.commentBytes))) {
              this.sawDumpComplete = true;
            }
          }
          break;
        }
        case BCOMMENT: {
          let j = i;
          while (j < end) {
            const b = buf[j];
            if (b === 42 || b === 47 || b === NL) break;
            j++;
          }
          i = j;
          if (j < end) {
            i++;
            if (buf[j] === NL) this.newline(j);
            else this.state = buf[j] === 42 ? BC_STAR : BC_SLASH;
          }
          break;
        }
        case BC_STAR:
          if (c === 47) {
            i++;
            if (this.bcDepth === 0) this.state = INIT;
            else { this.bcDepth--; this.state = BCOMMENT; }
          } else if (c === 42) i++;
          else this.state = BCOMMENT;
          break;
        case BC_SLASH:
          if (c === 42) { this.bcDepth++; i++; }
          this.state = BCOMMENT;
          break;
        case QUOTE:
        case ESTR:
        case NOESC:
        case DQ:
          i = this.quoted(buf, i, end);
          break;
        case QUOTE_END:
        case ESTR_END:
        case NOESC_END:
        case DQ_END:
          if (c === (this.state === DQ_END ? DQT : SQ)) { this.state -= 1; this.escNext = false; i++; } // doubled quote
          else this.state = INIT;
          break;
        case DOLLAR_OPEN:
          if (this.dolTag === '' && isDigit(c)) { this.token(W_OTHER); this.state = NUMBER; break; } // $1 parameter
          if (c === DOL) { this.token(W_OTHER); this.state = DOLLAR_BODY; i++; break; }
          if (isIdentStart(c) || (this.dolTag !== '' && isDigit(c))) { this.dolTag += String.fromCharCode(c); i++; break; }
          // "$" alone, or "$abc" not closed: the $ is a character, the rest is read again as an identifier.
          this.token(W_OTHER);
          this.state = INIT;
          if (this.dolTag !== '') { this.state = IDENT; this.word = this.dolTag.toLowerCase().slice(0, 16); this.wordLen = this.dolTag.length; this.identIsUAmp = false; }
          break;
        case DOLLAR_BODY: {
          let j = buf.indexOf(DOL, i);
          if (j < 0 || j > end) j = end;
          const lim = this.skipLimit(buf, i, j);
          this.countLines(buf, i, lim);
          if (lim < j) { i = lim + 1; this.newline(lim); break; }
          i = j;
          if (j < end) { this.state = DOLLAR_CLOSE; this.dolCand = ''; i++; }
          break;
        }
        case DOLLAR_CLOSE:
          if (c === DOL) {
            if (this.dolCand === this.dolTag) { this.state = INIT; i++; }
            else { this.dolCand = ''; i++; } // this $ may open the real closing tag
            break;
          }
          if (isIdentStart(c) || (this.dolCand !== '' && isDigit(c))) { this.dolCand += String.fromCharCode(c); i++; break; }
          this.state = DOLLAR_BODY;
          break;
        case META:
          if (c === NL) { this.decideMeta(); if (!this.finding) { this.newline(i); i++; } break; }
          this.meta.push(c);
          i++;
          if (this.meta.length > MAX_META_LINE) this.decideMeta();
          break;
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
      }
    }
  }

  private endCopy(): void {
    if (this.copyPending > 0) { this.copyPending--; this.copyBlocks++; this.state = COPY_LS; return; }
    this.state = this.resume;
  }

  /** Inside '...', E'...', B'...'/X'...' or "...": skips to the next byte that matters. */
  private quoted(buf: Buffer, i: number, end: number): number {
    const st = this.state;
    const q = st === DQ ? DQT : SQ;
    let j = buf.indexOf(q, i);
    if (j < 0 || j > end) j = end;
    if (st === QUOTE || st === ESTR) {
      if (this.bslCache === -2 || (this.bslCache >= 0 && this.bslCache < i)) this.bslCache = buf.indexOf(BSL, i);
    }
    if ((st === QUOTE || st === ESTR) && (this.escNext || (this.bslCache >= 0 && this.bslCache < j))) {
      // Backslashes before the quote: step byte by byte.
      for (let k = i; k < end; k++) {
        const b = buf[k];
        if (this.escNext) {
          this.escNext = false;
          if (b === SQ && st === QUOTE) {
            // standard_conforming_strings on ends the string here, off reads on: they disagree.
            this.refuse('ambiguousString', this.line, '');
            return k;
          }
          if (b === NL) { this.newline(k); if (this.state !== st) return k + 1; }
          continue;
        }
        if (b === BSL) { this.escNext = true; continue; }
        if (b === NL) { this.newline(k); if (this.state !== st) return k + 1; continue; }
        if (b === SQ) { this.state = st + 1; return k + 1; }
      }
      return end;
    }
    const lim = this.skipLimit(buf, i, j);
    this.countLines(buf, i, lim);
    if (lim < j) { this.newline(lim); return lim + 1; }
    if (j < end) { this.state = st + 1; return j + 1; }
    return end;
  }
}
