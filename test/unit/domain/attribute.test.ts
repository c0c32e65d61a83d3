import { describe, expect, it } from 'vitest';
import { attributeOpportunity } from '../../../src/domain/attribute.js';
import { UNATTRIBUTED } from '../../../src/domain/catalog.js';
import { ALL_MODELS } from '../../../src/domain/models/index.js';
import { days, opportunity, settings, T0, touch, UNIT } from '../../fakes/builders.js';

const AMOUNT = 15_764_331_210_000n; // 15764.33121

describe('Unattributed', () => {
  it('is spelled exactly "Unattributed"', () => {
    expect(UNATTRIBUTED).toBe('Unattributed');
  });

  const cases = [
    ['no candidate touches', []],
    ['only touches before the window', [touch({ id: 'T1', occurredAt: T0 - days(90) - 1 })]],
    [
      'only touches after creation',
      [touch({ id: 'T1', occurredAt: T0 + 1 }), touch({ id: 'T2', occurredAt: T0 + days(5) })],
    ],
    [
      'touches on both sides of the window but none inside',
      [touch({ id: 'T1', occurredAt: T0 - days(200) }), touch({ id: 'T2', occurredAt: T0 + days(1) })],
    ],
  ] as const;

  for (const model of ALL_MODELS) {
    it.each(cases)(
      `${model.name}: credits the whole amount to Unattributed with %s`,
      (_label, candidates) => {
        const result = attributeOpportunity(
          opportunity({ id: 'O1', amount: AMOUNT }),
          candidates,
          settings({ models: [model] }),
        );
        expect(result.eligibleTouches).toBe(0);
        expect(result.results).toEqual([
          {
            model: model.name,
            credits: [{ touchpointId: null, channel: 'Unattributed', occurredAt: null, amount: AMOUNT }],
          },
        ]);
      },
    );
  }

  it('credits a zero amount to Unattributed rather than dropping the opportunity', () => {
    const result = attributeOpportunity(opportunity({ id: 'O1', amount: 0n }), [], settings());
    for (const r of result.results)
      expect(r.credits).toEqual([
        { touchpointId: null, channel: 'Unattributed', occurredAt: null, amount: 0n },
      ]);
  });
});

describe('attributeOpportunity', () => {
  it('describes the opportunity it attributed', () => {
    const o = opportunity({
      id: 'O7',
      accountId: 'A9',
      amount: 5n * UNIT,
      createdAt: T0,
      segment: 'Enterprise',
    });
    const result = attributeOpportunity(
      o,
      [touch({ id: 'T1' }), touch({ id: 'T2', occurredAt: T0 + 1 })],
      settings(),
    );
    expect(result).toMatchObject({
      opportunityId: 'O7',
      accountId: 'A9',
      segment: 'Enterprise',
      amount: 5n * UNIT,
      createdAt: T0,
      eligibleTouches: 1,
    });
  });

  it('gives every model credits that sum exactly to the amount', () => {
    const touches = [1, 2, 3, 5, 8, 13, 21].map((d, i) =>
      touch({ id: `T${i}`, occurredAt: T0 - days(d) - i * 7_919 }),
    );
    const result = attributeOpportunity(
      opportunity({ id: 'O1', amount: AMOUNT + 7n }),
      touches,
      settings({ models: ALL_MODELS }),
    );
    expect(result.results).toHaveLength(ALL_MODELS.length);
    for (const r of result.results) expect(r.credits.reduce((s, c) => s + c.amount, 0n)).toBe(AMOUNT + 7n);
  });

  it('does not look at the opportunity account: candidates are what the caller passes', () => {
    const result = attributeOpportunity(
      opportunity({ id: 'O1', accountId: 'A1' }),
      [touch({ id: 'T1', contactId: 'elsewhere' })],
      settings(),
    );
    expect(result.eligibleTouches).toBe(1);
  });
});
