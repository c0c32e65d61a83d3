import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCents, formatNanos, parseAmount, splitByWeights } from '../../../src/domain/money.js';

describe('parseAmount', () => {
  it.each([
    ['0', 0n],
    ['12', 12_000_000_000n],
    ['00012', 12_000_000_000n],
    ['15764.33121', 15_764_331_210_000n],
    ['1.592356688', 1_592_356_688n],
    ['0.000000001', 1n],
    ['999999999.999999999', 999_999_999_999_999_999n],
    ['1796178.344', 1_796_178_344_000_000n],
    ['123456789012345678901', 123_456_789_012_345_678_901_000_000_000n],
    ['  12.5  ', 12_500_000_000n],
    ['\t7\t', 7_000_000_000n],
  ])('parses %j exactly to %s nanos', (text, nanos) => {
    expect(parseAmount(text)).toEqual({ kind: 'ok', nanos });
  });

  it.each(['-1', '-0.5', '-15764.33121', '  -3  '])('refuses %j as negative', (text) => {
    expect(parseAmount(text)).toEqual({ kind: 'negative' });
  });

  // Zero is neither negative nor non-numeric, whatever sign it is written with.
  it.each(['-0', '-0.000000000'])('reads %j as zero, not as a negative amount', (text) => {
    expect(parseAmount(text)).toEqual({ kind: 'ok', nanos: 0n });
  });

  it.each([
    ['1.0000000001', 'more than 9 decimal places'],
    ['0.1234567891', 'more than 9 decimal places'],
    ['1e5', 'not a decimal number'],
    ['1E5', 'not a decimal number'],
    ['', 'not a decimal number'],
    ['   ', 'not a decimal number'],
    ['1 000', 'not a decimal number'],
    ['1,000.00', 'not a decimal number'],
    ['+5', 'not a decimal number'],
    ['.5', 'not a decimal number'],
    ['5.', 'not a decimal number'],
    ['abc', 'not a decimal number'],
    ['-abc', 'not a decimal number'],
    ['--1', 'not a decimal number'],
    ['NaN', 'not a decimal number'],
    ['Infinity', 'not a decimal number'],
    ['0x10', 'not a decimal number'],
    ['1.2.3', 'not a decimal number'],
  ])('refuses %j as invalid (%s)', (text, detail) => {
    expect(parseAmount(text)).toEqual({ kind: 'invalid', detail });
  });

  // Found by test/fuzz/validation.test.ts: the sign was stripped by recursion (a stack overflow on
  // a long run of '-'), and amounts too big for decimal(38,9) passed, to fail later in Postgres.
  it.each([
    [`${'-'.repeat(100_000)}1`, 'not a decimal number'],
    ['1'.repeat(30), 'more than 29 digits before the decimal point (the most decimal(38,9) holds)'],
    [`${'9'.repeat(38)}.5`, 'more than 29 digits before the decimal point (the most decimal(38,9) holds)'],
    ['9'.repeat(1 << 20), 'more than 29 digits before the decimal point (the most decimal(38,9) holds)'],
    ['-0.0000000001', 'more than 9 decimal places'],
  ])('refuses hostile %#: %s', (text, detail) => {
    expect(parseAmount(text)).toEqual({ kind: 'invalid', detail });
  });

  it('accepts the largest decimal(38,9), leading zeros aside, and reads a huge negative as negative', () => {
    expect(parseAmount(`${'9'.repeat(29)}.999999999`)).toEqual({ kind: 'ok', nanos: 10n ** 38n - 1n });
    expect(parseAmount(`000${'9'.repeat(29)}`)).toEqual({ kind: 'ok', nanos: (10n ** 29n - 1n) * 10n ** 9n });
    expect(parseAmount(`-${'9'.repeat(1 << 20)}`)).toEqual({ kind: 'negative' });
  });

  it('round-trips every nano amount written with 9 decimals', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), (nanos) => {
        const text = `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
        expect(parseAmount(text)).toEqual({ kind: 'ok', nanos });
      }),
    );
  });
});

describe('formatNanos', () => {
  it.each([
    [0n, '0'],
    [1n, '0.000000001'],
    [10n, '0.00000001'],
    [12_000_000_000n, '12'],
    [12_500_000_000n, '12.5'],
    [15_764_331_210_000n, '15764.33121'],
    [999_999_999_999_999_999n, '999999999.999999999'],
    [-1n, '-0.000000001'],
    [-12_500_000_000n, '-12.5'],
    [-3_000_000_000n, '-3'],
  ])('formats %s nanos as %j', (nanos, text) => {
    expect(formatNanos(nanos)).toBe(text);
  });

  it('is the inverse of parseAmount for non-negative amounts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), (nanos) => {
        expect(parseAmount(formatNanos(nanos))).toEqual({ kind: 'ok', nanos });
      }),
    );
  });
});

describe('formatCents (half to even)', () => {
  it.each([
    [0n, '0.00'],
    [1n, '0.00'],
    [4_999_999n, '0.00'],
    [5_000_000n, '0.00'], // 0.005 exactly: 0 is even
    [5_000_001n, '0.01'], // just above half
    [10_000_000n, '0.01'],
    [15_000_000n, '0.02'], // 0.015: up to the even 2
    [25_000_000n, '0.02'], // 0.025: down to the even 2
    [35_000_000n, '0.04'],
    [25_000_001n, '0.03'],
    [24_999_999n, '0.02'],
    [1_005_000_000n, '1.00'], // 1.005: 100 is even
    [1_015_000_000n, '1.02'],
    [1_234_567_890n, '1.23'],
    [1_235_000_000n, '1.24'], // 1.235: 124 is even
    [1_245_000_000n, '1.24'], // 1.245: 124 is even
    [995_000_000n, '1.00'], // 0.995: 99 is odd, up to 100 carries into units
    [99_995_000_000n, '100.00'],
    [51_455_585_910_000_000n, '51455585.91'],
    [123_456_789_012_345_678_901_000_000_000n, '123456789012345678901.00'],
    [-5_000_000n, '0.00'], // -0.005 rounds to zero: no sign on zero
    [-4_000_000n, '0.00'],
    [-5_000_001n, '-0.01'],
    [-15_000_000n, '-0.02'],
    [-25_000_000n, '-0.02'],
    [-1_235_000_000n, '-1.24'],
    [-1_234_000_000n, '-1.23'],
  ])('formats %s nanos as %j', (nanos, text) => {
    expect(formatCents(nanos)).toBe(text);
  });

  it('agrees with an independent half-even rounding on random amounts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), (nanos) => {
        // Independent: compare 2 × remainder with the cent size instead of a half constant.
        const cent = 10_000_000n;
        const floor = nanos / cent;
        const twice = 2n * (nanos - floor * cent);
        const cents = twice > cent || (twice === cent && floor % 2n === 1n) ? floor + 1n : floor;
        const expected = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
        expect(formatCents(nanos)).toBe(expected);
      }),
    );
  });
});

describe('splitByWeights', () => {
  it.each([
    // amount, weights, expected parts (computed by hand)
    [100n, [1n, 1n], [50n, 50n]],
    [100_000_000_000n, [1n, 1n, 1n], [33_333_333_334n, 33_333_333_333n, 33_333_333_333n]],
    [1n, [1n, 1n, 1n], [1n, 0n, 0n]],
    [2n, [1n, 1n, 1n], [1n, 1n, 0n]],
    [10n, [1n, 2n, 4n], [1n, 3n, 6n]], // exact 1.43, 2.86, 5.71: leftovers go to remainders 6/7 then 5/7
    [10n, [4n, 2n, 1n], [6n, 3n, 1n]], // same shares in reverse order
    [7n, [1n, 1n, 1n, 1n], [2n, 2n, 2n, 1n]], // ties: lower index first
    [5n, [0n, 1n], [0n, 5n]],
    [5n, [1n, 0n, 0n], [5n, 0n, 0n]],
    [3n, [0n, 1n, 0n, 1n], [0n, 2n, 0n, 1n]],
    [0n, [1n, 2n, 3n], [0n, 0n, 0n]],
    [100n, [3n], [100n]],
    [11n, [2n, 1n, 1n, 2n], [4n, 2n, 2n, 3n]], // 3.67, 1.83, 1.83, 3.67: remainders 4,5,5,4 sixths; 3 left over
    [1_000_000_000n, [1_000_000_000_000_000n, 1n], [1_000_000_000n, 0n]], // shares 999999999.000000999 and 0.000000999: the larger remainder takes the nano
  ])('splits %s by %s into %s', (amount, weights, parts) => {
    expect(splitByWeights(amount, weights)).toEqual(parts);
  });

  it('returns no parts for no weights', () => {
    expect(splitByWeights(100n, [])).toEqual([]);
  });

  it.each([[[0n]], [[0n, 0n, 0n]]])('refuses weights %s that sum to zero', (weights) => {
    expect(() => splitByWeights(100n, weights)).toThrow(RangeError);
  });

  it('sums exactly, keeps every part within one nano of its exact share, and rounds up the largest remainders first', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 21n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 1, maxLength: 12 }),
        (amount, rawWeights) => {
          const weights = rawWeights.some((w) => w > 0n) ? rawWeights : [...rawWeights.slice(1), 1n];
          const total = weights.reduce((s, w) => s + w, 0n);
          const parts = splitByWeights(amount, weights);
          expect(parts).toHaveLength(weights.length);
          expect(parts.reduce((s, p) => s + p, 0n)).toBe(amount);
          const roundedUp: number[] = [];
          weights.forEach((w, i) => {
            const floor = (amount * w) / total;
            const part = parts[i] ?? -1n;
            expect(part === floor || part === floor + 1n).toBe(true);
            if (w === 0n) expect(part).toBe(0n);
            if (part === floor + 1n) roundedUp.push(i);
          });
          // Every part rounded up has a remainder at least as large as every part not rounded up
          // (and, when equal, a lower index).
          const remainder = (i: number): bigint => (amount * (weights[i] ?? 0n)) % total;
          for (const up of roundedUp) {
            weights.forEach((_, other) => {
              if (roundedUp.includes(other)) return;
              const r = remainder(up);
              const o = remainder(other);
              expect(r > o || (r === o && up < other)).toBe(true);
            });
          }
        },
      ),
    );
  });
});
