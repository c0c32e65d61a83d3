import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Touch } from '../../../src/domain/events.js';
import { splitByWeights } from '../../../src/domain/money.js';
import { fullPath } from '../../../src/domain/models/full-path.js';
import type { ModelContext } from '../../../src/domain/models/model.js';
import { positionModel, type PositionModel } from '../../../src/domain/models/position.js';
import { uShaped } from '../../../src/domain/models/u-shaped.js';
import { wShaped } from '../../../src/domain/models/w-shaped.js';
import { DEFAULT_HALF_LIFE_MS, DEFAULT_WINDOW_MS, MS_PER_DAY, T0 } from '../../fakes/builders.js';

const W = DEFAULT_WINDOW_MS;
const HUNDRED_PERCENT = 100_000_000n; // millionths of a percent, written out
const KEYS = ['first', 'lead_creation', 'opportunity_creation', 'closed_won', 'middle'] as const;
type Key = (typeof KEYS)[number];

const instantArb = fc.oneof(
  // whole days: many ties on time
  fc.integer({ min: -95, max: 95 }).map((d) => T0 + d * MS_PER_DAY),
  fc.integer({ min: -W - 10, max: W + 10 }).map((ms) => T0 + ms),
  fc.constantFrom(T0 - W, T0 - W + 1, T0 - 1, T0, T0 + 1),
);

const touchArb: fc.Arbitrary<Touch> = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9]{1,3}$/),
  contactId: fc.constant('C1'),
  channel: fc.constantFrom('Adwords', 'Webinar'),
  occurredAt: instantArb,
  source: fc.constant('marketing' as const),
});

const contextArb: fc.Arbitrary<ModelContext> = fc.record({
  createdAt: fc.constant(T0),
  halfLifeMs: fc.constant(DEFAULT_HALF_LIFE_MS),
  leadCreatedAt: fc.option(
    fc.oneof(
      fc.integer({ min: T0 - W, max: T0 }),
      fc.integer({ min: -90, max: 0 }).map((d) => T0 + d * MS_PER_DAY),
    ),
  ),
  closedWonAt: fc.option(
    fc.oneof(
      fc.integer({ min: T0, max: T0 + W }),
      fc.integer({ min: 0, max: 90 }).map((d) => T0 + d * MS_PER_DAY),
    ),
  ),
});

/** Five shares summing to 100 %: the gaps between four cut points; whole percents make zeros common. */
const sharesArb: fc.Arbitrary<Record<Key, bigint>> = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 100 }).map((p) => BigInt(p) * 1_000_000n),
      fc.bigInt({ min: 0n, max: HUNDRED_PERCENT }),
    ),
    { minLength: 4, maxLength: 4 },
  )
  .map((cuts) => {
    const points = [0n, ...cuts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), HUNDRED_PERCENT];
    return Object.fromEntries(
      KEYS.map((key, i) => [key, (points[i + 1] ?? 0n) - (points[i] ?? 0n)]),
    ) as Record<Key, bigint>;
  });

const modelArb: fc.Arbitrary<PositionModel> = fc.oneof(
  fc.constantFrom(wShaped, fullPath),
  sharesArb.map((shares) => positionModel('custom', shares)),
);

const byTimeThenId = (a: Touch, b: Touch): number =>
  a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The list a caller hands the model: E, or for through_close [createdAt − W, C] (E when C is null). */
function candidateList(model: PositionModel, touches: readonly Touch[], context: ModelContext): Touch[] {
  const end = model.candidates === 'through_close' && context.closedWonAt !== null ? context.closedWonAt : T0;
  return touches.filter((t) => t.occurredAt >= T0 - W && t.occurredAt <= end).sort(byTimeThenId);
}

const touchesArb = fc.uniqueArray(touchArb, { minLength: 1, maxLength: 14, selector: (t) => t.id });

const caseArb = fc
  .record({ model: modelArb, touches: touchesArb, context: contextArb })
  .map(({ model, touches, context }) => ({ model, context, list: candidateList(model, touches, context) }))
  .filter(({ list }) => list.length > 0);

