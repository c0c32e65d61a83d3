import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeOpportunity, type Credit } from '../../../src/domain/attribute.js';
import type { Touch } from '../../../src/domain/events.js';
import { ALL_MODELS } from '../../../src/domain/models/index.js';
import { DEFAULT_HALF_LIFE_MS, DEFAULT_WINDOW_MS, opportunity, settings, T0 } from '../../fakes/builders.js';
import { MAX_AMOUNT } from '../../fakes/world.js';

const HOUR = 3_600_000;
const W = DEFAULT_WINDOW_MS;

const touchArb: fc.Arbitrary<Touch> = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9]{1,3}$/),
  contactId: fc.constantFrom('C1', 'C2'),
  channel: fc.constantFrom('Adwords', 'Webinar', 'Event', 'Outbound'),
  occurredAt: fc.oneof(
    fc.integer({ min: -2300, max: 50 }).map((h) => T0 + h * HOUR),
    fc.constantFrom(T0 - W - 1, T0 - W, T0 - W + 1, T0 - 1, T0, T0 + 1),
  ),
  source: fc.constantFrom('marketing' as const, 'sales' as const),
});

const caseArb = fc.record({
  amount: fc.oneof(
    fc.bigInt({ min: 0n, max: MAX_AMOUNT }),
    fc.constantFrom(0n, 1n, 2n, 3n, 100_000_000_000n),
  ),
  touches: fc.uniqueArray(touchArb, { maxLength: 12, selector: (t) => t.id }),
});

/** Eligible touches in canonical order (time, then id by code unit), written independently of src. */
const eligible = (touches: readonly Touch[]): Touch[] =>
  touches
    .filter((t) => t.occurredAt >= T0 - W && t.occurredAt <= T0)
    .sort((a, b) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

const abs = (x: bigint): bigint => (x < 0n ? -x : x);
const sum = (credits: readonly Credit[]): bigint => credits.reduce((s, c) => s + c.amount, 0n);

function creditsBy(model: string, amount: bigint, touches: readonly Touch[]): Credit[] {
  const result = attributeOpportunity(opportunity({ id: 'O1', amount }), touches, settings());
  const r = result.results.find((x) => x.model === model);
  expect(r).toBeDefined();
  return [...(r?.credits ?? [])];
}

describe('attribution properties', () => {
  it('conserves the amount exactly under every model, with no negative credit', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const result = attributeOpportunity(
          opportunity({ id: 'O1', amount }),
          touches,
          settings({ models: ALL_MODELS }),
        );
        expect(result.eligibleTouches).toBe(eligible(touches).length);
        expect(result.results.map((r) => r.model)).toEqual(ALL_MODELS.map((m) => m.name));
        for (const r of result.results) {
          expect(sum(r.credits)).toBe(amount);
          for (const c of r.credits) expect(c.amount >= 0n).toBe(true);
        }
      }),
    );
  });

  it('gives the identical result for candidates in any order, with any repeats', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          fc.tuple(
            fc.constant(c),
            fc.shuffledSubarray([...c.touches, ...c.touches.slice(0, 3)], {
              minLength: c.touches.length + Math.min(3, c.touches.length),
              maxLength: c.touches.length + Math.min(3, c.touches.length),
            }),
          ),
        ),
        ([{ amount, touches }, reordered]) => {
          const o = opportunity({ id: 'O1', amount });
          expect(attributeOpportunity(o, reordered, settings())).toEqual(
            attributeOpportunity(o, touches, settings()),
          );
        },
      ),
    );
  });

  it('credits only eligible touches, and Unattributed only when there is none', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const ids = new Set(eligible(touches).map((t) => t.id));
        const result = attributeOpportunity(opportunity({ id: 'O1', amount }), touches, settings());
        for (const r of result.results) {
          for (const c of r.credits) {
            if (ids.size === 0)
              expect(c).toEqual({ touchpointId: null, channel: 'Unattributed', occurredAt: null, amount });
            else expect(ids.has(c.touchpointId ?? '<null>')).toBe(true);
          }
        }
      }),
    );
  });

  it('first_touch and last_touch credit the first and last eligible touch in (time, id) order', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const order = eligible(touches);
        fc.pre(order.length > 0);
        const first = order[0] as Touch;
        const last = order[order.length - 1] as Touch;
        expect(creditsBy('first_touch', amount, touches)).toEqual([
          { touchpointId: first.id, channel: first.channel, occurredAt: first.occurredAt, amount },
        ]);
        expect(creditsBy('last_touch', amount, touches)).toEqual([
          { touchpointId: last.id, channel: last.channel, occurredAt: last.occurredAt, amount },
        ]);
      }),
    );
  });

  it('linear gives every eligible touch the floor or ceiling of amount / n, the extra nanos to the earliest', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const order = eligible(touches);
        fc.pre(order.length > 0);
        const n = BigInt(order.length);
        const credits = creditsBy('linear', amount, touches);
        expect(credits.map((c) => c.touchpointId)).toEqual(order.map((t) => t.id));
        const extra = Number(amount % n);
        credits.forEach((c, i) => expect(c.amount).toBe(amount / n + (i < extra ? 1n : 0n)));
      }),
    );
  });

  it('u_shaped gives 40 % to each end and 20 % to the middle, each within a nano per touch', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const order = eligible(touches);
        fc.pre(order.length > 0);
        const credits = creditsBy('u_shaped', amount, touches);
        expect(credits.map((c) => c.touchpointId)).toEqual(order.map((t) => t.id));
        const amounts = credits.map((c) => c.amount);
        const n = amounts.length;
        if (n === 1) expect(amounts).toEqual([amount]);
        else if (n === 2) for (const a of amounts) expect(abs(2n * a - amount) <= 2n).toBe(true);
        else {
          const first = amounts[0] ?? 0n;
          const last = amounts[n - 1] ?? 0n;
          expect(abs(5n * first - 2n * amount) <= 5n).toBe(true);
          expect(abs(5n * last - 2n * amount) <= 5n).toBe(true);
          const middle = amounts.slice(1, -1);
          const m = BigInt(middle.length);
          for (const a of middle) expect(abs(5n * m * a - amount) <= 5n * m).toBe(true);
        }
      }),
    );
  });

  it('time_decay follows 2^(−Δ/H) normalised, within a tiny tolerance, later touches never getting less', () => {
    fc.assert(
      fc.property(caseArb, ({ amount, touches }) => {
        const order = eligible(touches);
        fc.pre(order.length > 0);
        const credits = creditsBy('time_decay', amount, touches);
        expect(credits.map((c) => c.touchpointId)).toEqual(order.map((t) => t.id));
        const weights = order.map((t) => Math.pow(2, -(T0 - t.occurredAt) / DEFAULT_HALF_LIFE_MS));
        const total = weights.reduce((s, w) => s + w, 0);
        const tolerance = 2 + Number(amount) * 1e-10;
        credits.forEach((c, i) => {
          const exact = (Number(amount) * (weights[i] ?? 0)) / total;
          expect(Math.abs(Number(c.amount) - exact)).toBeLessThanOrEqual(tolerance);
          const previous = credits[i - 1];
          if (previous !== undefined) expect(c.amount + 1n >= previous.amount).toBe(true);
        });
      }),
    );
  });
});
