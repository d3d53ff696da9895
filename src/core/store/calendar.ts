/** A wall-clock reading: the calendar fields of an instant in some time zone (month 1–12). */
export interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/**
 * A time zone as retention sees it: instant → wall clock, and wall clock → instant. Retention uses this
 * machine's local time (`localZone`, i.e. the TZ the process runs with); tests inject a named zone.
 */
export interface TimeZone {
  readonly name: string;
  fields(at: Date): CalendarFields;
  /** The instant a wall-clock reading means (inside a DST gap: some instant next to it, as Date does). */
  toDate(f: CalendarFields): Date;
}

/** This machine's local time, through Date's own getters (fast; follows process.env.TZ). */
export const localZone: TimeZone = {
  name: 'local',
  fields: (d) => ({
    year: d.getFullYear(),
    month: d.getMonth() + 1,
    day: d.getDate(),
    hour: d.getHours(),
    minute: d.getMinutes(),
    second: d.getSeconds(),
    millisecond: d.getMilliseconds(),
  }),
  toDate: (f) => new Date(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.millisecond),
};

/** Reads fields of an IANA zone with Intl (for tests and anyone who wants a zone other than the machine's). */
export function namedZone(name: string): TimeZone {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const fields = (d: Date): CalendarFields => {
    const out: Record<string, number> = {};
    for (const p of format.formatToParts(d)) if (p.type !== 'literal') out[p.type] = Number(p.value);
    return { year: out.year, month: out.month, day: out.day, hour: out.hour, minute: out.minute, second: out.second, millisecond: d.getUTCMilliseconds() };
  };
  const offsetAt = (ms: number) => utcOf(fields(new Date(ms))) - ms;
  return {
    name,
    fields,
    toDate: (f) => {
      const wall = utcOf(f);
      let t = wall - offsetAt(wall);
      const second = offsetAt(t);
      if (wall - second !== t) t = wall - second;
      return new Date(t);
    },
  };
}

/** The wall-clock fields read as if they were UTC (milliseconds); also normalises overflowing fields. */
export function utcOf(f: CalendarFields): number {
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.millisecond);
}

/** Normalised fields after adding years, months and days on the calendar, as Go's AddDate does (Feb 31 → Mar 3). */
export function addCalendar(f: CalendarFields, years: number, months: number, days: number): CalendarFields {
  const d = new Date(Date.UTC(f.year + years, f.month - 1 + months, f.day + days, f.hour, f.minute, f.second, f.millisecond));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

/** ISO 8601 week of a calendar day: weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const d = Date.UTC(year, month - 1, day);
  const weekday = (new Date(d).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(d + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  return { year: isoYear, week: 1 + Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000)) };
}
