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
  if (date.getUTCFullYear() !== year || date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
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
