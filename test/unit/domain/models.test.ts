import { describe, expect, it } from 'vitest';
import { attributeOpportunity, type Credit } from '../../../src/domain/attribute.js';
import type { Touch } from '../../../src/domain/events.js';
import { firstTouch } from '../../../src/domain/models/first-touch.js';
import {
  ALL_MODELS,
  MODEL_NAMES,
  STREAMING_MODEL_NAMES,
  type AttributionModel,
} from '../../../src/domain/models/index.js';
import { lastTouch } from '../../../src/domain/models/last-touch.js';
import { linear } from '../../../src/domain/models/linear.js';
import { timeDecay } from '../../../src/domain/models/time-decay.js';
import { uShaped } from '../../../src/domain/models/u-shaped.js';
import { days, opportunity, settings, T0, touch, UNIT } from '../../fakes/builders.js';

const HUNDRED = 100n * UNIT; // 100.000000000

/** Touches T1..Tn one day apart, T1 the earliest, all inside the window. */
const series = (n: number): Touch[] =>
  Array.from({ length: n }, (_, i) =>
    touch({ id: `T${i + 1}`, occurredAt: T0 - days(n - i), channel: i % 2 === 0 ? 'Adwords' : 'Webinar' }),
  );

function creditsOf(
  model: AttributionModel,
  touches: readonly Touch[],
  amount = HUNDRED,
  halfLifeMs?: number,
): Credit[] {
  const s = settings(halfLifeMs === undefined ? { models: [model] } : { models: [model], halfLifeMs });
  const result = attributeOpportunity(opportunity({ id: 'O1', amount }), touches, s);
  expect(result.results).toHaveLength(1);
  expect(result.results[0]?.model).toBe(model.name);
  return [...(result.results[0]?.credits ?? [])];
}

const pairs = (credits: readonly Credit[]): [string | null, bigint][] =>
  credits.map((c) => [c.touchpointId, c.amount]);

const sum = (credits: readonly Credit[]): bigint => credits.reduce((s, c) => s + c.amount, 0n);

describe('model catalogue', () => {
  it('computes the seven built-in models side by side, in a stable order; streaming the first five', () => {
    const all = ['first_touch', 'last_touch', 'linear', 'u_shaped', 'time_decay', 'w_shaped', 'full_path'];
    expect(MODEL_NAMES).toEqual(all);
    expect(STREAMING_MODEL_NAMES).toEqual(all.slice(0, 5));
    const result = attributeOpportunity(opportunity(), series(3), settings({ models: ALL_MODELS }));
    expect(result.results.map((r) => r.model)).toEqual(all);
  });
});

describe('first_touch', () => {
  it('gives 100 % to the earliest eligible touch, even when its id is the largest', () => {
    const touches = [
      touch({ id: 'Z9', occurredAt: T0 - days(30), channel: 'Event' }),
      touch({ id: 'A1', occurredAt: T0 - days(2) }),
      touch({ id: 'B1', occurredAt: T0 - days(100) }), // outside the window
    ];
    const credits = creditsOf(firstTouch, touches);
    expect(credits).toEqual([
      { touchpointId: 'Z9', channel: 'Event', occurredAt: T0 - days(30), amount: HUNDRED },
    ]);
  });

  it.each([
    [['T2', 'T1', 'T3'], 'T1'],
    [['b', 'a', 'c'], 'a'],
    [['MKv1b', 'MKv1a', 'SAT1a'], 'MKv1a'],
    [['Z', 'a'], 'Z'], // code-unit order: 'Z' < 'a'
  ])('breaks a tie on time among %j in favour of the smallest id %j', (ids, winner) => {
    const touches = ids.map((id) => touch({ id, occurredAt: T0 - days(5) }));
    touches.push(touch({ id: '0-later', occurredAt: T0 - days(4) }));
    expect(pairs(creditsOf(firstTouch, touches))).toEqual([[winner, HUNDRED]]);
  });
});

describe('last_touch', () => {
  it('gives 100 % to the latest eligible touch, ignoring touches after creation', () => {
    const touches = [
      touch({ id: 'A1', occurredAt: T0 - days(30) }),
      touch({ id: 'Z9', occurredAt: T0 - days(2), channel: 'Outbound', source: 'sales' }),
      touch({ id: 'M5', occurredAt: T0 + 1 }), // after creation
    ];
    expect(creditsOf(lastTouch, touches)).toEqual([
      { touchpointId: 'Z9', channel: 'Outbound', occurredAt: T0 - days(2), amount: HUNDRED },
    ]);
  });

  it.each([
    [['T2', 'T1', 'T3'], 'T3'],
    [['b', 'c', 'a'], 'c'],
    [['Z', 'a'], 'a'],
  ])('breaks a tie on time among %j in favour of the largest id %j', (ids, winner) => {
    const touches = ids.map((id) => touch({ id, occurredAt: T0 - days(5) }));
    touches.push(touch({ id: 'zz-earlier', occurredAt: T0 - days(6) }));
    expect(pairs(creditsOf(lastTouch, touches))).toEqual([[winner, HUNDRED]]);
  });
});

