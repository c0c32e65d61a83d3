import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RATE_SCALE,
  canonicalCurrency,
  convert,
  convertAmount,
  createRateBook,
  formatRate,
  parseRate,
  type Rate,
  type RateRow,
} from '../../../src/domain/fx.js';

const rate = (text: string): Rate => {
  const parsed = parseRate(text);
  if (parsed.kind !== 'ok') throw new Error(`test rate ${text}: ${parsed.detail}`);
  return parsed.rate;
};

describe('parseRate', () => {
  it.each([
    ['1.0842', 1_084_200_000_000n], // 1 × 10^12 + 0.0842 × 10^12
    ['0.000000000001', 1n], // the smallest rate: one 10^-12
    ['150', 150_000_000_000_000n], // 150 × 10^12
    ['0.5', 500_000_000_000n],
    ['1.000000000000', 1_000_000_000_000n], // 12 decimals, all zero: still exactly 1
    ['0001.5', 1_500_000_000_000n], // leading zeros are not digits that count
    ['  7.25  ', 7_250_000_000_000n],
    ['0.999999999999', 999_999_999_999n],
    // 24 nines before the point, 12 after: 10^24 × 10^12 − 1 = 10^36 − 1
    ['999999999999999999999999.999999999999', 10n ** 36n - 1n],
    ['0000000000000000000000000001', 1_000_000_000_000n], // 28 characters, but only 1 significant digit
  ])('parses %j exactly to %s', (text, expected) => {
    expect(parseRate(text)).toEqual({ kind: 'ok', rate: expected });
  });

  it.each([
    ['0', 'must be greater than 0'],
    ['0.000000000000', 'must be greater than 0'],
    ['000', 'must be greater than 0'],
    ['-1', 'must be greater than 0'],
    ['-0', 'must be greater than 0'],
    ['-1.0842', 'must be greater than 0'],
    ['1.0000000000001', 'more than 12 decimal places'],
    ['0.0000000000001', 'more than 12 decimal places'],
    ['1.0000000000000', 'more than 12 decimal places'], // refused by its text, like parseAmount
    ['1000000000000000000000000', 'more than 24 digits before the decimal point'], // 10^24: 25 digits
    ['1e3', 'not a decimal number'],
    ['1E3', 'not a decimal number'],
    ['', 'not a decimal number'],
    ['   ', 'not a decimal number'],
    ['abc', 'not a decimal number'],
    ['1,5', 'not a decimal number'],
    ['1 000', 'not a decimal number'],
    ['+1', 'not a decimal number'],
    ['.5', 'not a decimal number'],
    ['5.', 'not a decimal number'],
    ['--1', 'not a decimal number'],
    ['-abc', 'not a decimal number'],
    ['NaN', 'not a decimal number'],
    ['Infinity', 'not a decimal number'],
    ['0x10', 'not a decimal number'],
    ['1.2.3', 'not a decimal number'],
    ['١', 'not a decimal number'], // ARABIC-INDIC DIGIT ONE is not an ASCII digit
  ])('refuses %j (%s)', (text, detail) => {
    expect(parseRate(text)).toEqual({ kind: 'invalid', detail });
  });

  it('refuses a megabyte of digits without parsing it', () => {
    expect(parseRate('9'.repeat(1_000_000))).toEqual({
      kind: 'invalid',
      detail: 'more than 24 digits before the decimal point',
    });
  });
});

describe('formatRate', () => {
  it.each([
    [1_084_200_000_000n, '1.0842'],
    [1n, '0.000000000001'],
    [150_000_000_000_000n, '150'],
    [500_000_000_000n, '0.5'],
    [10n ** 36n - 1n, '999999999999999999999999.999999999999'],
    [0n, '0'],
    [-1_500_000_000_000n, '-1.5'],
  ])('formats %s as %j', (value, text) => {
    expect(formatRate(value)).toBe(text);
  });

  it('round-trips every rate parseRate accepts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 36n - 1n }), (value) => {
        expect(parseRate(formatRate(value))).toEqual({ kind: 'ok', rate: value });
      }),
    );
  });
});

