/**
 * A streaming, byte-level model of how psql reads a script (src/fe_utils/psqlscan.l and
 * src/bin/psql/copy.c, versions 14 to 18): which backslashes psql would take as meta-commands and which
 * lines it would send as COPY data. It never builds strings per byte; strings, comments, dollar bodies
 * and COPY data are skipped with indexOf. Where psql's reading depends on server state the file can
 * change at run time (standard_conforming_strings) or on the psql version (a number run into a word,
 * BEGIN ... END heuristics), it reports an ambiguity instead of guessing, so its answer holds for every
 * reading. It assumes psql runs with ON_ERROR_STOP=1 (a failed statement ends the script).
 *
 * This file is the SQL lexer; line numbers, COPY data and meta-command lines are in PsqlScriptLines (the
 * base class), the statement being read (parentheses, BEGIN ... END, COPY ... FROM stdin) in
 * PsqlScriptStatement. The states fall into groups (plain SQL, comments, quoted text, dollar quoting, a
 * meta-command line, COPY data); each group has one method that loops over the bytes while the state stays
 * in it, so run() dispatches once per change of group, not per byte.
 */
import { BYTE, PsqlScriptLines, STATE } from './psqlScriptLines';
import { PsqlScriptStatement } from './psqlScriptStatement';

export type { Finding, FindingKind } from './psqlScriptLines';

// Module-local copies, read in the per-byte loops (see psqlScriptLines.ts: imported bindings are slow under tsx).
const { INIT, DASH, SLASH, LCOMMENT, BCOMMENT, BC_STAR, BC_SLASH, QUOTE, ESTR, NOESC, DQ, QUOTE_END, ESTR_END,
  NOESC_END, DQ_END, DOLLAR_OPEN, DOLLAR_BODY, DOLLAR_CLOSE, IDENT, NUMBER, NUM_E, NUM_ESIGN, META, COPY_LS } = STATE;
const { NL, CR, BSL, SQ, DQT, DOL } = BYTE;
const DUMP_COMPLETE = Buffer.from('-- PostgreSQL database dump complete');

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

export class PsqlScriptLexer extends PsqlScriptLines {
  private readonly stmt = new PsqlScriptStatement();
  private word = '';
  private wordLen = 0;
  private dolTag = '';
  private dolCand = '';
  private bcDepth = 0;
  private escNext = false;
  private commentAtLineStart = false;
  private commentBytes: number[] = [];
  private crCache = -2; // next CR at or after a position in the current chunk (-1: none)
  private bslCache = -2; // next backslash, likewise

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

  private otherToken(): void {
    this.sawDumpComplete = false;
    this.stmt.otherToken();
  }

  private endIdent(): void {
    this.sawDumpComplete = false;
    this.stmt.identifier(this.word, this.wordLen);
  }

  private semicolon(): void {
    const effect = this.stmt.semicolon();
    if (effect === 'copyFromStdin') this.copyPending++;
    else if (effect === 'copyForm') this.refuse('copyForm', this.line, 'COPY');
  }

  /** Scans buf[0, end): hands the bytes to the method of the current state's group until the chunk or a finding ends it. */
  private run(buf: Buffer, end: number): void {
    let i = 0;
    while (i < end && !this.finding) {
      const st = this.state;
      if (st >= COPY_LS) i = this.copyData(buf, i, end);
      else if (st === META) i = this.metaCommand(buf, i, end);
      else if (st === INIT || st >= IDENT) i = this.plain(buf, i, end);
      else if (st <= BC_SLASH) i = this.comment(buf, i, end);
      else if (st <= DQ_END) i = this.quotedText(buf, i, end);
      else i = this.dollarQuoted(buf, i, end);
    }
  }

