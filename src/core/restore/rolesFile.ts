import { PgBackupError } from '../errors';
import { checkPlainSql } from './plainSqlCheck';

/**
 * A roles file (`pg_dumpall --roles-only`) read as untrusted input: it is parsed into data, never run.
 * Accepted: pg_dumpall's boilerplate (comments, `\restrict`/`\unrestrict` lines that passed the meta-command
 * gate, three `SET` lines), `CREATE ROLE name;` and `ALTER ROLE name WITH <role attributes>;`. Three more
 * forms pg_dumpall writes are recognised and reported as not applied: per-role settings (`ALTER ROLE name
 * [IN DATABASE db] SET|RESET …`), `COMMENT ON ROLE name IS '…'` and memberships (`GRANT role TO role …`).
 * Anything else is refused, naming the line.
 */
export interface RoleAttributes {
  superuser?: boolean;
  inherit?: boolean;
  createrole?: boolean;
  createdb?: boolean;
  login?: boolean;
  replication?: boolean;
  bypassrls?: boolean;
  connectionLimit?: number;
  validUntil?: string;
}

export interface ParsedRole {
  name: string;
  attributes: RoleAttributes;
  /** The password verifier (e.g. SCRAM-SHA-256$…): a secret, never logged or shown. */
  password?: string;
  /** Line of its CREATE ROLE (or first ALTER ROLE). */
  line: number;
}

export interface NotApplied {
  kind: 'setting' | 'comment' | 'membership';
  role: string;
  line: number;
}

export interface ParsedRolesFile {
  roles: ParsedRole[];
  notApplied: NotApplied[];
}

/** Attributes that give a role power over the whole server: they need an explicit yes. */
export const DANGEROUS_ATTRIBUTES = ['superuser', 'replication', 'bypassrls', 'createrole'] as const;
export type DangerousAttribute = (typeof DANGEROUS_ATTRIBUTES)[number];

export function dangerousAttributes(a: RoleAttributes): DangerousAttribute[] {
  return DANGEROUS_ATTRIBUTES.filter((k) => a[k] === true);
}

/** `LOGIN NOSUPERUSER CONNECTION LIMIT 5 …` in words (no password). */
export function describeAttributes(a: RoleAttributes): string[] {
  const out: string[] = [];
  for (const k of ['superuser', 'createrole', 'createdb', 'login', 'replication', 'bypassrls', 'inherit'] as const) {
    if (a[k] !== undefined) out.push(`${a[k] ? '' : 'NO'}${k.toUpperCase()}`);
  }
  if (a.connectionLimit !== undefined) out.push(`CONNECTION LIMIT ${a.connectionLimit}`);
  if (a.validUntil !== undefined) out.push(`VALID UNTIL '${a.validUntil}'`);
  return out;
}

type Token = { t: 'word'; v: string; quoted: boolean } | { t: 'string'; v: string } | { t: 'number'; v: number } | { t: 'punct'; v: string };
interface Statement {
  line: number;
  tokens: Token[];
  text: string;
}

const SAFE_SETTINGS: Record<string, RegExp> = {
  default_transaction_read_only: /^off$/i,
  client_encoding: /^[A-Za-z0-9_-]+$/,
  standard_conforming_strings: /^on$/i,
};
const FLAGS = new Set(['superuser', 'inherit', 'createrole', 'createdb', 'login', 'replication', 'bypassrls']);

function refuse(fileName: string, line: number, why: string): PgBackupError {
  return new PgBackupError('refused', `${fileName} line ${line}: ${why}; a roles file may only hold CREATE ROLE and ALTER ROLE statements as pg_dumpall writes them. Nothing was changed.`);
}

function shown(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 60 ? `${one.slice(0, 60)}…` : one);
}

/** A '…' literal or "…" name starting at `from` (doubled quotes inside); a name stays on its line and is not empty. */
function readQuoted(text: string, from: number, q: "'" | '"'): { value: string; next: number; newlines: number; error?: string } {
  let value = '';
  let newlines = 0;
  let i = from + 1;
  for (;;) {
    if (i >= text.length || (q === '"' && text[i] === '\n')) {
      return { value, next: i, newlines, error: q === "'" ? 'a string literal is not closed' : 'a quoted name is not closed on its line' };
    }
    if (text[i] === q) {
      if (text[i + 1] === q) {
        value += q;
        i += 2;
        continue;
      }
      break;
    }
    if (text[i] === '\n') newlines++;
    value += text[i++];
  }
  if (q === '"' && value === '') return { value, next: i + 1, newlines, error: 'an empty quoted name' };
  return { value, next: i + 1, newlines };
}