describe('canonicalCurrency', () => {
  it.each([
    ['usd', 'USD'],
    ['USD', 'USD'],
    ['EUR', 'EUR'],
    [' eur ', 'EUR'],
    ['gBp', 'GBP'],
    ['JPY', 'JPY'],
    ['CHF', 'CHF'],
  ])('reads %j as %j', (text, code) => {
    expect(canonicalCurrency(text)).toBe(code);
  });

  it.each([
    'ABC', // three letters, but no currency
    'XXX', // ISO's "no currency": Node 20's ICU does not list it (nor XAU, XTS)
    'US',
    'USDD',
    '',
    'U S',
    'US1',
    'uſd', // LATIN SMALL LETTER LONG S upper-cases to "S"
    'ınr', // LATIN SMALL LETTER DOTLESS I upper-cases to "I"
  ])('refuses %j', (text) => {
    expect(canonicalCurrency(text)).toBeNull();
  });
});

describe('convert', () => {
  it.each([
    // Ties at the nano go to the even neighbour.
    [1n, '0.5', 0n], // 0.5 nano: tie, 0 is even
    [3n, '0.5', 2n], // 1.5 → 2
    [5n, '0.5', 2n], // 2.5 → 2
    [7n, '0.5', 4n], // 3.5 → 4
    [12_345_678_901n, '0.5', 6_172_839_450n], // 6172839450.5 → …450 (even)
    [12_345_678_903n, '0.5', 6_172_839_452n], // 6172839451.5 → …452 (even)
    // A tie made by the rate's 12th decimal: 250e9 × 2 = 5e11 = half of 10^12.
    [250_000_000_000n, '0.000000000002', 0n], // 0.5 → 0
    [750_000_000_000n, '0.000000000002', 2n], // 1.5e12 / 1e12 = 1.5 → 2
    // Just off a tie.
    [1n, '0.500000000001', 1n], // 0.500000000001 nano → 1
    [1n, '0.499999999999', 0n], // 0.499999999999 nano → 0
    [1n, '0.000000000001', 0n], // 10^-12 nano → 0
    // Exact products.
    [100_000_000_000n, '1.0842', 108_420_000_000n], // 100 × 1.0842 = 108.42
    [15_764_331_210_000n, '1', 15_764_331_210_000n], // identity
    // 1.123456789 × 1.000000000001: 1123456789 × (10^12 + 1) = 1123456789·10^12 + 1123456789;
    // the remainder 1123456789 < 5·10^11 rounds down.
    [1_123_456_789n, '1.000000000001', 1_123_456_789n],
    // (10^18 − 1) × (10^12 − 1) = 10^30 − 10^18 − 10^12 + 1 = (10^18 − 10^6 − 1)·10^12 + 1 → down.
    [999_999_999_999_999_999n, '0.999999999999', 999_999_999_998_999_999n],
    // 2.000000001 × 1.999999999999: 2000000001 × (2·10^12 − 1) = 4000000002·10^12 − 2000000001
    // = 4000000001·10^12 + (10^12 − 2000000001) = 4000000001·10^12 + 997999999999; 2r > 10^12 → up.
    [2_000_000_001n, '1.999999999999', 4_000_000_002n],
    // A huge amount: 10^28 units = 10^37 nanos.
    [10n ** 37n, '1.0842', 10_842n * 10n ** 33n], // 10^37 × 1.0842 = 10842 × 10^33
    [10n ** 37n, '0.000000000001', 10n ** 25n], // 10^37 × 10^-12
    [10n ** 37n + 1n, '0.5', 5n * 10n ** 36n], // 5·10^36 + 0.5: tie, 5·10^36 is even
    [10n ** 37n + 3n, '0.5', 5n * 10n ** 36n + 2n], // 5·10^36 + 1.5: tie → +2
    // Negative amounts (restated deltas) round symmetrically.
    [-1n, '0.5', 0n], // −0.5 → 0
    [-3n, '0.5', -2n], // −1.5 → −2
    [-5n, '0.5', -2n], // −2.5 → −2
    [-1n, '0.500000000001', -1n],
    [0n, '150', 0n],
  ])('%s nanos × %s = %s nanos', (amount, rateText, expected) => {
    expect(convert(amount, rate(rateText))).toBe(expected);
  });
});

/**
 * A second, independent convert: decimal digit arrays, schoolbook long multiplication, and the
 * half-even rule read off the dropped digits (first dropped digit vs 5, then "all the rest zero?").
 */