describe('linear', () => {
  it.each([
    [1, HUNDRED, [HUNDRED]],
    [2, HUNDRED, [50n * UNIT, 50n * UNIT]],
    // 100 / 3 = 33.333333333 r 1 nano: the one nano left goes to the earliest touch.
    [3, HUNDRED, [33_333_333_334n, 33_333_333_333n, 33_333_333_333n]],
    [4, HUNDRED, [25n * UNIT, 25n * UNIT, 25n * UNIT, 25n * UNIT]],
    // 100 / 7 = 14.285714285 r 5 nanos: the five earliest get one more.
    [
      7,
      HUNDRED,
      [
        14_285_714_286n,
        14_285_714_286n,
        14_285_714_286n,
        14_285_714_286n,
        14_285_714_286n,
        14_285_714_285n,
        14_285_714_285n,
      ],
    ],
    [3, 1n, [1n, 0n, 0n]],
    [3, 2n, [1n, 1n, 0n]],
  ])('splits over %i touches: %s → %s', (n, amount, expected) => {
    const credits = creditsOf(linear, series(n), amount);
    expect(pairs(credits)).toEqual(expected.map((a, i) => [`T${i + 1}`, a]));
    expect(sum(credits)).toBe(amount);
  });

  it('orders touches by time, then id, whatever order the candidates come in', () => {
    const touches = [
      touch({ id: 'c', occurredAt: T0 - days(1) }),
      touch({ id: 'b', occurredAt: T0 - days(9) }),
      touch({ id: 'a', occurredAt: T0 - days(1) }),
    ];
    expect(pairs(creditsOf(linear, touches))).toEqual([
      ['b', 33_333_333_334n],
      ['a', 33_333_333_333n],
      ['c', 33_333_333_333n],
    ]);
  });
});

describe('u_shaped', () => {
  it.each([
    [1, [HUNDRED]],
    [2, [50n * UNIT, 50n * UNIT]],
    [3, [40n * UNIT, 20n * UNIT, 40n * UNIT]],
    [4, [40n * UNIT, 10n * UNIT, 10n * UNIT, 40n * UNIT]],
    // 40 / 6.67 / 6.67 / 6.67 / 40: 20 / 3 = 6.666666666 r 2 nanos → the two earliest middle touches.
    [5, [40n * UNIT, 6_666_666_667n, 6_666_666_667n, 6_666_666_666n, 40n * UNIT]],
    [6, [40n * UNIT, 5n * UNIT, 5n * UNIT, 5n * UNIT, 5n * UNIT, 40n * UNIT]],
  ])('splits 100 over %i touches as %s', (n, expected) => {
    const credits = creditsOf(uShaped, series(n));
    expect(pairs(credits)).toEqual(expected.map((a, i) => [`T${i + 1}`, a]));
    expect(sum(credits)).toBe(HUNDRED);
  });

  it('gives 40 % to first and last and 20 % in total to the middle for an awkward amount', () => {
    // 1 nano short of 1.000000000 over 5 touches: 999999999 × 6/15 = 399999999.6, × 1/15 = 66666666.6
    const credits = creditsOf(uShaped, series(5), 999_999_999n);
    // Floors 399999999, 66666666 ×3, 399999999 = 999999996; 3 left over, all remainders 9/15 → T1..T3.
    expect(pairs(credits)).toEqual([
      ['T1', 400_000_000n],
      ['T2', 66_666_667n],
      ['T3', 66_666_667n],
      ['T4', 66_666_666n],
      ['T5', 399_999_999n],
    ]);
  });
});