/** Splits the script into statements of tokens; meta-command lines (already gated) and comments are dropped. */
function tokenize(text: string, fileName: string): Statement[] {
  const out: Statement[] = [];
  let tokens: Token[] = [];
  let start = -1;
  let startLine = 1;
  let line = 1;
  let i = 0;
  const atLineStart = () => i === 0 || text[i - 1] === '\n';
  const lineText = () => text.slice(text.lastIndexOf('\n', i - 1) + 1, (text.indexOf('\n', i) + 1 || text.length + 1) - 1);
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\\' && atLineStart() && tokens.length === 0) {
      const end = text.indexOf('\n', i);
      const l = text.slice(i, end < 0 ? text.length : end);
      if (!/^\\(restrict|unrestrict) [A-Za-z0-9]+\s*$/.test(l)) throw refuse(fileName, line, `the psql meta-command ${shown(l)} is not one pg_dumpall writes`);
      i = end < 0 ? text.length : end;
    } else {
      if (tokens.length === 0) {
        start = i;
        startLine = line;
      }
      if (c === ';') {
        out.push({ line: startLine, tokens, text: text.slice(start, i + 1) });
        tokens = [];
        i++;
      } else if (c === "'" || c === '"') {
        const q = readQuoted(text, i, c);
        if (q.error) throw refuse(fileName, startLine, q.error);
        line += q.newlines;
        i = q.next;
        tokens.push(c === "'" ? { t: 'string', v: q.value } : { t: 'word', v: q.value, quoted: true });
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i, i + 200))!;
        if (text[i + m[0].length] === "'") throw refuse(fileName, line, `${shown(m[0] + "'")}: prefixed string literals are not what pg_dumpall writes with standard_conforming_strings on`);
        tokens.push({ t: 'word', v: m[0].toLowerCase(), quoted: false });
        i += m[0].length;
      } else if (/[-0-9]/.test(c)) {
        const m = /^-?\d{1,9}(?![0-9A-Za-z_.])/.exec(text.slice(i, i + 20));
        if (!m) throw refuse(fileName, line, `${shown(text.slice(i, i + 20))} is not a number pg_dumpall writes`);
        tokens.push({ t: 'number', v: Number(m[0]) });
        i += m[0].length;
      } else if (c === ',' || c === '=') {
        tokens.push({ t: 'punct', v: c });
        i++;
      } else {
        throw refuse(fileName, line, `${shown(lineText())}: the character ${JSON.stringify(c)} does not belong in a roles file`);
      }
    }
  }
  if (tokens.length) throw refuse(fileName, startLine, `${shown(text.slice(start))} does not end with ";"`);
  return out;
}

/** A parser over one statement's tokens. */
class Cursor {
  private i = 0;
  constructor(
    private readonly s: Statement,
    private readonly fileName: string,
  ) {}
  fail(why?: string): PgBackupError {
    return refuse(this.fileName, this.s.line, why ?? `${shown(this.s.text)} is not a statement pg_dumpall writes for roles`);
  }
  done(): boolean {
    return this.i >= this.s.tokens.length;
  }
  peekKeyword(...words: string[]): boolean {
    return words.every((w, k) => {
      const t = this.s.tokens[this.i + k];
      return t?.t === 'word' && !t.quoted && t.v === w;
    });
  }
  keyword(...words: string[]): boolean {
    if (!this.peekKeyword(...words)) return false;
    this.i += words.length;
    return true;
  }
  expect(...words: string[]): void {
    if (!this.keyword(...words)) throw this.fail();
  }
  name(): string {
    const t = this.s.tokens[this.i++];
    if (t?.t !== 'word') throw this.fail();
    return t.v;
  }
  string(): string {
    const t = this.s.tokens[this.i++];
    if (t?.t !== 'string') throw this.fail();
    return t.v;
  }
  number(): number {
    const t = this.s.tokens[this.i++];
    if (t?.t !== 'number') throw this.fail();
    return t.v;
  }
  punct(v: string): boolean {
    const t = this.s.tokens[this.i];
    if (t?.t !== 'punct' || t.v !== v) return false;
    this.i++;
    return true;
  }
  /** A setting value: one word or string. */
  value(): string {
    const t = this.s.tokens[this.i++];
    if (t?.t !== 'word' && t?.t !== 'string') throw this.fail();
    return t.v;
  }
  end(): void {
    if (!this.done()) throw this.fail();
  }
  /** The rest must be values of a SET: names, strings, numbers, commas (nothing is run; they are only skipped). */
  restIsValues(): void {
    if (this.done()) throw this.fail();
    while (!this.done()) {
      const t = this.s.tokens[this.i++];
      if (t.t === 'punct' && t.v !== ',') throw this.fail();
    }
  }
}

