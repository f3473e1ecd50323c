import type { CalendarSpecDescription, Range } from '@temporalio/client';

/*
 * Temporal compiles cron expressions into structured calendars and describes them back that way; this
 * renders a calendar as a cron line again, so `warden schedule ls` shows what an operator typed.
 */

const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

function num(v: unknown, names?: string[]): number {
  if (typeof v === 'number') return v;
  const i = names?.indexOf(String(v)) ?? -1;
  // Months are 1-based in cron, days of week 0-based.
  return names === MONTHS ? i + 1 : i;
}

function field(ranges: Range<unknown>[] | undefined, min: number, max: number, names?: string[]): string {
  if (!ranges?.length) return '*';
  return ranges
    .map((r) => {
      const start = num(r.start, names);
      const end = Math.max(num(r.end ?? r.start, names), start);
      const step = r.step > 1 ? r.step : 1;
      const span = start === min && end === max ? '*' : end > start ? `${start}-${end}` : `${start}`;
      return step > 1 ? `${span}/${step}` : span;
    })
    .join(',');
}

/** A calendar as a cron line: `minute hour day-of-month month day-of-week` (seconds first when not 0). */
export function calendarText(c: CalendarSpecDescription): string {
  const second = field(c.second, 0, 59);
  const fields = [
    field(c.minute, 0, 59),
    field(c.hour, 0, 23),
    field(c.dayOfMonth, 1, 31),
    field(c.month, 1, 12, MONTHS),
    field(c.dayOfWeek, 0, 6, DAYS),
  ];
  const line = (second === '0' ? fields : [second, ...fields]).join(' ');
  return c.comment ? `${line} # ${c.comment}` : line;
}
