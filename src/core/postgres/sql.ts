/**
 * The one place SQL identifiers and literals are quoted. Every name that reaches SQL (database,
 * role, schema, table, setting value) goes through these; nothing is ever spliced in raw.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('an SQL identifier cannot be empty');
  if (name.includes('\0')) throw new Error('an SQL identifier cannot contain a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A standard-conforming string literal; E'' is used when the value has a backslash. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('an SQL literal cannot contain a NUL character');
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** `schema.table` for pg_dump's -t/-n patterns, matching exactly these names (no wildcards). */
export function exactPattern(...parts: string[]): string {
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

/**
 * Settings whose value is a list that pg stores quoted element by element (GUC_LIST_QUOTE);
 * `ALTER DATABASE … SET` must get them as separate literals, as pg_dump does.
 */
const LIST_QUOTE_SETTINGS = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
]);

/** Splits a stored GUC list value (`"$user", public`) into its elements, like SplitGUCList. */
export function splitGucList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = value;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  skipWs();
  if (i >= s.length) return out;
  for (;;) {
    let item = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`unterminated quoted list element in ${value}`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        item += s[i++];
      }
    } else {
      while (i < s.length && s[i] !== ',' && !/\s/.test(s[i])) item += s[i++];
    }
    out.push(item);
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ',') throw new Error(`invalid list syntax in ${value}`);
    i++;
    skipWs();
  }
  return out;
}

/** `name = value` for ALTER DATABASE/ROLE … SET, from one `name=value` entry of pg_db_role_setting. */
export function settingAssignment(entry: string): string {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new Error(`not a setting: ${entry}`);
  const name = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  const values = LIST_QUOTE_SETTINGS.has(name.toLowerCase()) ? splitGucList(value) : [value];
  const rhs = values.length === 0 ? "''" : values.map(quoteLiteral).join(', ');
  return `${quoteIdent(name)} = ${rhs}`;
}

/**
 * Splits a pg_dump/psql name pattern at its unquoted dots and turns each part into an anchored regular
 * expression the way processSQLNamePattern does: unquoted letters fold to lower case, `*` and `?` are
 * wildcards, double-quoted text matches literally (`""` is a quote).
 */
export function patternToRegexes(pattern: string): RegExp[] {
  const parts: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '"') {
      if (inQuotes && pattern[i + 1] === '"') {
        cur += '"';
        i++;
      } else inQuotes = !inQuotes;
      continue;
    }
    if (inQuotes) cur += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else if (ch === '*') cur += '.*';
    else if (ch === '?') cur += '.';
    else cur += ch.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  parts.push(cur);
  return parts.map((p) => new RegExp(`^(?:${p})$`, 'u'));
}

/** Whether pg_dump with these -t / -n patterns dumps the table (-n is ignored when -t is given). */
export function tableMatchesPatterns(schema: string, table: string, tables: readonly string[], schemas: readonly string[]): boolean {
  if (tables.length > 0) {
    return tables.some((t) => {
      const re = patternToRegexes(t);
      const [s, n] = re.length >= 2 ? re.slice(-2) : [undefined, re[0]];
      return n.test(table) && (!s || s.test(schema));
    });
  }
  if (schemas.length > 0) return schemas.some((p) => patternToRegexes(p)[0].test(schema));
  return true;
}