function digitsOf(value: bigint): number[] {
  return [...(value < 0n ? -value : value).toString()].reverse().map(Number); // least significant first
}

function longMultiply(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length).fill(0);
  a.forEach((da, i) => {
    let carry = 0;
    b.forEach((db, j) => {
      const sum = (out[i + j] ?? 0) + da * db + carry;
      out[i + j] = sum % 10;
      carry = Math.floor(sum / 10);
    });
    for (let k = i + b.length; carry > 0; k += 1) {
      const sum = (out[k] ?? 0) + carry;
      out[k] = sum % 10;
      carry = Math.floor(sum / 10);
    }
  });
  return out;
}

function convertByDigits(amount: bigint, rateValue: bigint): bigint {
  const product = longMultiply(digitsOf(amount), digitsOf(rateValue));
  while (product.length < 13) product.push(0);
  const dropped = product.slice(0, 12); // the 12 rate decimals below the nano
  const kept = product.slice(12);
  const first = dropped[11] ?? 0;
  const restNonZero = dropped.slice(0, 11).some((d) => d !== 0);
  const odd = (kept[0] ?? 0) % 2 === 1;
  if (first > 5 || (first === 5 && (restNonZero || odd))) {
    let k = 0;
    while ((kept[k] ?? 0) === 9) kept[k++] = 0;
    kept[k] = (kept[k] ?? 0) + 1;
  }
  const text = kept.reverse().join('').replace(/^0+/, '') || '0';
  const negative = amount < 0n !== rateValue < 0n;
  return BigInt(negative && text !== '0' ? `-${text}` : text);
}

describe('convert agrees with decimal long multiplication', () => {
  const anyCase = fc.tuple(
    fc.bigInt({ min: -(10n ** 38n), max: 10n ** 38n }),
    fc.bigInt({ min: 1n, max: 10n ** 36n }),
  );
  // Ties are rare at random; these make one on every draw: an odd amount × 0.5, or
  // (2.5·10^11 + k·5·10^11) × 10^-12·2, whose product is 5·10^11 mod 10^12.
  const tieByHalf = fc
    .bigInt({ min: -(10n ** 30n), max: 10n ** 30n })
    .map((k) => [2n * k + 1n, 500_000_000_000n] as const);
  const tieByLastDecimal = fc
    .bigInt({ min: 0n, max: 10n ** 30n })
    .map((k) => [250_000_000_000n + k * 500_000_000_000n, 2n] as const);

  it('on arbitrary amounts and rates', () => {
    fc.assert(
      fc.property(anyCase, ([amount, r]) => {
        expect(convert(amount, r)).toBe(convertByDigits(amount, r));
      }),
      { numRuns: 500 },
    );
  });

  it('on exact ties at the nano', () => {
    fc.assert(
      fc.property(fc.oneof(tieByHalf, tieByLastDecimal), ([amount, r]) => {
        const converted = convert(amount, r);
        expect(converted).toBe(convertByDigits(amount, r));
        expect(converted % 2n).toBe(0n);
      }),
      { numRuns: 300 },
    );
  });
});

const row = (date: string, currency: string, rateText: string): RateRow => ({
  date,
  currency,
  rate: rate(rateText),
});

