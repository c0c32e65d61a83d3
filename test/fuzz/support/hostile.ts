/**
 * Hostile values for the fuzz tests: what production does to input fields. Each arbitrary mixes
 * plausible values (so records get deep into validation) with the nasty ones the issue lists:
 * huge strings, control characters and NUL, lone surrogates, far-future and year-0 dates,
 * 38-digit and longer amounts, NaN-like and negative amounts.
 */
import fc from 'fast-check';

/** 1 MB of text, built once: ids and channels that big must be refused or carried, never crash. */
export const HUGE = 'x'.repeat(1 << 20);
export const HUGE_DIGITS = '9'.repeat(1 << 20);

const controlText = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});
/** Any UTF-16 code unit, lone surrogates included (what JSON "\ud800" or a bad decoder yields). */
const codeUnitText = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 3 },
  { arbitrary: codeUnitText, weight: 2 },
  { arbitrary: controlText, weight: 1 },
  {
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'null',
      'NULL',
      ' Null ',
      '\u0000',
      'C1\u0000',
      'A\u0000B',
      '\ufeff',
      '\ud800',
      '\udfff',
      '\u00a0',
      'Webinar\u0007',
      '\u202e',
      HUGE,
      `${HUGE}\u0000`,
    ),
    weight: 2,
  },
);

/** Ids from a small pool (so joins happen) or hostile text. */
export const idText = (prefix: string): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `${prefix}${i}`), weight: 3 },
    { arbitrary: hostileText, weight: 1 },
  );

export const channelText = fc.oneof(
  { arbitrary: fc.constantFrom('Webinar', 'Adwords', 'paid-social', 'Outbound', 'Event', 'Fax'), weight: 3 },
  { arbitrary: hostileText, weight: 1 },
);
export const segmentText = fc.oneof(
  { arbitrary: fc.constantFrom('Commercial', 'Mid Market', 'Enterprise', 'Galactic'), weight: 3 },
  { arbitrary: hostileText, weight: 1 },
);

/** Epoch milliseconds, valid and not: the edges of what a Date can hold and beyond. */
export const hostileMillis: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2022, 0, 1) }),
  fc.constantFrom(
    0,
    -1,
    8.64e15,
    8.64e15 + 1,
    -8.64e15,
    -8.64e15 - 1,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    253402300799000, // 9999-12-31T23:59:59Z
    253402300800000, // 10000-01-01
    -62167219200000, // 0000-01-01
    -62198755200000, // -0001-01-01
    1.7e15, // microseconds by mistake (year ~55 800)
  ),
  fc.maxSafeInteger(),
);

export const hostileDateText: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2022, 0, 1) })
      .map((ms) => new Date(ms).toISOString()),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(
      '9999-12-31T23:59:59Z',
      '9999-12-31T23:59:59.999999999-23:59',
      '0000-01-01T00:00:00Z',
      '0000-01-01T00:00:00+23:59',
      '-0001-01-01T00:00:00Z',
      '-000001-01-01T00:00:00Z',
      '+275760-09-13T00:00:00Z',
      '+275760-09-13T00:00:00.001Z',
      '275760-09-13T00:00:00Z',
      '2021-02-29T00:00:00Z',
      '2020-02-29T24:00:00Z',
      '2021-05-10T22:25:39',
      '2021-05-10',
      '2021-05-10T22:25:39+99:99',
      '2021-05-10T22:25:39\u0000Z',
      'NaN',
      'Invalid Date',
      '',
    ),
    weight: 2,
  },
  {
    arbitrary: hostileMillis.map((ms) => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms))),
    weight: 1,
  },
  { arbitrary: hostileText, weight: 1 },
);

export const hostileAmountText: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .bigInt({ min: 0n, max: 10n ** 15n })
      .map((n) => `${n / 1000n}.${(n % 1000n).toString().padStart(3, '0')}`),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(
      '1'.repeat(29),
      `${'9'.repeat(29)}.999999999`,
      '1'.repeat(30),
      '1'.repeat(38),
      '1'.repeat(39),
      `${'9'.repeat(38)}.999999999`,
      HUGE_DIGITS,
      `-${HUGE_DIGITS}`,
      `${'-'.repeat(100_000)}1`,
      '-1',
      '-0',
      '-0.000000001',
      '--1',
      '-',
      '+5',
      'NaN',
      '-NaN',
      'Infinity',
      '-Infinity',
      '1e5',
      '0x10',
      '1.0000000001',
      '.5',
      '5.',
      ' 5 ',
      '１２',
      '1,000.00',
      '1\u00002',
    ),
    weight: 2,
  },
  { arbitrary: fc.bigInt().map(String), weight: 1 },
  { arbitrary: hostileText, weight: 1 },
);

/** Amounts as nano-units, for Avro decimals: valid, negative, beyond decimal(38,9), enormous. */
export const hostileNanos: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 18n }),
  fc.constantFrom(-1n, 0n, 10n ** 38n - 1n, 10n ** 38n, 10n ** 40n, -(10n ** 40n), 1n << 255n, -(1n << 511n)),
  fc.bigInt(),
);
