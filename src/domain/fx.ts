import type { Nanos } from './money.js';

/**
 * Foreign exchange. A rate row (date, currency, rate) means 1 unit of `currency` = `rate` units of
 * the reporting currency on that local date. Rates are exact fixed-point bigints, so a converted
 * amount is exact up to the one rounding to the nano, and no floating point ever touches money.
 */

/** A rate as an exact fixed-point bigint scaled by 10^12. */
export type Rate = bigint;

export const RATE_SCALE = 1_000_000_000_000n;
const RATE_DECIMALS = 12;

/** Digits a rate may have before the decimal point: 24 + 12 decimals is decimal(36, 12). */
export const MAX_RATE_WHOLE_DIGITS = 24;

const RATE_DECIMAL = /^(\d+)(?:\.(\d{1,12}))?$/;
const TOO_PRECISE = /^\d+\.\d{13,}$/;
/** The fixed-width shape that makes lexicographic order calendar order. */
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_CODE = /^[A-Za-z]{3}$/;

export type ParsedRate = { kind: 'ok'; rate: Rate } | { kind: 'invalid'; detail: string };

/** Parses a plain positive decimal string ("1.0842", "150", "0.000000000001"). No exponents, no signs. */
export function parseRate(text: string): ParsedRate {
  const trimmed = text.trim();
  const negative = trimmed.startsWith('-');
  const magnitude = negative ? trimmed.slice(1) : trimmed;
  const match = RATE_DECIMAL.exec(magnitude);
  if (match === null) {
    const detail = TOO_PRECISE.test(magnitude) ? 'more than 12 decimal places' : 'not a decimal number';
    return { kind: 'invalid', detail };
  }
  if (negative) return { kind: 'invalid', detail: 'must be greater than 0' };
  const wholeText = match[1] ?? '0';
  const fractionText = match[2] ?? '';
  const firstSignificant = wholeText.search(/[1-9]/);
  // Counted before any BigInt is made: a megabyte of digits is refused, not parsed.
  if (firstSignificant !== -1 && wholeText.length - firstSignificant > MAX_RATE_WHOLE_DIGITS) {
    return { kind: 'invalid', detail: `more than ${MAX_RATE_WHOLE_DIGITS} digits before the decimal point` };
  }
  const rate = BigInt(wholeText) * RATE_SCALE + BigInt(fractionText.padEnd(RATE_DECIMALS, '0'));
  return rate > 0n ? { kind: 'ok', rate } : { kind: 'invalid', detail: 'must be greater than 0' };
}

