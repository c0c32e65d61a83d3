/** Time is epoch milliseconds of UTC instants. Parsing accepts only explicit ISO-8601 instants. */
export type Instant = number;

export const MS_PER_DAY = 86_400_000;

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses "2021-05-10T22:25:39Z" (or with a numeric offset / fractional seconds) into an instant.
 * A time without a zone is refused: guessing a zone would move attribution windows silently.
 * Returns null when the text is not a real calendar instant (e.g. 2021-02-30).
 */
export function parseInstant(text: string): Instant | null {
  return parseCommonInstant(text) ?? parseAnyInstant(text);
}

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48;
  return code >= 0 && code <= 9 ? code : NaN;
};
const number = (text: string, from: number, length: number): number => {
  let value = 0;
  for (let i = from; i < from + length; i += 1) value = value * 10 + digit(text, i);
  return value;
};
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Fast path for the shape nearly every record has, "YYYY-MM-DDTHH:MM:SSZ" or with ".sss"
 * (it was a tenth of batch time through the general regex); anything else returns undefined.
 */
function parseCommonInstant(text: string): Instant | null | undefined {
  const length = text.length;
  if ((length !== 20 && length !== 24) || text.charCodeAt(length - 1) !== 90 /* Z */) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':')
    return undefined;
  if (length === 24 && text[19] !== '.') return undefined;
  const year = number(text, 0, 4);
  const month = number(text, 5, 2);
  const day = number(text, 8, 2);
  const hour = number(text, 11, 2);
  const minute = number(text, 14, 2);
  const second = number(text, 17, 2);
  const ms = length === 24 ? number(text, 20, 3) : 0;
  if ([year, month, day, hour, minute, second, ms].some(Number.isNaN) || year < 1000) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

function parseAnyInstant(text: string): Instant | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (match === null) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const offset = zoneOffsetMs(zone ?? 'Z');
  if (offset === null) return null;
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 onto 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number((frac ?? '0').padEnd(3, '0').slice(0, 3)));
  if (date.getUTCFullYear() !== year || date.getUTCDate() !== day || date.getUTCMonth() !== month - 1)
    return null;
  return date.getTime() - offset;
}

/** Offset of a zone designator in ms; null for impossible offsets (hours > 23 or minutes > 59). */
function zoneOffsetMs(zone: string): number | null {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4));
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes) * 60_000;
}

export function formatInstant(instant: Instant): string {
  return new Date(instant).toISOString();
}