describe('RateBook.rateFor', () => {
  const book = createRateBook('USD');
  // Added out of order, as a stream may deliver them.
  for (const day of ['15', '03', '27', '09', '21', '01'])
    book.add(row(`2024-03-${day}`, 'EUR', `1.08${day}`));
  book.add(row('2024-03-10', 'GBP', '1.27'));

  it.each([
    ['EUR', '2024-03-15', '2024-03-15', '1.0815'], // a rate on the day
    ['EUR', '2024-03-16', '2024-03-15', '1.0815'], // the day before
    ['EUR', '2024-03-20', '2024-03-15', '1.0815'], // latest ≤, not nearest
    ['EUR', '2024-03-01', '2024-03-01', '1.0801'], // the first row
    ['EUR', '2024-03-02', '2024-03-01', '1.0801'],
    ['EUR', '2024-03-08', '2024-03-03', '1.0803'],
    ['EUR', '2024-03-09', '2024-03-09', '1.0809'],
    ['EUR', '2024-03-26', '2024-03-21', '1.0821'],
    ['EUR', '2024-03-27', '2024-03-27', '1.0827'], // the last row
    ['EUR', '2025-01-01', '2024-03-27', '1.0827'], // long after the last row
    ['GBP', '2024-03-10', '2024-03-10', '1.27'],
    ['GBP', '2024-12-31', '2024-03-10', '1.27'],
  ])('%s on %s uses the rate of %s (%s)', (currency, onDate, date, rateText) => {
    expect(book.rateFor(currency, onDate)).toEqual({ date, rate: rate(rateText) });
  });

  it.each([
    ['EUR', '2024-02-29'], // only rates after the day
    ['GBP', '2024-03-09'],
    ['JPY', '2024-03-15'], // no rates at all
    ['eur', '2024-03-15'], // not canonical: no such key
  ])('%s on %s has no rate', (currency, onDate) => {
    expect(book.rateFor(currency, onDate)).toBeNull();
  });

  it('gives the reporting currency rate 1 on any date, without a row', () => {
    expect(book.rateFor('USD', '1999-01-01')).toEqual({ date: '1999-01-01', rate: RATE_SCALE });
    expect(createRateBook('EUR').rateFor('EUR', '2024-03-15')).toEqual({
      date: '2024-03-15',
      rate: RATE_SCALE,
    });
  });

  it('lists its rows sorted by currency, then date', () => {
    expect(book.size).toBe(7);
    expect(book.rows().map((r) => `${r.currency} ${r.date} ${formatRate(r.rate)}`)).toEqual([
      'EUR 2024-03-01 1.0801',
      'EUR 2024-03-03 1.0803',
      'EUR 2024-03-09 1.0809',
      'EUR 2024-03-15 1.0815',
      'EUR 2024-03-21 1.0821',
      'EUR 2024-03-27 1.0827',
      'GBP 2024-03-10 1.27',
    ]);
  });
});

describe('RateBook.add', () => {
  it('is idempotent for the same row and replaces a corrected rate', () => {
    const book = createRateBook('USD');
    expect(book.add(row('2024-03-10', 'EUR', '1.08'))).toBe(true);
    expect(book.add(row('2024-03-10', 'EUR', '1.080'))).toBe(false); // the same rate, written longer
    expect(book.size).toBe(1);
    expect(book.add(row('2024-03-10', 'EUR', '1.09'))).toBe(true); // corrected
    expect(book.size).toBe(1);
    expect(book.rateFor('EUR', '2024-03-12')).toEqual({ date: '2024-03-10', rate: rate('1.09') });
    expect(book.add(row('2024-03-10', 'EUR', '1.09'))).toBe(false);
    expect(book.add(row('2024-03-10', 'GBP', '1.09'))).toBe(true); // same date, other currency
    expect(book.size).toBe(2);
  });

  it('stores no row for the reporting currency: its rate is 1 by definition', () => {
    const book = createRateBook('USD');
    expect(book.add(row('2024-03-10', 'USD', '1.2'))).toBe(false);
    expect(book.size).toBe(0);
    expect(book.rateFor('USD', '2024-03-10')).toEqual({ date: '2024-03-10', rate: RATE_SCALE });
  });

  it.each<[string, RateRow]>([
    ['a lower-case currency', { date: '2024-03-10', currency: 'eur', rate: RATE_SCALE }],
    ['an unknown currency', { date: '2024-03-10', currency: 'ABC', rate: RATE_SCALE }],
    ['a date not zero-padded', { date: '2024-3-10', currency: 'EUR', rate: RATE_SCALE }],
    ['a date with a time', { date: '2024-03-10T00:00:00Z', currency: 'EUR', rate: RATE_SCALE }],
    ['a zero rate', { date: '2024-03-10', currency: 'EUR', rate: 0n }],
    ['a negative rate', { date: '2024-03-10', currency: 'EUR', rate: -1n }],
  ])('throws RangeError for %s', (_, bad) => {
    const book = createRateBook('USD');
    expect(() => book.add(bad)).toThrow(RangeError);
    expect(book.size).toBe(0);
  });

  it.each(['usd', 'ABC', ''])('refuses %j as a reporting currency', (code) => {
    expect(() => createRateBook(code)).toThrow(RangeError);
  });
});