describe('position model properties', () => {
  it('returns one non-negative weight per candidate, at least one positive', () => {
    fc.assert(
      fc.property(caseArb, ({ model, context, list }) => {
        const weights = model.weigh(list, context);
        expect(weights).toHaveLength(list.length);
        expect(weights.every((w) => w >= 0n)).toBe(true);
        expect(weights.some((w) => w > 0n)).toBe(true);
      }),
    );
  });

  it('splits the amount exactly: the credits sum to it, a zero weight gets nothing', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.constantFrom(0n, 1n, 7n, 100_000_000_000n)),
        ({ model, context, list }, amount) => {
          const weights = model.weigh(list, context);
          const credits = splitByWeights(amount, weights);
          expect(credits.reduce((s, c) => s + c, 0n)).toBe(amount);
          credits.forEach((credit, i) => {
            expect(credit >= 0n).toBe(true);
            if (weights[i] === 0n) expect(credit).toBe(0n);
          });
        },
      ),
    );
  });

  it('gives u_shaped’s exact credits when declared as first 40, opportunity creation 40, middle 20', () => {
    const asPosition = positionModel('u', {
      first: 40_000_000n,
      opportunity_creation: 40_000_000n,
      middle: 20_000_000n,
    });
    expect(asPosition.candidates).toBe('window');
    fc.assert(
      fc.property(
        touchesArb,
        contextArb,
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        (touches, context, amount) => {
          const list = candidateList(asPosition, touches, context);
          fc.pre(list.length > 0);
          expect(splitByWeights(amount, asPosition.weigh(list, context))).toEqual(
            splitByWeights(amount, uShaped.weigh(list, context)),
          );
        },
      ),
    );
  });

  it('weighs equal lists alike: any input order, once in canonical order, gives the same weights', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          fc.tuple(fc.constant(c), fc.shuffledSubarray(c.list, { minLength: c.list.length })),
        ),
        ([{ model, context, list }, shuffled]) => {
          const copies = shuffled.map((t) => ({ ...t })).sort(byTimeThenId);
          const byId = (ts: readonly Touch[], ws: readonly bigint[]) =>
            new Map(ts.map((t, i) => [t.id, ws[i]]));
          expect(byId(copies, model.weigh(copies, context))).toEqual(byId(list, model.weigh(list, context)));
        },
      ),
    );
  });

  it('gives a single-role model’s 100 % to that role’s touch, found independently of roles.ts', () => {
    fc.assert(
      fc.property(
        touchesArb,
        contextArb,
        fc.constantFrom<Exclude<Key, 'middle'>>(
          'first',
          'lead_creation',
          'opportunity_creation',
          'closed_won',
        ),
        (touches, context, role) => {
          const model = positionModel('one', { [role]: HUNDRED_PERCENT });
          const list = candidateList(model, touches, context);
          fc.pre(list.length > 0);
          const e = list.filter((t) => t.occurredAt <= T0);
          const lead = context.leadCreatedAt;
          const closed = context.closedWonAt;
          const holder: Touch | undefined = {
            first: e[0],
            opportunity_creation: e.at(-1),
            lead_creation: lead === null ? undefined : e.filter((t) => t.occurredAt <= lead).at(-1),
            closed_won: closed === null ? undefined : list.filter((t) => t.occurredAt <= closed).at(-1),
          }[role];
          const weights = model.weigh(list, context);
          // No touch for the only role → all equal; else that touch alone.
          const expected = list.map((t) => (holder === undefined || t === holder ? 1n : 0n));
          expect(weights).toEqual(expected);
        },
      ),
    );
  });

  it('gives every role exactly its share when each holds its own touch and middle touches exist', () => {
    fc.assert(
      fc.property(caseArb, ({ model, context, list }) => {
        const e = list.filter((t) => t.occurredAt <= T0);
        const lead = context.leadCreatedAt;
        const closed = context.closedWonAt;
        const holders: [Key, number][] = (
          [
            ['first', e.length > 0 ? 0 : -1],
            ['lead_creation', lead === null ? -1 : e.filter((t) => t.occurredAt <= lead).length - 1],
            ['opportunity_creation', e.length - 1],
            ['closed_won', closed === null ? -1 : list.filter((t) => t.occurredAt <= closed).length - 1],
          ] as [Key, number][]
        ).filter(([key]) => model.weights[key] > 0n);
        const indices = holders.map(([, i]) => i);
        const distinct = new Set(indices).size === indices.length;
        fc.pre(indices.every((i) => i >= 0) && distinct && indices.length < list.length);
        const weights = model.weigh(list, context);
        const total = weights.reduce((s, w) => s + w, 0n);
        for (const [key, index] of holders)
          expect((weights[index] ?? 0n) * HUNDRED_PERCENT).toBe(model.weights[key] * total);
        const middle = weights.filter((_, i) => !indices.includes(i)).reduce((s, w) => s + w, 0n);
        expect(middle * HUNDRED_PERCENT).toBe(model.weights.middle * total);
      }),
      // Most generated cases put two roles on one touch; enough runs leave about a hundred that do not.
      { numRuns: 500 },
    );
  });
});
