import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  inDateRange,
  isPeriodGrain,
  localDate,
  parseLocalDate,
  PERIOD_GRAINS,
  periodOf,
  periodOfDate,
  periodStartDate,
  UTC_CALENDAR,
  type PeriodGrain,
} from '../../../src/domain/period.js';

/**
 * Instants are written as the local wall time with the offset the zone has then (from the tz
 * database), so each row states its own reasoning: '…T00:00:00-05:00' is local midnight in EST.
 */
const at = (iso: string): number => Date.parse(iso);
const DAY = 86_400_000;

describe('canonicalTimeZone', () => {
  it.each([
    ['UTC', 'UTC'],
    ['utc', 'UTC'],
    // ECMA-402 resolves the UTC aliases to 'UTC'.
    ['Etc/UTC', 'UTC'],
    ['GMT', 'UTC'],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['America/New_York', 'America/New_York'],
    ['AMERICA/NEW_YORK', 'America/New_York'],
    ['America/St_Johns', 'America/St_Johns'],
    ['Etc/GMT-14', 'Etc/GMT-14'],
  ])('resolves %j to %j', (name, canonical) => {
    expect(canonicalTimeZone(name)).toBe(canonical);
  });

  it('knows Asia/Kathmandu (ICU versions differ on the Katmandu/Kathmandu spelling)', () => {
    expect(['Asia/Kathmandu', 'Asia/Katmandu']).toContain(canonicalTimeZone('Asia/Kathmandu'));
  });

  it.each([
    'Mars/Olympus_Mons',
    'Europe/Berlin ',
    ' UTC',
    '',
    'Local',
    // tzdb's Etc/GMT zones stop at +12.
    'Etc/GMT+13',
    // Offsets are not IANA names, although newer Node accepts them as time zones.
    '+05:30',
    '-03:30',
    '+00:00',
  ])('refuses %j', (name) => {
    expect(canonicalTimeZone(name)).toBeNull();
  });
});