  /** Plain SQL (INIT, IDENT, NUMBER, NUM_E, NUM_ESIGN): whitespace, punctuation, words and numbers. */
  private plain(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding) {
      const c = buf[i];
      switch (this.state) {
        case INIT: {
          const atLineStart = this.offset + i === this.lineStartAbs;
          if (c === NL) { this.newline(i); i++; break; }
          if (isSpace(c)) { i++; break; }
          if (isIdentStart(c)) { this.state = IDENT; this.word = ''; this.wordLen = 0; break; }
          if (isDigit(c)) { this.otherToken(); this.state = NUMBER; i++; break; }
          i++;
          switch (c) {
            case BSL: this.startMeta(this.offset + i - 1, atLineStart); break;
            case 45: this.state = DASH; this.commentAtLineStart = atLineStart; break; // -
            case 47: this.state = SLASH; break; // /
            case SQ: this.otherToken(); this.state = QUOTE; this.escNext = false; break;
            case DQT: this.otherToken(); this.state = DQ; break;
            case DOL: this.state = DOLLAR_OPEN; this.dolTag = ''; break;
            case 59: this.semicolon(); break; // ;
            case 40: this.stmt.parenDepth++; this.otherToken(); break;
            case 41: if (this.stmt.parenDepth > 0) this.stmt.parenDepth--; this.otherToken(); break;
            default: this.otherToken();
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
          i += this.wordEnd(c);
          break;
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
        default:
          return i;
      }
    }
    return i;
  }

  /** A word ends at byte `c`: a string prefix, U&, or an identifier. Returns how many bytes it took (0: INIT reads `c` again). */
  private wordEnd(c: number): number {
    this.state = INIT;
    if (c === SQ && this.wordLen === 1 && 'ebxn'.includes(this.word)) {
      // E'...', B'...', X'...', N'...': a string prefix, not an identifier.
      this.otherToken();
      this.state = this.word === 'e' ? ESTR : this.word === 'n' ? QUOTE : NOESC;
      this.escNext = false;
      return 1;
    }
    if (c === 38 && this.wordLen === 1 && this.word === 'u') { this.otherToken(); return 0; } // U& is not an identifier
    this.endIdent();
    return 0;
  }

  /** Comments (DASH, SLASH, LCOMMENT, BCOMMENT, BC_STAR, BC_SLASH): -- to the end of the line, nested /* ... *\/. */
  private comment(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding) {
      const c = buf[i];
      switch (this.state) {
        case DASH:
          if (c === 45) { this.state = LCOMMENT; this.commentBytes = this.commentAtLineStart ? [45, 45] : []; i++; break; }
          this.otherToken();
          this.state = INIT;
          break;
        case SLASH:
          if (c === 42) { this.state = BCOMMENT; this.bcDepth = 0; i++; break; }
          this.otherToken();
          this.state = INIT;
          break;
        case LCOMMENT:
          i = this.lineComment(buf, i, end);
          break;
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
        default:
          return i;
      }
    }
    return i;
  }

  /** Inside a -- comment: skips to its end at \n or \r (psql's lexer takes \r as a newline), noting pg_dump's closing line. */
  private lineComment(buf: Buffer, i: number, end: number): number {
    let n = buf.indexOf(NL, i);
    if (n < 0 || n > end) n = end;
    if (this.crCache === -2 || (this.crCache >= 0 && this.crCache < i)) this.crCache = buf.indexOf(CR, i);
    const stop = this.crCache >= 0 && this.crCache < n ? this.crCache : n;
    if (this.commentAtLineStart && this.commentBytes.length <= DUMP_COMPLETE.length) {
      for (let j = i; j < stop && this.commentBytes.length <= DUMP_COMPLETE.length; j++) this.commentBytes.push(buf[j]);
    }
    if (stop < end) {
      this.state = INIT;
      if (this.commentAtLineStart && this.commentBytes.length === DUMP_COMPLETE.length && DUMP_COMPLETE.equals(Buffer.from(this.commentBytes))) {
        this.sawDumpComplete = true;
      }
    }
    return stop;
  }

  /** Quoted text (QUOTE, ESTR, NOESC, DQ and their _END states, where a doubled quote continues the text). */
  private quotedText(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding) {
      switch (this.state) {
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
          if (buf[i] === (this.state === DQ_END ? DQT : SQ)) { this.state -= 1; this.escNext = false; i++; } // doubled quote
          else this.state = INIT;
          break;
        default:
          return i;
      }
    }
    return i;
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

  /** Dollar quoting (DOLLAR_OPEN, DOLLAR_BODY, DOLLAR_CLOSE): $tag$ ... $tag$, or a $1 parameter, or a lone $. */
  private dollarQuoted(buf: Buffer, i: number, end: number): number {
    while (i < end && !this.finding) {
      const c = buf[i];
      switch (this.state) {
        case DOLLAR_OPEN:
          if (this.dolTag === '' && isDigit(c)) { this.otherToken(); this.state = NUMBER; break; } // $1 parameter
          if (c === DOL) { this.otherToken(); this.state = DOLLAR_BODY; i++; break; }
          if (isIdentStart(c) || (this.dolTag !== '' && isDigit(c))) { this.dolTag += String.fromCharCode(c); i++; break; }
          // "$" alone, or "$abc" not closed: the $ is a character, the rest is read again as an identifier.
          this.otherToken();
          this.state = INIT;
          if (this.dolTag !== '') { this.state = IDENT; this.word = this.dolTag.toLowerCase().slice(0, 16); this.wordLen = this.dolTag.length; }
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
        default:
          return i;
      }
    }
    return i;
  }
}