/** Exact decimal string with up to 12 decimals, trailing zeros dropped ("1.0842", "150"). */
export function formatRate(rate: Rate): string {
  const sign = rate < 0n ? '-' : '';
  const abs = rate < 0n ? -rate : rate;
  const whole = abs / RATE_SCALE;
  const fraction = (abs % RATE_SCALE).toString().padStart(RATE_DECIMALS, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

// The ICU data Node ships with decides what ISO 4217 is; read once, it never changes in a process.
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** ISO 4217: the upper-cased trimmed code if Node's ICU lists it, else null ("usd" → "USD", "US" → null). */
export function canonicalCurrency(text: string): string | null {
  const trimmed = text.trim();
  // ASCII first: toUpperCase maps "ſ" to "S" and "ı" to "I", which would turn "uſd" into "USD".
  if (!ISO_CODE.test(trimmed)) return null;
  const code = trimmed.toUpperCase();
  return KNOWN_CURRENCIES.has(code) ? code : null;
}

/** amount × rate exactly, rounded half to even to the nano (symmetric: -1.5 nanos → -2). */
export function convert(amount: Nanos, rate: Rate): Nanos {
  const product = amount * rate;
  const negative = product < 0n;
  const abs = negative ? -product : product;
  let nanos = abs / RATE_SCALE;
  const twiceRemainder = (abs % RATE_SCALE) * 2n;
  if (twiceRemainder > RATE_SCALE || (twiceRemainder === RATE_SCALE && nanos % 2n === 1n)) nanos += 1n;
  return negative ? -nanos : nanos;
}

export interface RateRow {
  readonly date: string;
  readonly currency: string;
  readonly rate: Rate;
}

/** Rates by currency, each currency's dates kept sorted as rows stream in, in any order. */
export interface RateBook {
  readonly reportingCurrency: string;
  /**
   * Idempotent for the same row; a second rate for the same (date, currency) replaces the first
   * (a corrected rate: the caller restates). Returns whether the book changed. Rows for the
   * reporting currency are not stored (its rate is 1 by definition) and return false.
   * Throws RangeError for a row no parser would produce: a currency that is not canonical ISO 4217,
   * a date not shaped YYYY-MM-DD, a rate ≤ 0.
   */
  add(row: RateRow): boolean;
  /**
   * The rate with the latest date ≤ onDate, or null; O(log n). The reporting currency always has
   * rate 1 (RATE_SCALE), dated onDate, without any row. `currency` must be canonical.
   */
  rateFor(currency: string, onDate: string): { date: string; rate: Rate } | null;
  /** Rows stored. */
  readonly size: number;
  /** Every stored row, sorted by currency, then date. */
  rows(): RateRow[];
}

interface CurrencyRates {
  readonly dates: string[];
  readonly rates: Rate[];
}

/** Index of the first date > onDate (so every date before it is ≤ onDate). */
function firstAfter(dates: readonly string[], onDate: string): number {
  let low = 0;
  let high = dates.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((dates[middle] as string) <= onDate) low = middle + 1;
    else high = middle;
  }
  return low;
}

function checkRow(row: RateRow): void {
  if (canonicalCurrency(row.currency) !== row.currency)
    throw new RangeError(`RateBook.add: currency ${JSON.stringify(row.currency)} is not canonical ISO 4217`);
  if (!LOCAL_DATE.test(row.date))
    throw new RangeError(`RateBook.add: date ${JSON.stringify(row.date)} is not YYYY-MM-DD`);
  if (row.rate <= 0n)
    throw new RangeError(`RateBook.add: rate ${formatRate(row.rate)} is not greater than 0`);
}

export function createRateBook(reportingCurrency: string): RateBook {
  if (canonicalCurrency(reportingCurrency) !== reportingCurrency)
    throw new RangeError(`createRateBook: ${JSON.stringify(reportingCurrency)} is not canonical ISO 4217`);
  const byCurrency = new Map<string, CurrencyRates>();
  let size = 0;

  return {
    reportingCurrency,
    add(row) {
      checkRow(row);
      if (row.currency === reportingCurrency) return false;
      let entry = byCurrency.get(row.currency);
      if (entry === undefined) {
        entry = { dates: [], rates: [] };
        byCurrency.set(row.currency, entry);
      }
      // The slot just before the first later date holds this date if it is already stored.
      const at = firstAfter(entry.dates, row.date);
      if (at > 0 && entry.dates[at - 1] === row.date) {
        if (entry.rates[at - 1] === row.rate) return false;
        entry.rates[at - 1] = row.rate;
        return true;
      }
      entry.dates.splice(at, 0, row.date);
      entry.rates.splice(at, 0, row.rate);
      size += 1;
      return true;
    },
    rateFor(currency, onDate) {
      if (currency === reportingCurrency) return { date: onDate, rate: RATE_SCALE };
      const entry = byCurrency.get(currency);
      if (entry === undefined) return null;
      const at = firstAfter(entry.dates, onDate);
      if (at === 0) return null;
      return { date: entry.dates[at - 1] as string, rate: entry.rates[at - 1] as Rate };
    },
    get size() {
      return size;
    },
    rows() {
      const out: RateRow[] = [];
      for (const currency of [...byCurrency.keys()].sort()) {
        const { dates, rates } = byCurrency.get(currency) as CurrencyRates;
        dates.forEach((date, i) => out.push({ date, currency, rate: rates[i] as Rate }));
      }
      return out;
    },
  };
}

export type Conversion =
  | { kind: 'converted'; amount: Nanos; rate: Rate; rateDate: string | null /* null: reporting currency */ }
  | { kind: 'pending_fx'; currency: string; onDate: string };

/**
 * Converts an amount in `currency` created on the local date `onDate` into the reporting currency,
 * before any split. Without a rate dated on or before onDate the amount is pending_fx: counted,
 * not credited, until a rate arrives.
 */
export function convertAmount(amount: Nanos, currency: string, onDate: string, book: RateBook): Conversion {
  if (currency === book.reportingCurrency) {
    return { kind: 'converted', amount, rate: RATE_SCALE, rateDate: null };
  }
  const found = book.rateFor(currency, onDate);
  if (found === null) return { kind: 'pending_fx', currency, onDate };
  return { kind: 'converted', amount: convert(amount, found.rate), rate: found.rate, rateDate: found.date };
}
