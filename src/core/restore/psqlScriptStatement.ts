/**
 * What psql's lexer remembers about the statement being read, as far as PsqlScriptLexer needs it: the
 * parenthesis depth, the CREATE FUNCTION/PROCEDURE ... BEGIN ... END heuristic (psqlscan.l's identifier_count
 * and begin_depth, which decide whether a semicolon ends the statement), and the tokens since the last
 * top-level semicolon that tell a COPY ... FROM stdin (whose data lines follow the statement).
 */

// Words the model cares about (psql's CREATE FUNCTION ... BEGIN heuristic, COPY ... FROM stdin).
const W_OTHER = 0, W_CREATE = 1, W_FUNCTION = 2, W_PROCEDURE = 3, W_OR = 4, W_REPLACE = 5, W_BEGIN = 6, W_CASE = 7,
  W_END = 8, W_COPY = 9, W_FROM = 10, W_STDIN = 11;
const WORDS = new Map<string, number>([
  ['create', W_CREATE], ['function', W_FUNCTION], ['procedure', W_PROCEDURE], ['or', W_OR], ['replace', W_REPLACE],
  ['begin', W_BEGIN], ['case', W_CASE], ['end', W_END], ['copy', W_COPY], ['from', W_FROM], ['stdin', W_STDIN],
]);
const T_NONE = -1;

/** What a semicolon did: nothing COPY-related, ended a COPY ... FROM stdin, or ended a COPY the model refuses. */
export type SemicolonEffect = 'none' | 'copyFromStdin' | 'copyForm';

export class PsqlScriptStatement {
  parenDepth = 0;
  private beginDepth = 0;
  private identCount = 0;
  private readonly identifiers = [0, 0, 0, 0];
  // Current segment (text since the last top-level semicolon): what COPY detection needs.
  private segCount = 0;
  private segFirst = T_NONE;
  private segHasStdin = false;
  private prev1 = T_NONE;
  private prev2 = T_NONE;

  /** A token that is not an identifier: punctuation, a number, a string, a quoted identifier. */
  otherToken(): void {
    this.token(W_OTHER);
  }

  private token(t: number): void {
    if (this.segCount === 0) this.segFirst = t;
    this.segCount++;
    if (t === W_STDIN) this.segHasStdin = true;
    this.prev2 = this.prev1;
    this.prev1 = t;
  }

  /** An identifier ended: `word` is its first (up to 16) bytes lowercased, `wordLen` its full length. */
  identifier(word: string, wordLen: number): void {
    const w = wordLen <= 12 ? (WORDS.get(word) ?? W_OTHER) : W_OTHER;
    if (this.identCount === 0) this.identifiers.fill(0);
    if (w >= W_CREATE && w <= W_REPLACE && this.identCount < 4) this.identifiers[this.identCount] = word.charCodeAt(0);
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

  /** A `;` outside quotes and comments. */
  semicolon(): SemicolonEffect {
    if (this.parenDepth > 0) return 'none';
    const copyLike = this.segFirst === W_COPY && this.segHasStdin;
    let effect: SemicolonEffect = 'none';
    if (this.beginDepth === 0) {
      if (copyLike) effect = this.prev2 === W_FROM && this.prev1 === W_STDIN ? 'copyFromStdin' : 'copyForm';
      this.identCount = 0;
    } else if (copyLike) {
      effect = 'copyForm'; // psql 13 and older would end the statement here
    }
    this.segCount = 0;
    this.segFirst = T_NONE;
    this.segHasStdin = false;
    this.prev1 = this.prev2 = T_NONE;
    return effect;
  }
}
