import { describe, expect, it } from 'vitest';
import { attributeOpportunity } from '../../../src/domain/attribute.js';
import { eligibleTouches } from '../../../src/domain/window.js';
import { firstTouch } from '../../../src/domain/models/first-touch.js';
import { linear } from '../../../src/domain/models/linear.js';
import { days, DEFAULT_WINDOW_MS, opportunity, settings, T0, touch } from '../../fakes/builders.js';

/** 90 days written out: 90 × 86 400 000 ms. */
const W = 7_776_000_000;

describe('eligibleTouches', () => {
  it('uses 90 × 86 400 000 ms as the default window of the test settings', () => {
    expect(DEFAULT_WINDOW_MS).toBe(W);
  });

  it.each([
    ['exactly W before creation', T0 - W, true],
    ['1 ms later than W before creation', T0 - W + 1, true],
    ['1 ms earlier than W before creation', T0 - W - 1, false],
    ['one day before creation', T0 - days(1), true],
    ['1 ms before creation', T0 - 1, true],
    ['at the creation instant', T0, true],
    ['1 ms after creation', T0 + 1, false],
    ['a year after creation', T0 + days(365), false],
    ['a year before creation', T0 - days(365), false],
  ])('a touch %s (at %i) is eligible: %s', (_label, occurredAt, eligible) => {
    const result = eligibleTouches([touch({ id: 'T1', occurredAt })], T0, W);
    expect(result.map((t) => t.id)).toEqual(eligible ? ['T1'] : []);
  });

  it.each([
    ['1 day', days(1), ['T-1d', 'T0']],
    ['30 days', days(30), ['T-30d', 'T-1d', 'T0']],
    ['0 ms (only the creation instant)', 0, ['T0']],
    ['90 days', W, ['T-90d', 'T-30d', 'T-1d', 'T0']],
    ['365 days', days(365), ['T-365d', 'T-90d', 'T-30d', 'T-1d', 'T0']],
  ])('honours a configurable window of %s', (_label, windowMs, ids) => {
    const candidates = [
      touch({ id: 'T0', occurredAt: T0 }),
      touch({ id: 'T-1d', occurredAt: T0 - days(1) }),
      touch({ id: 'T-30d', occurredAt: T0 - days(30) }),
      touch({ id: 'T-90d', occurredAt: T0 - days(90) }),
      touch({ id: 'T-365d', occurredAt: T0 - days(365) }),
      touch({ id: 'T-366d', occurredAt: T0 - days(366) }),
      touch({ id: 'T+1ms', occurredAt: T0 + 1 }),
    ];
    expect(eligibleTouches(candidates, T0, windowMs).map((t) => t.id)).toEqual(ids);
  });

  it('counts a touch delivered twice once', () => {
    const t = touch({ id: 'T1', occurredAt: T0 - days(3) });
    const result = eligibleTouches([t, t, { ...t }], T0, W);
    expect(result).toEqual([t]);
  });

  it('returns touches in canonical order: time, then id', () => {
    const candidates = [
      touch({ id: 'b', occurredAt: T0 - days(1) }),
      touch({ id: 'c', occurredAt: T0 - days(2) }),
      touch({ id: 'a', occurredAt: T0 - days(1) }),
      touch({ id: 'A', occurredAt: T0 - days(1) }),
    ];
    expect(eligibleTouches(candidates, T0, W).map((t) => t.id)).toEqual(['c', 'A', 'a', 'b']);
  });

  it('returns nothing for no candidates', () => {
    expect(eligibleTouches([], T0, W)).toEqual([]);
  });
});

describe('attributeOpportunity applies the window', () => {
  const s = settings({ models: [linear] });

  it.each([
    ['exactly W before creation', T0 - W, 'T1'],
    ['at the creation instant', T0, 'T1'],
    ['1 ms before the window', T0 - W - 1, null],
    ['1 ms after creation', T0 + 1, null],
  ])('a touch %s (at %i) is credited to %s', (_label, occurredAt, credited) => {
    const result = attributeOpportunity(opportunity(), [touch({ id: 'T1', occurredAt })], s);
    expect(result.eligibleTouches).toBe(credited === null ? 0 : 1);
    expect(result.results[0]?.credits.map((c) => c.touchpointId)).toEqual([credited]);
  });

  it('splits between distinct touches only, counting a duplicated touch once', () => {
    const a = touch({ id: 'a', occurredAt: T0 - days(2) });
    const b = touch({ id: 'b', occurredAt: T0 - days(1) });
    const result = attributeOpportunity(opportunity({ id: 'O1', amount: 10n }), [a, b, a, a, b], s);
    expect(result.eligibleTouches).toBe(2);
    expect(result.results[0]?.credits.map((c) => [c.touchpointId, c.amount])).toEqual([
      ['a', 5n],
      ['b', 5n],
    ]);
  });

  it('uses the configured window', () => {
    const t = touch({ id: 'T1', occurredAt: T0 - days(10) });
    const narrow = attributeOpportunity(
      opportunity(),
      [t],
      settings({ windowMs: days(9), models: [firstTouch] }),
    );
    const wide = attributeOpportunity(
      opportunity(),
      [t],
      settings({ windowMs: days(10), models: [firstTouch] }),
    );
    expect(narrow.results[0]?.credits.map((c) => c.touchpointId)).toEqual([null]);
    expect(wide.results[0]?.credits.map((c) => c.touchpointId)).toEqual(['T1']);
  });
});