describe('convertAmount', () => {
  it('converts with the latest rate on or before the day and names its date', () => {
    const book = createRateBook('USD');
    book.add(row('2024-03-10', 'EUR', '1.0842'));
    // 100 EUR × 1.0842 = 108.42 USD
    expect(convertAmount(100_000_000_000n, 'EUR', '2024-03-12', book)).toEqual({
      kind: 'converted',
      amount: 108_420_000_000n,
      rate: 1_084_200_000_000n,
      rateDate: '2024-03-10',
    });
  });

  it('keeps the reporting currency unchanged, with rate 1 and no rate date', () => {
    const book = createRateBook('USD');
    expect(convertAmount(123_456_789n, 'USD', '2024-03-12', book)).toEqual({
      kind: 'converted',
      amount: 123_456_789n,
      rate: RATE_SCALE,
      rateDate: null,
    });
  });

  it('is pending_fx without a usable rate, until a rate arrives', () => {
    const book = createRateBook('USD');
    book.add(row('2024-03-10', 'EUR', '1.0842'));
    expect(convertAmount(100_000_000_000n, 'EUR', '2024-03-09', book)).toEqual({
      kind: 'pending_fx',
      currency: 'EUR',
      onDate: '2024-03-09',
    });
    expect(convertAmount(0n, 'GBP', '2024-03-12', book)).toEqual({
      kind: 'pending_fx',
      currency: 'GBP',
      onDate: '2024-03-12',
    });
    book.add(row('2024-03-01', 'EUR', '1.1'));
    // 100 EUR × 1.1 = 110 USD
    expect(convertAmount(100_000_000_000n, 'EUR', '2024-03-09', book)).toEqual({
      kind: 'converted',
      amount: 110_000_000_000n,
      rate: 1_100_000_000_000n,
      rateDate: '2024-03-01',
    });
  });

  it('converts a foreign amount in another reporting currency', () => {
    const book = createRateBook('EUR');
    book.add(row('2024-03-10', 'USD', '0.92'));
    // 3.000000005 USD × 0.92 = 2.7600000046 EUR → 2.760000005 (the dropped digit 6 rounds up)
    expect(convertAmount(3_000_000_005n, 'USD', '2024-03-10', book)).toMatchObject({
      kind: 'converted',
      amount: 2_760_000_005n,
    });
  });
});

describe('RateBook agrees with a linear scan over the rows', () => {
  const currencies = ['EUR', 'GBP', 'JPY', 'USD'] as const;
  const date = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 28 }))
    .map(([m, d]) => `2024-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
  // Few distinct rates, so the same row often arrives twice and corrections are common too.
  const addedRow = fc.record({
    date,
    currency: fc.constantFrom(...currencies),
    rate: fc.integer({ min: 1, max: 4 }).map((k) => (BigInt(k) * RATE_SCALE) / 4n),
  });
  const query = fc.tuple(
    fc.constantFrom(...currencies, 'CHF'),
    fc.oneof(date, fc.constantFrom('2023-12-31', '2024-04-01')),
  );

  it('for adds in any order, with duplicates and corrections', () => {
    fc.assert(
      fc.property(
        fc.array(addedRow, { maxLength: 80 }),
        fc.array(query, { minLength: 1, maxLength: 40 }),
        (added, queries) => {
          const book = createRateBook('USD');
          const model = new Map<string, RateRow>(); // last write wins per (currency, date)
          for (const r of added) {
            const key = `${r.currency} ${r.date}`;
            const changed = r.currency !== 'USD' && model.get(key)?.rate !== r.rate;
            expect(book.add(r)).toBe(changed);
            if (r.currency !== 'USD') model.set(key, r);
          }
          const modelRows = [...model.values()];
          expect(book.size).toBe(modelRows.length);
          const byKey = (r: RateRow): string => `${r.currency} ${r.date}`;
          expect(book.rows()).toEqual([...modelRows].sort((a, b) => (byKey(a) < byKey(b) ? -1 : 1)));
          for (const [currency, onDate] of queries) {
            let best: RateRow | null = null;
            for (const r of modelRows)
              if (r.currency === currency && r.date <= onDate && (best === null || r.date > best.date))
                best = r;
            const expected =
              currency === 'USD'
                ? { date: onDate, rate: RATE_SCALE }
                : best === null
                  ? null
                  : { date: best.date, rate: best.rate };
            expect(book.rateFor(currency, onDate)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
