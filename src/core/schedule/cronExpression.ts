import { Cron } from 'croner';
import { toString as cronToWords } from 'cronstrue';
import { PgBackupError } from '../errors';

/**
 * A five-field cron expression as crontab(5) reads it (minute hour day-of-month month day-of-week, with
 * `*`, lists, ranges, steps, month and weekday names, and the nicknames @hourly…@yearly). The same
 * grammar serves the crontab line, the systemd timer and the extension's runner, so an expression means
 * the same thing in all three: extensions that crontab does not know (`L`, `W`, `#`, `?`, seconds,
 * years) are refused.
 */
export interface CronSpec {
  /** The expression as written (trimmed; a nickname is kept as written). */
  expression: string;
  /** The five fields (a nickname replaced by its fields). */
  fields: [string, string, string, string, string];
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  /** 0 = Sunday … 6 = Saturday (7 is folded into 0). */
  daysOfWeek: number[];
  /** Day-of-month / day-of-week field starts with `*` (cron then ANDs them, else it ORs them). */
  domStar: boolean;
  dowStar: boolean;
}

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of names[0]. */
  nameBase?: number;
}
const FIELDS: FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

function invalid(expression: string, why: string): PgBackupError {
  return new PgBackupError(
    'usage',
    `"${expression}" is not a cron expression crontab understands: ${why}. Write five fields, minute hour day-of-month month day-of-week, e.g. "0 2 * * *" for 02:00 every day.`,
  );
}

function value(text: string, def: FieldDef, expression: string): number {
  const lower = text.toLowerCase();
  if (def.names && def.names.includes(lower)) return def.names.indexOf(lower) + (def.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw invalid(expression, `"${text}" is not a valid ${def.name}`);
  const n = Number(text);
  if (n < def.min || n > def.max) throw invalid(expression, `${def.name} ${n} is outside ${def.min}-${def.max}`);
  return n;
}

/** Expands one field (`*`, `a`, `a-b`, `*\/n`, `a-b/n`, lists of those) to its sorted values. */
function expandField(text: string, def: FieldDef, expression: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw invalid(expression, `"${part}" is not a valid ${def.name}`);
    const [, range, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw invalid(expression, `the step in "${part}" must be at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = def.min;
      hi = def.max === 7 ? 6 : def.max;
    } else if (range.includes('-')) {
      const [a, b, ...rest] = range.split('-');
      if (rest.length) throw invalid(expression, `"${part}" is not a valid ${def.name}`);
      lo = value(a, def, expression);
      hi = value(b, def, expression);
      if (lo > hi) throw invalid(expression, `the range "${range}" runs backwards`);
    } else {
      if (stepText !== undefined) throw invalid(expression, `"${part}": a step needs a range or * before it (e.g. */${stepText})`);
      lo = hi = value(range, def, expression);
    }
    for (let v = lo; v <= hi; v += step) out.add(def.max === 7 && v === 7 ? 0 : v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses and checks a cron expression; throws a usage error saying what is wrong. */
export function parseCron(expression: string): CronSpec {
  const trimmed = expression.trim();
  if (!trimmed) throw invalid(expression, 'it is empty');
  let fieldsText = trimmed;
  if (trimmed.startsWith('@')) {
    const nick = NICKNAMES[trimmed.toLowerCase()];
    if (!nick) throw invalid(expression, `${trimmed} is not a schedule (use @hourly, @daily, @weekly, @monthly or @yearly)`);
    fieldsText = nick;
  }
  const fields = fieldsText.split(/\s+/);
  if (fields.length !== 5) throw invalid(expression, `it has ${fields.length} field${fields.length === 1 ? '' : 's'}, not 5`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields.map((f, i) => expandField(f, FIELDS[i], expression));
  const domStar = fields[2].startsWith('*');
  const dowStar = fields[4].startsWith('*');
  // Vixie cron ANDs day-of-month and day-of-week when either field starts with `*`, and ORs them otherwise;
  // other cron programs (and croner) look for a bare `*` only. `*/n` beside a restricted field is refused.
  const domBare = fields[2] === '*';
  const dowBare = fields[4] === '*';
  if ((domStar || dowStar) && !domBare && !dowBare) {
    const starred = domStar ? fields[2] : fields[4];
    const range = domStar ? '1-31' : '0-6';
    throw invalid(expression, `"${starred}" beside a restricted ${domStar ? 'day of week' : 'day of month'} is read differently by different cron programs; write it as ${range}${starred.slice(1)}, or make the other field *`);
  }
  const longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (!domBare && dowBare && months.every((m) => daysOfMonth.every((d) => d > longest[m - 1]))) {
    throw invalid(expression, 'none of its months has that day, so it would never run');
  }
  return { expression: trimmed, fields: fields as CronSpec['fields'], minutes, hours, daysOfMonth, months, daysOfWeek, domStar, dowStar };
}

/** Validates without throwing: undefined when fine, else the message (for a settings UI). */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function croner(spec: CronSpec, timezone?: string): Cron {
  // croner ORs day-of-month and day-of-week unless one is a bare `*`: cron's rule for what parseCron accepts
  return new Cron(spec.fields.join(' '), { mode: '5-part', domAndDow: false, timezone, paused: true });
}

/** The next `count` run times strictly after `after`, in local time (or `timezone`). */
export function nextRuns(expression: string | CronSpec, after: Date, count = 1, timezone?: string): Date[] {
  const spec = typeof expression === 'string' ? parseCron(expression) : expression;
  return croner(spec, timezone).nextRuns(count, after);
}

export function nextRun(expression: string | CronSpec, after: Date, timezone?: string): Date | undefined {
  return nextRuns(expression, after, 1, timezone)[0];
}

/** The latest run time at or before `at` (a slot exactly at `at` counts). */
export function previousRun(expression: string | CronSpec, at: Date, timezone?: string): Date | undefined {
  const spec = typeof expression === 'string' ? parseCron(expression) : expression;
  // previousRuns is exclusive of its reference: ask from just after `at`
  return croner(spec, timezone).previousRuns(1, new Date(at.getTime() + 1))[0];
}

/** The expression in words, e.g. "At 02:00" or "Every 15 minutes, Monday through Friday". */
export function describeCron(expression: string): string {
  const spec = parseCron(expression);
  return cronToWords(spec.fields.join(' '), { use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: true });
}
