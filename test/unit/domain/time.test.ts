import { describe, expect, it } from 'vitest';
import { formatInstant, parseInstant } from '../../../src/domain/time.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** 2021-05-10T22:25:39Z, written out with Date.UTC (month is 0-based). */
const BASE = Date.UTC(2021, 4, 10, 22, 25, 39);

describe('parseInstant', () => {
  it.each([
    ['2021-05-10T22:25:39Z', BASE],
    ['2021-05-10 22:25:39Z', BASE],
    ['  2021-05-10T22:25:39Z  ', BASE],
    ['2021-05-10T22:25:39+00:00', BASE],
    ['2021-05-10T22:25:39-00:00', BASE],
    // An offset east of UTC names an earlier instant, west of UTC a later one.
    ['2021-05-10T22:25:39+02:00', BASE - 2 * HOUR],
    ['2021-05-10T22:25:39+0200', BASE - 2 * HOUR],
    ['2021-05-11T00:25:39+02:00', BASE],
    ['2021-05-10T22:25:39-05:30', BASE + 5 * HOUR + 30 * MINUTE],
    ['2021-05-10T17:25:39-05:00', BASE],
    ['2021-05-10T22:25:39+14:00', BASE - 14 * HOUR],
    // Fractional seconds: millisecond precision, extra digits truncated.
    ['2021-05-10T22:25:39.5Z', BASE + 500],
    ['2021-05-10T22:25:39.05Z', BASE + 50],
    ['2021-05-10T22:25:39.123Z', BASE + 123],
    ['2021-05-10T22:25:39.123456789Z', BASE + 123],
    ['2021-05-10T22:25:39.999+01:00', BASE + 999 - HOUR],
    // Calendar edges.
    ['2020-02-29T00:00:00Z', Date.UTC(2020, 1, 29)],
    ['2000-02-29T12:00:00Z', Date.UTC(2000, 1, 29, 12)],
    ['2021-12-31T23:59:59Z', Date.UTC(2021, 11, 31, 23, 59, 59)],
    ['1970-01-01T00:00:00Z', 0],
    ['1969-12-31T23:59:59Z', -1000],
    ['2021-01-01T01:00:00+02:00', Date.UTC(2020, 11, 31, 23)],
  ])('parses %j as %i', (text, instant) => {
    expect(parseInstant(text)).toBe(instant);
  });

  it.each([
    ['Feb 30', '2021-02-30T00:00:00Z'],
    ['Feb 29 in a common year', '2021-02-29T00:00:00Z'],
    ['Feb 29 in 1900 (not a leap year)', '1900-02-29T00:00:00Z'],
    ['April 31', '2021-04-31T00:00:00Z'],
    ['day 0', '2021-05-00T00:00:00Z'],
    ['day 32', '2021-05-32T00:00:00Z'],
    ['month 0', '2021-00-10T00:00:00Z'],
    ['month 13', '2021-13-10T00:00:00Z'],
    ['hour 24', '2021-05-10T24:00:00Z'],
    ['minute 60', '2021-05-10T22:60:00Z'],
    ['second 60', '2021-05-10T22:25:60Z'],
    ['no zone', '2021-05-10T22:25:39'],
    ['no zone, fractional', '2021-05-10T22:25:39.123'],
    ['date only', '2021-05-10'],
    ['US date', '05/10/2021 22:25:39'],
    ['offset without minutes', '2021-05-10T22:25:39+02'],
    ['named zone', '2021-05-10T22:25:39 UTC'],
    ['offset hour 25', '2021-05-10T22:25:39+25:00'],
    ['offset minute 60', '2021-05-10T22:25:39+05:60'],
    ['ten fractional digits', '2021-05-10T22:25:39.1234567890Z'],
    ['empty', ''],
    ['garbage', 'not a date'],
    ['literal null', 'null'],
    ['epoch number', '1620685539000'],
    ['two-digit year', '21-05-10T22:25:39Z'],
  ])('refuses %s (%j)', (_label, text) => {
    expect(parseInstant(text)).toBeNull();
  });

  it.each([
    ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000Z'],
    ['0099-12-31T23:59:59Z', '0099-12-31T23:59:59.000Z'],
    ['0001-03-01T00:00:00Z', '0001-03-01T00:00:00.000Z'],
  ])('parses the four-digit year of %j literally (no 19xx mapping)', (text, expectedIso) => {
    const instant = parseInstant(text);
    expect(instant).not.toBeNull();
    expect(new Date(instant ?? NaN).toISOString()).toBe(expectedIso);
  });
});

describe('formatInstant', () => {
  it.each([
    [BASE, '2021-05-10T22:25:39.000Z'],
    [BASE + 123, '2021-05-10T22:25:39.123Z'],
    [0, '1970-01-01T00:00:00.000Z'],
  ])('formats %i as %j', (instant, text) => {
    expect(formatInstant(instant)).toBe(text);
  });

  it('round-trips through parseInstant', () => {
    expect(parseInstant(formatInstant(BASE + 7))).toBe(BASE + 7);
  });
});