function parseAttributes(c: Cursor, role: ParsedRole): void {
  while (!c.done()) {
    if (c.keyword('connection', 'limit')) role.attributes.connectionLimit = c.number();
    else if (c.keyword('valid', 'until')) role.attributes.validUntil = c.string();
    else if (c.keyword('encrypted', 'password') || c.keyword('password')) {
      if (c.keyword('null')) role.password = undefined;
      else role.password = c.string();
    } else {
      const w = c.name();
      const flag = w.startsWith('no') && FLAGS.has(w.slice(2)) ? w.slice(2) : w;
      if (!FLAGS.has(flag)) throw c.fail(`"${w}" is not a role attribute pg_dumpall writes`);
      (role.attributes as Record<string, boolean>)[flag] = flag === w;
    }
  }
}

/** Parses a roles file; throws a `refused` error naming the first line that is not what pg_dumpall writes. */
export function parseRolesFile(input: Buffer | string, fileName = 'roles file'): ParsedRolesFile {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const gate = checkPlainSql(buf, fileName);
  if (gate.refusal) throw new PgBackupError('refused', gate.refusal.message.replace(/ If you trust this file.*$/, ''));
  const text = buf.toString('utf8');
  if (text.includes('\uFFFD')) throw new PgBackupError('refused', `${fileName} is not valid UTF-8 text; nothing was changed.`);
  const roles = new Map<string, ParsedRole>();
  const notApplied: NotApplied[] = [];
  for (const s of tokenize(text, fileName)) {
    const c = new Cursor(s, fileName);
    if (c.keyword('set')) {
      const setting = c.name();
      if (!c.punct('=') && !c.keyword('to')) throw c.fail();
      const value = c.value();
      c.end();
      if (!SAFE_SETTINGS[setting]?.test(value)) throw c.fail(`${shown(s.text)} is not one of the SET lines pg_dumpall writes`);
    } else if (c.keyword('create', 'role')) {
      const name = c.name();
      c.end();
      checkRoleName(name, s, fileName);
      if (!roles.has(name)) roles.set(name, { name, attributes: {}, line: s.line });
    } else if (c.keyword('alter', 'role')) {
      const name = c.name();
      checkRoleName(name, s, fileName);
      if (c.keyword('with')) {
        const role = roles.get(name) ?? { name, attributes: {}, line: s.line };
        roles.set(name, role);
        parseAttributes(c, role);
      } else {
        if (c.keyword('in', 'database')) c.name();
        if (c.keyword('set')) {
          c.name();
          if (!c.keyword('to') && !c.keyword('from', 'current')) throw c.fail();
          if (!c.done()) c.restIsValues();
        } else if (c.keyword('reset')) {
          c.name();
          c.end();
        } else throw c.fail();
        notApplied.push({ kind: 'setting', role: name, line: s.line });
      }
    } else if (c.keyword('comment', 'on', 'role')) {
      const name = c.name();
      c.expect('is');
      if (!c.keyword('null')) c.string();
      c.end();
      notApplied.push({ kind: 'comment', role: name, line: s.line });
    } else if (c.keyword('grant')) {
      const granted = c.name();
      c.expect('to');
      const member = c.name();
      if (c.keyword('with')) {
        do {
          c.name();
          if (!c.keyword('true') && !c.keyword('false') && !c.keyword('option')) throw c.fail();
        } while (c.punct(','));
      }
      if (c.keyword('granted', 'by')) c.name();
      c.end();
      notApplied.push({ kind: 'membership', role: `${granted} → ${member}`, line: s.line });
    } else {
      throw c.fail();
    }
  }
  return { roles: [...roles.values()], notApplied };
}

function checkRoleName(name: string, s: Statement, fileName: string): void {
  if (name.startsWith('pg_')) throw refuse(fileName, s.line, `"${name}" is a reserved role name that pg_dumpall never writes`);
  if (Buffer.byteLength(name) > 63) throw refuse(fileName, s.line, `the role name ${shown(name)} is longer than Postgres allows`);
}
