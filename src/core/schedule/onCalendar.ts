import { parseCron, type CronSpec } from './cronExpression';

const SYSTEMD_WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Renders a set of values of one component: `*` for all of them, `a/n` for a progression that runs to
 * the end of the component, else a list of values and `a..b` ranges.
 */
function component(values: readonly number[], min: number, max: number, show: (n: number) => string = pad): string {
  if (values.length === max - min + 1) return '*';
  if (values.length > 2) {
    const step = values[1] - values[0];
    const progression = values.every((v, i) => i === 0 || v - values[i - 1] === step);
    // Only a step that divides the component evenly: systemd 252 gets `*:00/7` wrong across midnight
    // (after 23:56 it fires at 00:07, not 00:00), where the list of the same minutes is right.
    const even = values[0] - min < step && (max - min + 1) % step === 0;
    if (progression && step > 1 && even && values[values.length - 1] + step > max) return `${show(values[0])}/${step}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    if (j - i >= 2) parts.push(`${show(values[i])}..${show(values[j])}`);
    else for (let k = i; k <= j; k++) parts.push(show(values[k]));
    i = j + 1;
  }
  return parts.join(',');
}

/** Weekdays Monday first (systemd's order), as names and ranges such as Mon..Fri. */
function weekdays(days: readonly number[]): string {
  const mondayFirst = days.map((d) => (d === 0 ? 7 : d)).sort((a, b) => a - b);
  return component(mondayFirst, 1, 7, (d) => SYSTEMD_WEEKDAYS[d % 7]);
}

/**
 * The systemd OnCalendar= values that fire exactly when the cron expression does (local time). cron ORs
 * a restricted day of month with a restricted day of week, where systemd ANDs the parts of one value,
 * so that case becomes two values (a timer fires on any of its OnCalendar= lines). Every expression
 * parseCron accepts can be written this way, so there is no fallback and no refusal here.
 */
export function cronToOnCalendar(expression: string | CronSpec): string[] {
  const spec = typeof expression === 'string' ? parseCron(expression) : expression;
  const time = `${component(spec.hours, 0, 23)}:${component(spec.minutes, 0, 59)}:00`;
  const months = component(spec.months, 1, 12);
  const days = component(spec.daysOfMonth, 1, 31);
  const allWeekdays = spec.daysOfWeek.length === 7;
  const dow = allWeekdays ? '' : `${weekdays(spec.daysOfWeek)} `;
  const or = !spec.domStar && !spec.dowStar;
  if (or) return [`*-${months}-${days} ${time}`, `${dow}*-${months}-* ${time}`];
  return [`${dow}*-${months}-${days} ${time}`];
}