describe('localDate', () => {
  it.each([
    // UTC: arithmetic, including the epoch, one ms before it, and a leap day.
    ['UTC', '1970-01-01T00:00:00.000Z', '1970-01-01'],
    ['UTC', '1969-12-31T23:59:59.999Z', '1969-12-31'],
    ['UTC', '2024-02-29T23:59:59.999Z', '2024-02-29'],
    ['UTC', '2024-03-01T00:00:00.000Z', '2024-03-01'],
    ['UTC', '1000-01-01T00:00:00.000Z', '1000-01-01'],
    ['UTC', '9999-12-31T23:59:59.999Z', '9999-12-31'],
    ['utc', '2024-03-01T00:00:00.000Z', '2024-03-01'],
    // Etc/GMT-14 is UTC+14 (POSIX sign): 10:00Z is its midnight.
    ['Etc/GMT-14', '2024-01-01T09:59:59.999Z', '2024-01-01'],
    ['Etc/GMT-14', '2024-01-01T10:00:00.000Z', '2024-01-02'],
    // Etc/GMT+12 is UTC−12: 12:00Z is its midnight.
    ['Etc/GMT+12', '2024-01-01T11:59:59.999Z', '2023-12-31'],
    ['Etc/GMT+12', '2024-01-01T12:00:00.000Z', '2024-01-01'],
  ])('%s: %s is %s', (zone, iso, date) => {
    expect(localDate(at(iso), zone)).toBe(date);
  });

  it.each([
    // New York, 2024-03-10: EST (−5) until 02:00, then EDT (−4); the day lasts 23 hours.
    ['2024-03-09T23:59:59.999-05:00', '2024-03-09'],
    ['2024-03-10T00:00:00.000-05:00', '2024-03-10'],
    ['2024-03-10T01:59:59.999-05:00', '2024-03-10'],
    ['2024-03-10T03:00:00.000-04:00', '2024-03-10'], // the next instant: 07:00Z
    ['2024-03-10T23:59:59.999-04:00', '2024-03-10'],
    ['2024-03-11T00:00:00.000-04:00', '2024-03-11'],
    // 2024-11-03: EDT until 02:00, then 01:00 EST again; the day lasts 25 hours.
    ['2024-11-02T23:59:59.999-04:00', '2024-11-02'],
    ['2024-11-03T00:00:00.000-04:00', '2024-11-03'],
    ['2024-11-03T01:30:00.000-04:00', '2024-11-03'], // 05:30Z
    ['2024-11-03T01:30:00.000-05:00', '2024-11-03'], // 06:30Z, the same wall time an hour later
    ['2024-11-03T23:59:59.999-05:00', '2024-11-03'],
    ['2024-11-04T00:00:00.000-05:00', '2024-11-04'],
    // Before 1883 New York kept local mean time, −4:56:02 (seconds included; ISO text cannot
    // carry them), so local midnight of 1000-01-01 is 04:56:02Z.
    ['1000-01-01T04:56:02.000Z', '1000-01-01'],
    ['1000-01-01T04:56:01.999Z', '0999-12-31'],
    // Intl writes 1 BC (year 0) as an unsigned '1'; the offset must still be LMT, not a year off.
    ['0000-06-01T04:56:02.000Z', '0000-06-01'],
    ['0000-06-01T04:56:01.999Z', '0000-05-31'],
  ])('America/New_York: %s is %s', (iso, date) => {
    expect(localDate(at(iso), 'America/New_York')).toBe(date);
  });

  it.each([
    // 2024-03-31: CET (+1) until 02:00, then CEST (+2).
    ['2024-03-30T23:59:59.999+01:00', '2024-03-30'],
    ['2024-03-31T00:00:00.000+01:00', '2024-03-31'],
    ['2024-03-31T23:59:59.999+02:00', '2024-03-31'],
    ['2024-04-01T00:00:00.000+02:00', '2024-04-01'],
    // 2024-10-27: CEST until 03:00, then 02:00 CET.
    ['2024-10-27T00:00:00.000+02:00', '2024-10-27'],
    ['2024-10-27T23:59:59.999+01:00', '2024-10-27'],
    ['2024-10-28T00:00:00.000+01:00', '2024-10-28'],
    // Midnight in Berlin is the previous evening in UTC.
    ['2025-01-01T00:30:00.000+01:00', '2025-01-01'],
  ])('Europe/Berlin: %s is %s', (iso, date) => {
    expect(localDate(at(iso), 'Europe/Berlin')).toBe(date);
  });

  it.each([
    // +05:45 since 1986: midnight is 18:15Z, inside a UTC hour.
    ['2024-01-01T23:59:59.999+05:45', '2024-01-01'],
    ['2024-01-02T00:00:00.000+05:45', '2024-01-02'],
    // 1986-01-01 00:00 +05:30 (18:30Z) became 00:15 +05:45; 18:20Z is still 23:50 at +05:30,
    // so a cache that applied the later offset to the whole hour would say 1986-01-01.
    ['1985-12-31T23:50:00.000+05:30', '1985-12-31'],
    ['1985-12-31T23:59:59.999+05:30', '1985-12-31'],
    ['1986-01-01T00:15:00.000+05:45', '1986-01-01'],
  ])('Asia/Kathmandu: %s is %s', (iso, date) => {
    expect(localDate(at(iso), 'Asia/Kathmandu')).toBe(date);
  });

  it.each([
    // NST −03:30 in winter: midnight is 03:30Z.
    ['2024-01-14T23:59:59.999-03:30', '2024-01-14'],
    ['2024-01-15T00:00:00.000-03:30', '2024-01-15'],
    // NDT −02:30 in summer: midnight is 02:30Z.
    ['2024-06-30T23:59:59.999-02:30', '2024-06-30'],
    ['2024-07-01T00:00:00.000-02:30', '2024-07-01'],
    // 2010-11-07 00:01 NDT (02:31Z) fell back to 2010-11-06 23:01 NST: the date goes backwards
    // within one UTC hour.
    ['2010-11-07T00:00:59.999-02:30', '2010-11-07'],
    ['2010-11-06T23:01:00.000-03:30', '2010-11-06'],
    ['2010-11-06T23:59:59.999-03:30', '2010-11-06'],
    ['2010-11-07T00:00:00.000-03:30', '2010-11-07'],
  ])('America/St_Johns: %s is %s', (iso, date) => {
    expect(localDate(at(iso), 'America/St_Johns')).toBe(date);
  });

  it('skips the day Samoa never had (2011-12-30, when Pacific/Apia moved from −10 to +14)', () => {
    expect(localDate(at('2011-12-29T23:59:59.999-10:00'), 'Pacific/Apia')).toBe('2011-12-29');
    expect(localDate(at('2011-12-31T00:00:00.000+14:00'), 'Pacific/Apia')).toBe('2011-12-31');
  });

  it('reads the same instant as a different date in different zones', () => {
    // 2024-03-10T04:30Z: 23:30 the day before in New York (EST), 10:15 in Kathmandu, 01:00 in St John's.
    const instant = at('2024-03-10T04:30:00Z');
    expect(localDate(instant, 'UTC')).toBe('2024-03-10');
    expect(localDate(instant, 'America/New_York')).toBe('2024-03-09');
    expect(localDate(instant, 'Asia/Kathmandu')).toBe('2024-03-10');
    expect(localDate(instant, 'America/St_Johns')).toBe('2024-03-10');
  });

  it('accepts any spelling Intl accepts, and answers the same as the canonical one', () => {
    const beforeMidnight = at('2024-03-09T23:59:59.999-05:00');
    expect(localDate(beforeMidnight, 'US/Eastern')).toBe('2024-03-09');
    expect(localDate(beforeMidnight, 'america/new_york')).toBe('2024-03-09');
    expect(localDate(beforeMidnight + 1, 'america/new_york')).toBe('2024-03-10');
  });

  it.each([
    ['an unknown zone', 0, 'Mars/Olympus_Mons'],
    ['NaN', Number.NaN, 'UTC'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Europe/Berlin'],
    ['year 10000 in UTC', at('+010000-01-01T00:00:00Z'), 'UTC'],
    // 9999-12-31T23:00Z is 10000-01-01 13:00 at UTC+14.
    ['a local year 10000', at('9999-12-31T23:00:00Z'), 'Etc/GMT-14'],
    ['year −1 in UTC', at('-000001-12-31T23:59:59.999Z'), 'UTC'],
    // Midnight of year 0 in New York (LMT −4:56:02) is 04:56:02Z: a ms before is in year −1.
    ['a local year −1', at('0000-01-01T04:56:01.999Z'), 'America/New_York'],
  ])('throws RangeError for %s', (_label, instant, zone) => {
    expect(() => localDate(instant, zone)).toThrow(RangeError);
  });
});

describe('parseLocalDate', () => {
  it.each(['2024-02-29', '2000-02-29', '1970-01-01', '1000-01-01', '9999-12-31', '2023-12-31', '2024-04-30'])(
    'accepts %s',
    (text) => expect(parseLocalDate(text)).toBe(text),
  );

  it.each([
    ['Feb 29 in a common year', '2023-02-29'],
    ['Feb 29 in 1900 (divisible by 100, not 400)', '1900-02-29'],
    ['April 31', '2024-04-31'],
    ['month 13', '2024-13-01'],
    ['month 0', '2024-00-10'],
    ['day 0', '2024-01-00'],
    ['day 32', '2024-01-32'],
    ['one-digit month', '2024-1-05'],
    ['no dashes', '20240105'],
    ['slashes', '2024/01/05'],
    ['leading space', ' 2024-01-05'],
    ['trailing newline', '2024-01-05\n'],
    ['a time', '2024-01-05T00:00:00Z'],
    ['five-digit year', '12024-01-05'],
    ['full-width digits', '２０２４-01-05'],
    ['empty', ''],
  ])('refuses %s (%j)', (_label, text) => expect(parseLocalDate(text)).toBeNull());
});

describe('periodOfDate', () => {
  it.each([
    // 2024-01-01 was a Monday, so 2024's weeks run Mon–Sun from Jan 1; Mar 4–10 is week 10.
    ['2024-03-10', '2024-W10'],
    ['2024-03-04', '2024-W10'],
    ['2024-03-11', '2024-W11'],
    ['2024-01-01', '2024-W01'],
    // 2020 began on a Wednesday and is a leap year: 53 weeks, the last ending Sun 2021-01-03.
    ['2020-12-31', '2020-W53'],
    ['2021-01-01', '2020-W53'],
    ['2021-01-03', '2020-W53'],
    ['2021-01-04', '2021-W01'],
    // Mon 2024-12-30's Thursday is 2025-01-02: week 1 of 2025. 2024 has 52 weeks.
    ['2024-12-29', '2024-W52'],
    ['2024-12-30', '2025-W01'],
    ['2025-01-05', '2025-W01'],
    // 2023-01-01 was a Sunday: the last day of 2022's week 52.
    ['2023-01-01', '2022-W52'],
    // 2015 began on a Thursday: 53 weeks.
    ['2015-12-31', '2015-W53'],
    ['2016-01-03', '2015-W53'],
    // ISO 8601's own examples: 2008-12-29 is 2009-W01-1; 2010-01-03 is 2009-W53-7.
    ['2008-12-29', '2009-W01'],
    ['2010-01-03', '2009-W53'],
  ])('week of %s is %s', (date, label) => {
    expect(periodOfDate(date, 'week', 1)).toBe(label);
  });

  it.each([
    ['2024-03-10', 'day', '2024-03-10'],
    ['2024-03-10', 'month', '2024-03'],
    ['2024-01-01', 'month', '2024-01'],
    ['2024-12-31', 'month', '2024-12'],
    ['2024-02-29', 'month', '2024-02'],
  ] as const)('%s by %s is %s', (date, grain, label) => {
    expect(periodOfDate(date, grain, 1)).toBe(label);
  });

  it.each([
    // Start 1: the fiscal year is the calendar year; quarters Jan, Apr, Jul, Oct.
    [1, '2024-01-01', 'FY2024-Q1'],
    [1, '2024-03-31', 'FY2024-Q1'],
    [1, '2024-04-01', 'FY2024-Q2'],
    [1, '2024-06-30', 'FY2024-Q2'],
    [1, '2024-07-01', 'FY2024-Q3'],
    [1, '2024-09-30', 'FY2024-Q3'],
    [1, '2024-10-01', 'FY2024-Q4'],
    [1, '2024-12-31', 'FY2024-Q4'],
    // Start 2: FY2025 runs 2024-02-01 – 2025-01-31; quarters Feb, May, Aug, Nov.
    [2, '2024-01-31', 'FY2024-Q4'],
    [2, '2024-02-01', 'FY2025-Q1'],
    [2, '2024-04-30', 'FY2025-Q1'],
    [2, '2024-05-01', 'FY2025-Q2'],
    [2, '2024-08-01', 'FY2025-Q3'],
    [2, '2024-11-01', 'FY2025-Q4'],
    [2, '2024-12-31', 'FY2025-Q4'],
    [2, '2025-01-31', 'FY2025-Q4'],
    // Start 4: FY2025 runs 2024-04-01 – 2025-03-31.
    [4, '2024-03-31', 'FY2024-Q4'],
    [4, '2024-04-01', 'FY2025-Q1'],
    [4, '2024-07-01', 'FY2025-Q2'],
    [4, '2024-12-31', 'FY2025-Q3'],
    [4, '2025-01-01', 'FY2025-Q4'],
    // Start 7: FY2025 runs 2024-07-01 – 2025-06-30.
    [7, '2024-06-30', 'FY2024-Q4'],
    [7, '2024-07-01', 'FY2025-Q1'],
    [7, '2024-09-30', 'FY2025-Q1'],
    [7, '2024-10-01', 'FY2025-Q2'],
    [7, '2025-01-01', 'FY2025-Q3'],
    [7, '2025-04-01', 'FY2025-Q4'],
    [7, '2025-06-30', 'FY2025-Q4'],
    // Start 10 (the US federal year): FY2025 began 2024-10-01.
    [10, '2024-09-30', 'FY2024-Q4'],
    [10, '2024-10-01', 'FY2025-Q1'],
    [10, '2024-12-31', 'FY2025-Q1'],
    [10, '2025-01-01', 'FY2025-Q2'],
    [10, '2025-07-01', 'FY2025-Q4'],
    // Start 12: FY2025 runs 2024-12-01 – 2025-11-30; Q1 is Dec–Feb, across New Year.
    [12, '2024-11-30', 'FY2024-Q4'],
    [12, '2024-12-01', 'FY2025-Q1'],
    [12, '2025-02-28', 'FY2025-Q1'],
    [12, '2025-03-01', 'FY2025-Q2'],
    [12, '2025-09-01', 'FY2025-Q4'],
    [12, '2025-11-30', 'FY2025-Q4'],
    [12, '2024-02-29', 'FY2024-Q1'],
  ])('fiscal start %i: %s is %s', (start, date, label) => {
    expect(periodOfDate(date, 'quarter', start)).toBe(label);
  });

  it.each([
    ['an impossible date', '2023-02-29', 1],
    ['a malformed date', '2024-3-1', 1],
    ['fiscal start 0', '2024-03-01', 0],
    ['fiscal start 13', '2024-03-01', 13],
    ['fiscal start 1.5', '2024-03-01', 1.5],
  ])('throws RangeError for %s', (_label, date, start) => {
    for (const grain of PERIOD_GRAINS) {
      expect(() => periodOfDate(date, grain, start)).toThrow(RangeError);
      expect(() => periodStartDate(date, grain, start)).toThrow(RangeError);
    }
  });
});

describe('periodStartDate', () => {
  it.each([
    ['2024-03-10', 'day', 1, '2024-03-10'],
    // Weeks start on Monday.
    ['2024-03-10', 'week', 1, '2024-03-04'],
    ['2024-03-04', 'week', 1, '2024-03-04'],
    ['2021-01-03', 'week', 1, '2020-12-28'],
    ['2025-01-05', 'week', 1, '2024-12-30'],
    // 2000-03-01 was a Wednesday; the Monday before is the 28th (2000 is a leap year).
    ['2000-03-01', 'week', 1, '2000-02-28'],
    ['2024-02-29', 'month', 1, '2024-02-01'],
    ['2024-12-31', 'month', 1, '2024-12-01'],
    ['2024-05-15', 'quarter', 1, '2024-04-01'],
    ['2024-12-31', 'quarter', 1, '2024-10-01'],
    ['2024-01-01', 'quarter', 1, '2024-01-01'],
    ['2024-03-10', 'quarter', 2, '2024-02-01'],
    // FY2024-Q4 with start 2 is Nov 2023 – Jan 2024.
    ['2024-01-31', 'quarter', 2, '2023-11-01'],
    ['2024-12-15', 'quarter', 2, '2024-11-01'],
    ['2025-02-14', 'quarter', 4, '2025-01-01'],
    ['2024-04-01', 'quarter', 4, '2024-04-01'],
    ['2024-12-31', 'quarter', 4, '2024-10-01'],
    ['2025-06-30', 'quarter', 7, '2025-04-01'],
    ['2024-08-15', 'quarter', 7, '2024-07-01'],
    ['2024-12-31', 'quarter', 10, '2024-10-01'],
    ['2025-01-01', 'quarter', 10, '2025-01-01'],
    ['2025-09-30', 'quarter', 10, '2025-07-01'],
    // Start 12: Q1 (Dec–Feb) of a January date began the previous December.
    ['2025-01-15', 'quarter', 12, '2024-12-01'],
    ['2024-02-29', 'quarter', 12, '2023-12-01'],
    ['2025-11-30', 'quarter', 12, '2025-09-01'],
  ] as const)('%s by %s (fiscal start %i) starts %s', (date, grain, start, first) => {
    expect(periodStartDate(date, grain, start)).toBe(first);
  });
});

describe('periodOf', () => {
  it('defaults to UTC and a January fiscal year', () => {
    expect(UTC_CALENDAR).toEqual({ timeZone: 'UTC', fiscalYearStartMonth: 1 });
    expect(PERIOD_GRAINS).toEqual(['day', 'week', 'month', 'quarter']);
  });

  it.each(['day', 'week', 'month', 'quarter'])('knows the grain %s', (text) => {
    expect(isPeriodGrain(text)).toBe(true);
  });
  it.each(['year', 'Day', '', 'hour'])('does not know the grain %j', (text) => {
    expect(isPeriodGrain(text)).toBe(false);
  });

  // 2024-04-01T03:00Z is Mon 2024-04-01 in UTC but Sun 2024-03-31 23:00 EDT in New York.
  const aprilFoolsEve = at('2024-04-01T03:00:00Z');
  // 2024-12-31T23:30Z is Tue 2024-12-31 in UTC but Wed 2025-01-01 00:30 CET in Berlin.
  const newYearInBerlin = at('2024-12-31T23:30:00Z');
  it.each([
    [aprilFoolsEve, 'UTC', 4, ['2024-04-01', '2024-W14', '2024-04', 'FY2025-Q1']],
    [aprilFoolsEve, 'America/New_York', 4, ['2024-03-31', '2024-W13', '2024-03', 'FY2024-Q4']],
    [aprilFoolsEve, 'America/New_York', 1, ['2024-03-31', '2024-W13', '2024-03', 'FY2024-Q1']],
    [newYearInBerlin, 'UTC', 1, ['2024-12-31', '2025-W01', '2024-12', 'FY2024-Q4']],
    [newYearInBerlin, 'Europe/Berlin', 1, ['2025-01-01', '2025-W01', '2025-01', 'FY2025-Q1']],
    // With start 7, 2024-12-31 is Q2 of FY2025 (Oct–Dec) and 2025-01-01 Q3.
    [newYearInBerlin, 'UTC', 7, ['2024-12-31', '2025-W01', '2024-12', 'FY2025-Q2']],
    [newYearInBerlin, 'Europe/Berlin', 7, ['2025-01-01', '2025-W01', '2025-01', 'FY2025-Q3']],
  ] as const)('%i in %s (fiscal start %i) is %j', (instant, timeZone, fiscalYearStartMonth, labels) => {
    const calendar = { timeZone, fiscalYearStartMonth };
    expect(PERIOD_GRAINS.map((grain) => periodOf(instant, grain, calendar))).toEqual(labels);
  });
});

describe('inDateRange', () => {
  it.each([
    ['2024-03-01', '2024-03-01', '2024-04-01', true], // from is inclusive
    ['2024-03-31', '2024-03-01', '2024-04-01', true],
    ['2024-04-01', '2024-03-01', '2024-04-01', false], // to is exclusive
    ['2024-02-29', '2024-03-01', '2024-04-01', false],
    ['2024-03-15', null, null, true],
    ['1000-01-01', null, '2024-03-01', true],
    ['2024-03-01', null, '2024-03-01', false],
    ['2024-03-01', '2024-03-01', null, true],
    ['9999-12-31', '2024-03-01', null, true],
    ['2024-02-29', '2024-03-01', null, false],
    ['2024-03-01', '2024-03-01', '2024-03-01', false], // an empty range
    ['2024-03-15', '2024-04-01', '2024-03-01', false], // a reversed range
    ['2024-03-15', '2024-03-15', '2024-03-16', true], // a one-day range
  ])('%s in [%s, %s) is %s', (date, from, to, expected) => {
    expect(inDateRange(date, from, to)).toBe(expected);
  });

  it('selects by the local creation date, not the UTC one', () => {
    // Sun 2024-03-31 23:00 EDT is 2024-04-01T03:00Z: in March for New York, in April for UTC.
    const createdAt = at('2024-03-31T23:00:00-04:00');
    expect(inDateRange(localDate(createdAt, 'America/New_York'), '2024-03-01', '2024-04-01')).toBe(true);
    expect(inDateRange(localDate(createdAt, 'UTC'), '2024-03-01', '2024-04-01')).toBe(false);
  });
});

describe('properties', () => {
  const ZONES = [
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Asia/Kathmandu',
    'America/St_Johns',
    'Australia/Lord_Howe', // a 30-minute DST shift
    'Pacific/Chatham', // +12:45 / +13:45
    'Pacific/Apia', // skipped 2011-12-30
    'Asia/Kolkata',
    'Etc/GMT-14',
  ] as const;
  /** Independent of period.ts and its caches: a formatter of the test's own. en-CA writes YYYY-MM-DD. */
  const reference = new Map(
    ZONES.map((zone) => [zone, new Intl.DateTimeFormat('en-CA', { timeZone: zone })]),
  );
  const MIN = Date.UTC(1970, 0, 1);
  const MAX = Date.UTC(2100, 11, 31, 23, 59, 59, 999);
  const QUARTER_HOUR = 900_000;
  // Every offset in these zones since 1970 is a whole number of quarter hours, so instants a few
  // ms around quarter-hour marks land on every local midnight and transition.
  const instants = fc.oneof(
    fc.integer({ min: MIN, max: MAX }),
    fc
      .tuple(
        fc.integer({ min: MIN / QUARTER_HOUR, max: Math.floor(MAX / QUARTER_HOUR) }),
        fc.integer({ min: -2, max: 1 }),
      )
      .map(([mark, delta]) => mark * QUARTER_HOUR + delta),
  );

  it('localDate agrees with Intl.DateTimeFormat for 1970–2100', () => {
    fc.assert(
      fc.property(instants, fc.constantFrom(...ZONES), (instant, zone) => {
        expect(localDate(instant, zone)).toBe(reference.get(zone)?.format(instant));
      }),
      { numRuns: 5000 },
    );
  });

  it('localDate in UTC agrees with Date#toISOString for years 1000–9999', () => {
    const wide = fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });
    fc.assert(
      fc.property(wide, (instant) => {
        expect(localDate(instant, 'UTC')).toBe(new Date(instant).toISOString().slice(0, 10));
      }),
      { numRuns: 2000 },
    );
  });

  /** Dates as Date writes them: every one real, years 1000–9999. */
  const dates = fc
    .integer({ min: Date.UTC(1000, 0, 1) / DAY, max: Date.UTC(9999, 11, 30) / DAY })
    .map((day) => new Date(day * DAY).toISOString().slice(0, 10));
  const nextDay = (date: string): Date => new Date(Date.parse(`${date}T00:00:00Z`) + DAY);
  const grains = fc.constantFrom<PeriodGrain>(...PERIOD_GRAINS);
  const starts = fc.integer({ min: 1, max: 12 });

  it('parseLocalDate accepts exactly the dates the calendar has', () => {
    const parts = fc.tuple(
      fc.integer({ min: 1000, max: 9999 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 31 }),
    );
    fc.assert(
      fc.property(parts, ([year, month, day]) => {
        const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
        expect(parseLocalDate(text)).toBe(real ? text : null);
      }),
      { numRuns: 2000 },
    );
  });

  it('a period starts on or before its dates, in the same period, and the day before is in another', () => {
    fc.assert(
      fc.property(dates, grains, starts, (date, grain, start) => {
        const first = periodStartDate(date, grain, start);
        expect(first <= date).toBe(true);
        expect(periodOfDate(first, grain, start)).toBe(periodOfDate(date, grain, start));
        const before = new Date(Date.parse(`${first}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
        expect(periodOfDate(before, grain, start)).not.toBe(periodOfDate(first, grain, start));
      }),
      { numRuns: 3000 },
    );
  });

  it('the label changes exactly on the days a period begins (by the calendar, not by period.ts)', () => {
    const begins = (day: Date, grain: PeriodGrain, start: number): boolean => {
      const month = day.getUTCMonth() + 1;
      if (grain === 'day') return true;
      if (grain === 'week') return day.getUTCDay() === 1;
      if (grain === 'month') return day.getUTCDate() === 1;
      return day.getUTCDate() === 1 && (month - start + 12) % 3 === 0;
    };
    fc.assert(
      fc.property(dates, grains, starts, (date, grain, start) => {
        const next = nextDay(date);
        const changed =
          periodOfDate(next.toISOString().slice(0, 10), grain, start) !== periodOfDate(date, grain, start);
        expect(changed).toBe(begins(next, grain, start));
      }),
      { numRuns: 3000 },
    );
  });
});
