/**
 * Reporting periods. An opportunity belongs to the period of its created_at instant read as a
 * local calendar date in the reporting time zone; every grain is then a function of that date
 * alone, so `--from/--to` and grouping agree with each other and with SQL `date_trunc`.
 * Dates are 'YYYY-MM-DD' strings: they sort as text, so ranges compare without parsing.
 */
import { MS_PER_DAY, type Instant } from './time.js';

export type PeriodGrain = 'day' | 'week' | 'month' | 'quarter';
export const PERIOD_GRAINS: readonly PeriodGrain[] = ['day', 'week', 'month', 'quarter'];

export const isPeriodGrain = (text: string): text is PeriodGrain =>
  (PERIOD_GRAINS as readonly string[]).includes(text);

export interface ReportingCalendar {
  readonly timeZone: string;
  /** 1–12: the calendar month on whose first day fiscal Q1 begins. */
  readonly fiscalYearStartMonth: number;
}
export const UTC_CALENDAR: ReportingCalendar = { timeZone: 'UTC', fiscalYearStartMonth: 1 };

const MS_PER_HOUR = 3_600_000;

interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; any year, no Date). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function civilFromDays(days: number): CivilDate {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shifted = Math.floor((5 * dayOfYear + 2) / 153);
  const month = shifted < 10 ? shifted + 3 : shifted - 9;
  return {
    year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1,
  };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad4 = (n: number): string => `${n}`.padStart(4, '0');
const formatDate = (year: number, month: number, day: number): string =>
  `${pad4(year)}-${pad2(month)}-${pad2(day)}`;

/** A 'YYYY-MM-DD' date, as days since the epoch, is written in four digits only for years 0–9999. */
const FIRST_DAY = daysFromCivil(0, 1, 1);
const LAST_DAY = daysFromCivil(9999, 12, 31);
/**
 * Before its first transition (all after 1800) a zone keeps its earliest offset; Intl is asked
 * about no earlier instant, so it never sees BC years, whose `year` part it would write unsigned.
 */
const EARLIEST_ASKED = daysFromCivil(1000, 1, 1) * MS_PER_DAY;

// ---- Zones ---------------------------------------------------------------------------------

/** Offset of a zone at an instant, in ms (local wall clock − UTC). */
type OffsetAt = (instant: Instant) => number;

const zones = new Map<string, OffsetAt>();
const MAX_ZONES = 1_000;
const OFFSET_BUCKETS_PER_ZONE = 65_536; // hours: 7.5 years of distinct created_at hours
const MIXED = Number.NaN; // an hour that contains a transition: asked of Intl per instant

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    calendar: 'gregory',
    numberingSystem: 'latn',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

/** Etc/GMT+5 is UTC−5 (POSIX sign), fixed for all time. */
const ETC_GMT = /^Etc\/GMT([+-])(\d{1,2})$/;

/**
 * The zone's offset function. UTC and Etc/GMT±N are arithmetic. Other zones ask Intl the offset at
 * both ends of the instant's UTC hour and remember it when the two agree: the local date is then
 * computed from instant + offset, so 30/45-minute and LMT offsets with seconds stay exact. (A
 * cached date per bucket would not.) Transitions are months apart, so an hour holds at most one.
 */
function zoneOffsets(timeZone: string): OffsetAt {
  const known = zones.get(timeZone);
  if (known !== undefined) return known;
  const format = formatterFor(timeZone); // throws RangeError for an unknown zone
  const canonical = format.resolvedOptions().timeZone;
  const etc = ETC_GMT.exec(canonical);
  let offsetAt: OffsetAt;
  if (canonical === 'UTC') offsetAt = () => 0;
  else if (etc !== null) {
    const offset = (etc[1] === '+' ? -1 : 1) * Number(etc[2]) * MS_PER_HOUR;
    offsetAt = () => offset;
  } else offsetAt = cachedOffsets(format);
  if (zones.size >= MAX_ZONES) zones.clear();
  zones.set(timeZone, offsetAt);
  return offsetAt;
}

function cachedOffsets(format: Intl.DateTimeFormat): OffsetAt {
  const exact = (instant: Instant): number => intlOffset(format, Math.max(instant, EARLIEST_ASKED));
  const byHour = new Map<number, number>();
  let lastHour = Number.NaN;
  let lastOffset = Number.NaN;
  return (instant) => {
    const hour = Math.floor(instant / MS_PER_HOUR);
    if (hour !== lastHour) {
      let offset = byHour.get(hour);
      if (offset === undefined) {
        const start = exact(hour * MS_PER_HOUR);
        offset = start === exact(hour * MS_PER_HOUR + MS_PER_HOUR - 1) ? start : MIXED;
        if (byHour.size >= OFFSET_BUCKETS_PER_ZONE) byHour.clear();
        byHour.set(hour, offset);
      }
      lastHour = hour;
      lastOffset = offset;
    }
    return Number.isNaN(lastOffset) ? exact(instant) : lastOffset;
  };
}

function intlOffset(format: Intl.DateTimeFormat, instant: Instant): number {
  const wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of format.formatToParts(instant)) {
    if (part.type in wall) wall[part.type as keyof typeof wall] = Number(part.value);
  }
  const wallMs =
    daysFromCivil(wall.year, wall.month, wall.day) * MS_PER_DAY +
    wall.hour * MS_PER_HOUR +
    wall.minute * 60_000 +
    wall.second * 1000;
  return wallMs - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The name Intl resolves an IANA zone to ('europe/berlin' → 'Europe/Berlin', 'Etc/UTC' → 'UTC'),
 * or null for an unknown one. Offsets ('+05:30', which newer Node accepts) are not IANA names.
 */
export function canonicalTimeZone(name: string): string | null {
  if (name === '' || name.startsWith('+') || name.startsWith('-')) return null;
  try {
    return formatterFor(name).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * Local calendar date 'YYYY-MM-DD' of an instant in a zone (a local midnight belongs to the day it
 * starts). Throws RangeError for an unknown zone, a non-finite instant, or a local year outside
 * 0–9999: callers validate the zone once with canonicalTimeZone, and parseInstant yields no others.
 */
export function localDate(instant: Instant, timeZone: string): string {
  if (!Number.isFinite(instant)) throw new RangeError(`localDate: not an instant: ${instant}`);
  const days = Math.floor((instant + zoneOffsets(timeZone)(instant)) / MS_PER_DAY);
  if (days < FIRST_DAY || days > LAST_DAY)
    throw new RangeError(`localDate: ${instant} is outside years 0–9999`);
  const { year, month, day } = civilFromDays(days);
  return formatDate(year, month, day);
}

// ---- Dates and periods ---------------------------------------------------------------------

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function readDate(text: string): CivilDate | null {
  const match = LOCAL_DATE.exec(text);
  if (match === null) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return null;
  // Round-tripping through day numbers refuses 2023-02-29 and 2024-04-31 without a month table.
  const back = civilFromDays(daysFromCivil(year, month, day));
  return back.month === month && back.day === day ? { year, month, day } : null;
}

/** 'YYYY-MM-DD' when the text is exactly that and a real calendar date; otherwise null. */
export function parseLocalDate(text: string): string | null {
  return readDate(text) === null ? null : text;
}

function dateOrThrow(date: string, fiscalYearStartMonth: number): CivilDate {
  if (!Number.isInteger(fiscalYearStartMonth) || fiscalYearStartMonth < 1 || fiscalYearStartMonth > 12)
    throw new RangeError(`fiscalYearStartMonth must be an integer 1–12, not ${fiscalYearStartMonth}`);
  const civil = readDate(date);
  if (civil === null) throw new RangeError(`not a calendar date 'YYYY-MM-DD': ${JSON.stringify(date)}`);
  return civil;
}

/** Days since 1970-01-01 of the Monday starting the ISO week of `days`. */
const mondayOf = (days: number): number => days - ((((days + 3) % 7) + 7) % 7); // 1970-01-01 was a Thursday

/** The fiscal year a date falls in, by its first calendar year, and the quarter (1–4) within it. */
function fiscalQuarter(civil: CivilDate, startMonth: number): { startYear: number; quarter: number } {
  const startYear = civil.month >= startMonth ? civil.year : civil.year - 1;
  return { startYear, quarter: Math.floor(((civil.month - startMonth + 12) % 12) / 3) + 1 };
}

/**
 * The period label of a local date: '2024-03-10', '2024-W10' (ISO week-year), '2024-03',
 * 'FY2025-Q1' (the fiscal year is named by the calendar year in which it ends).
 * Throws RangeError for a malformed date or start month: both are validated at the edge.
 */
export function periodOfDate(date: string, grain: PeriodGrain, fiscalYearStartMonth: number): string {
  const civil = dateOrThrow(date, fiscalYearStartMonth);
  switch (grain) {
    case 'day':
      return date;
    case 'week': {
      // The ISO week belongs to the year holding its Thursday; week 1 holds the year's first Thursday.
      const thursday = mondayOf(daysFromCivil(civil.year, civil.month, civil.day)) + 3;
      const weekYear = civilFromDays(thursday).year;
      const week = Math.floor((thursday - daysFromCivil(weekYear, 1, 1)) / 7) + 1;
      return `${pad4(weekYear)}-W${pad2(week)}`;
    }
    case 'month':
      return date.slice(0, 7);
    case 'quarter': {
      const { startYear, quarter } = fiscalQuarter(civil, fiscalYearStartMonth);
      // A fiscal year starting in January ends in the same calendar year; any other, in the next.
      return `FY${pad4(fiscalYearStartMonth === 1 ? startYear : startYear + 1)}-Q${quarter}`;
    }
  }
}

/** The first local date of the period containing `date` (the Monday of its ISO week, and so on). */
export function periodStartDate(date: string, grain: PeriodGrain, fiscalYearStartMonth: number): string {
  const civil = dateOrThrow(date, fiscalYearStartMonth);
  switch (grain) {
    case 'day':
      return date;
    case 'week': {
      const monday = civilFromDays(mondayOf(daysFromCivil(civil.year, civil.month, civil.day)));
      return formatDate(monday.year, monday.month, monday.day);
    }
    case 'month':
      return formatDate(civil.year, civil.month, 1);
    case 'quarter': {
      const { startYear, quarter } = fiscalQuarter(civil, fiscalYearStartMonth);
      const month = fiscalYearStartMonth + 3 * (quarter - 1); // 1–21: may run into the next year
      return month > 12 ? formatDate(startYear + 1, month - 12, 1) : formatDate(startYear, month, 1);
    }
  }
}

/** The period label of an instant in a reporting calendar. */
export function periodOf(instant: Instant, grain: PeriodGrain, calendar: ReportingCalendar): string {
  return periodOfDate(localDate(instant, calendar.timeZone), grain, calendar.fiscalYearStartMonth);
}

/**
 * D_from ≤ date < D_to on local dates ('YYYY-MM-DD', which order as text); a null bound is open.
 * A range whose `to` is not after its `from` holds no date.
 */
export function inDateRange(date: string, from: string | null, to: string | null): boolean {
  return (from === null || from <= date) && (to === null || date < to);
}