describe('time_decay', () => {
  /** |credit × den − amount × num| ≤ den, i.e. the credit is within 1 nano of amount × num / den. */
  const withinOneNano = (credit: bigint | undefined, amount: bigint, num: bigint, den: bigint): boolean => {
    if (credit === undefined) return false;
    const diff = credit * den - amount * num;
    return (diff < 0n ? -diff : diff) <= den;
  };

  it.each([[HUNDRED], [1n], [2n], [15_764_331_210_000n], [1_000_000_000_000_000_001n]])(
    'splits %s between touches at Δ = 7 days and Δ = 0 as 1/3 and 2/3',
    (amount) => {
      const touches = [touch({ id: 'now', occurredAt: T0 }), touch({ id: 'week', occurredAt: T0 - days(7) })];
      const credits = creditsOf(timeDecay, touches, amount);
      expect(credits.map((c) => c.touchpointId)).toEqual(['week', 'now']);
      expect(withinOneNano(credits[0]?.amount, amount, 1n, 3n)).toBe(true);
      expect(withinOneNano(credits[1]?.amount, amount, 2n, 3n)).toBe(true);
      expect(sum(credits)).toBe(amount);
    },
  );

  it('gives exactly 66.666666667 and 33.333333333 of 100 at Δ = 0 and Δ = 7 days', () => {
    const touches = [touch({ id: 'week', occurredAt: T0 - days(7) }), touch({ id: 'now', occurredAt: T0 })];
    expect(pairs(creditsOf(timeDecay, touches))).toEqual([
      ['week', 33_333_333_333n],
      ['now', 66_666_666_667n],
    ]);
  });

  it.each([
    ['Δ = 0 and Δ = 14 days', 0, 14, 80n * UNIT, 20n * UNIT],
    ['Δ = 1 and Δ = 15 days', 1, 15, 80n * UNIT, 20n * UNIT],
    ['Δ = 7 and Δ = 28 days', 7, 28, 88_888_888_889n, 11_111_111_111n], // 8 : 1 of 100
  ])('splits 100 by the half-life ratio at %s', (_label, nearDays, farDays, near, far) => {
    const touches = [
      touch({ id: 'near', occurredAt: T0 - days(nearDays) }),
      touch({ id: 'far', occurredAt: T0 - days(farDays) }),
    ];
    const credits = creditsOf(timeDecay, touches);
    expect(pairs(credits)).toEqual([
      ['far', far],
      ['near', near],
    ]);
  });

  it('splits 100 over Δ = 14, 7, 0 days as 1 : 2 : 4 (sevenths, within one nano)', () => {
    const touches = [0, 7, 14].map((d) => touch({ id: `d${d}`, occurredAt: T0 - days(d) }));
    const credits = creditsOf(timeDecay, touches);
    expect(credits.map((c) => c.touchpointId)).toEqual(['d14', 'd7', 'd0']);
    expect(withinOneNano(credits[0]?.amount, HUNDRED, 1n, 7n)).toBe(true);
    expect(withinOneNano(credits[1]?.amount, HUNDRED, 2n, 7n)).toBe(true);
    expect(withinOneNano(credits[2]?.amount, HUNDRED, 4n, 7n)).toBe(true);
    expect(sum(credits)).toBe(HUNDRED);
  });

  it('uses the configured half-life', () => {
    const touches = [touch({ id: 'now', occurredAt: T0 }), touch({ id: 'day', occurredAt: T0 - days(1) })];
    const credits = creditsOf(timeDecay, touches, 90n * UNIT, days(1));
    expect(pairs(credits)).toEqual([
      ['day', 30n * UNIT],
      ['now', 60n * UNIT],
    ]);
  });

  it('follows 2^(−Δ/H) between whole half-lives: Δ = 3.5 days gives √½ of the weight at Δ = 0', () => {
    const touches = [touch({ id: 'now', occurredAt: T0 }), touch({ id: 'half', occurredAt: T0 - days(3.5) })];
    const credits = creditsOf(timeDecay, touches);
    // now = 100 / (1 + √½) = 58.578643762690…, half = 41.421356237309…
    expect(pairs(credits).map(([id]) => id)).toEqual(['half', 'now']);
    const now = credits[1]?.amount ?? 0n;
    expect(now >= 58_578_643_761n && now <= 58_578_643_764n).toBe(true);
    expect(sum(credits)).toBe(HUNDRED);
  });

  it('gives equal touches at the same instant equal shares, the nano left over to the lower id', () => {
    const touches = [
      touch({ id: 'b', occurredAt: T0 - days(3) }),
      touch({ id: 'a', occurredAt: T0 - days(3) }),
    ];
    expect(pairs(creditsOf(timeDecay, touches, 101n))).toEqual([
      ['a', 51n],
      ['b', 50n],
    ]);
  });

  it('keeps every eligible touch in the split even at the far edge of a long window', () => {
    const touches = [touch({ id: 'old', occurredAt: T0 - days(3650) }), touch({ id: 'now', occurredAt: T0 })];
    const s = settings({ models: [timeDecay], windowMs: days(3650) });
    const result = attributeOpportunity(opportunity({ id: 'O1', amount: HUNDRED }), touches, s);
    const credits = result.results[0]?.credits ?? [];
    expect(credits.map((c) => c.touchpointId)).toEqual(['old', 'now']);
    expect(sum(credits)).toBe(HUNDRED);
  });
});

describe('attributeOpportunity with a custom model', () => {
  const custom = (weights: bigint[]): AttributionModel => ({ name: 'custom', weigh: () => weights });

  it('accepts a new model as one small pure module and splits by its integer weights', () => {
    const credits = creditsOf(custom([3n, 0n, 1n]), series(3), 8n);
    // zero-weight touches get no credit row at all
    expect(pairs(credits)).toEqual([
      ['T1', 6n],
      ['T3', 2n],
    ]);
  });

  it.each([
    ['too few weights', [1n, 1n]],
    ['too many weights', [1n, 1n, 1n, 1n]],
    ['a negative weight', [2n, -1n, 1n]],
    ['all weights zero', [0n, 0n, 0n]],
  ])('refuses %s', (_label, weights) => {
    expect(() =>
      attributeOpportunity(opportunity(), series(3), settings({ models: [custom(weights)] })),
    ).toThrow(RangeError);
  });
});
