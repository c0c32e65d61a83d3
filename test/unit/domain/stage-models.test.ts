import { describe, expect, it } from 'vitest';
import type { Touch } from '../../../src/domain/events.js';
import { splitByWeights } from '../../../src/domain/money.js';
import { fullPath } from '../../../src/domain/models/full-path.js';
import type { AttributionModel, ModelContext } from '../../../src/domain/models/model.js';
import {
  formatShare,
  parseShare,
  positionModel,
  type PositionWeights,
} from '../../../src/domain/models/position.js';
import { roleIndices, type Role } from '../../../src/domain/models/roles.js';
import { uShaped } from '../../../src/domain/models/u-shaped.js';
import { wShaped } from '../../../src/domain/models/w-shaped.js';
import { DEFAULT_HALF_LIFE_MS, days, T0, touch, UNIT } from '../../fakes/builders.js';

// Every expectation below is worked out by hand in its comment, in percent of an amount of 100
// (so a credit in units is its percentage), and written as exact decimal text.

/** Decimal text of units as nanos ("22.5" → 22_500_000_000n), written out without the code under test. */
const u = (text: string): bigint => {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * UNIT + BigInt(fraction.padEnd(9, '0'));
};

const HUNDRED = u('100');

const byTimeThenId = (a: Touch, b: Touch): number =>
  a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Items "id@d id@d …" or "id=x id=x …" as [id, text] pairs. */
const items = (text: string, separator: '@' | '='): [string, string][] =>
  text.split(' ').map((item): [string, string] => {
    const [id = '', value = ''] = item.split(separator);
    return [id, value];
  });

/**
 * Candidate touches "a@-30 b@-1" (id @ days from the opportunity's creation T0, negative =
 * before it) in canonical order, as the caller hands them to a model.
 */
const candidates = (ats: string): Touch[] =>
  items(ats, '@')
    .map(([id, d]) => touch({ id, occurredAt: T0 + days(Number(d)) }))
    .sort(byTimeThenId);

/** Expected credits "a=22.5 b=10" (units of money, canonical order) as [id, nanos]. */
const expectedCredits = (text: string): [string, bigint][] => items(text, '=').map(([id, x]) => [id, u(x)]);

/** The context with L and C as days from T0 (null = none). */
const contextOf = (lead: number | null, closed: number | null): ModelContext => ({
  createdAt: T0,
  halfLifeMs: DEFAULT_HALF_LIFE_MS,
  leadCreatedAt: lead === null ? null : T0 + days(lead),
  closedWonAt: closed === null ? null : T0 + days(closed),
});

/** What attributeEligible does with a model's weights: an exact largest-remainder split. */
function creditsOf(
  model: AttributionModel,
  ats: string,
  context: ModelContext,
  amount = HUNDRED,
): [string, bigint][] {
  const touches = candidates(ats);
  const weights = model.weigh(touches, context);
  expect(weights).toHaveLength(touches.length);
  const amounts = splitByWeights(amount, weights);
  return touches.map((t, i) => [t.id, amounts[i] ?? -1n]);
}

const share = (percent: number): bigint => BigInt(percent) * 1_000_000n;

type Case = readonly [
  label: string,
  touches: string,
  lead: number | null,
  closed: number | null,
  expected: string,
];

describe('w_shaped: first 30, lead_creation 30, opportunity_creation 30, middle 10', () => {
  it.each<Case>([
    // a is first, lead and opportunity creation: 30 + 30 + 30, no middle touch → all of it.
    ['one touch holding every role takes 100 %', 'a@-3', -3, null, 'a=100'],
    // L null: lead's 30 goes to first and opportunity creation, both on a → 100.
    ['one touch without lead creation takes 100 %', 'a@-3', null, null, 'a=100'],
    // first+lead on a = 60, opportunity creation on b = 30; no middle touch, so the middle 10 goes
    // in proportion 60:30 → a = 2/3, b = 1/3. 200e9 / 3 = 66_666_666_666 rem 2, 100e9 / 3 =
    // 33_333_333_333 rem 1: one nano left, to the larger remainder (a).
    [
      'two touches, the lead creation touch is the first touch',
      'a@-10 b@-1',
      -5,
      null,
      'a=66.666666667 b=33.333333333',
    ],
    // L null: 30 split evenly to first and opportunity creation → 45 / 45; no middle touch → 50 / 50.
    ['two touches, no lead creation', 'a@-10 b@-1', null, null, 'a=50 b=50'],
    // first a 30, lead+opportunity creation on b (L = createdAt ≥ b) = 60 → 1/3 and 2/3; the nano
    // left over goes to b (remainder 2 against 1).
    [
      'the lead creation touch is the opportunity creation touch: weights add',
      'a@-10 b@-1',
      0,
      null,
      'a=33.333333333 b=66.666666667',
    ],
    // Three roles on three touches (b occurred exactly at L: ≤ is inclusive), no middle touch:
    // 30:30:30 → a third each; 100e9 / 3 leaves 1 nano, remainders tie, to the earliest (a).
    [
      'three touches, each its own role, no middle touch',
      'a@-30 b@-20 c@-1',
      -20,
      null,
      'a=33.333333334 b=33.333333333 c=33.333333333',
    ],
    // L null → 45 first, 45 opportunity creation, b is the only middle touch → 10.
    ['three touches, no lead creation', 'a@-30 b@-20 c@-1', null, null, 'a=45 b=10 c=45'],
    // a first 30, c lead (last ≤ L = -10) 30, d opportunity creation 30, b the middle 10.
    [
      'four touches, every role on its own touch, one middle touch',
      'a@-30 b@-20 c@-10 d@-1',
      -10,
      null,
      'a=30 b=10 c=30 d=30',
    ],
    // L null (none, or before the window: the caller passes null) → 45 / 45, middle 10 over b, c.
    ['four touches, no lead creation', 'a@-30 b@-20 c@-10 d@-1', null, null, 'a=45 b=5 c=5 d=45'],
    // L = -40 is before every touch of E: no touch with occurredAt ≤ L → no role, as with L null.
    [
      'lead created before every touch: no lead creation role',
      'a@-30 b@-20 c@-10 d@-1',
      -40,
      null,
      'a=45 b=5 c=5 d=45',
    ],
    // a first+lead (L = a's instant) = 60, d 30, middle 10 over b and c → 5 each.
    [
      'lead creation on the first touch, two middle touches',
      'a@-30 b@-20 c@-10 d@-1',
      -30,
      null,
      'a=60 b=5 c=5 d=30',
    ],
    // m1 and m2 both at -20 ≤ L = -15: the later in canonical order, the larger id m2, is lead.
    [
      'lead creation ties on time: the larger id',
      'a@-30 m2@-20 m1@-20 d@-1',
      -15,
      null,
      'a=30 m1=10 m2=30 d=30',
    ],
    // Ids compare by code unit: 'Z' < 'a', so 'a' is the larger id and the lead touch.
    [
      'lead creation ties on time, compared by code unit',
      'p@-30 a@-20 Z@-20 q@-1',
      -20,
      null,
      'p=30 Z=10 a=30 q=30',
    ],
    // L null: 45 / 45 to a and e; 10 over b, c, d = 3.333… each. Weights 27:2:2:2:27 (sum 60):
    // a, e exactly 45e9; 200e9 / 60 = 3_333_333_333 rem 20 for each middle touch, one nano left,
    // remainders tie, to the earliest of them (b).
    [
      'an odd middle split: the nano left over goes to the earliest middle touch',
      'a@-40 b@-30 c@-20 d@-10 e@-1',
      null,
      null,
      'a=45 b=3.333333334 c=3.333333333 d=3.333333333 e=45',
    ],
  ])('%s', (_label, touches, lead, closed, expected) => {
    expect(creditsOf(wShaped, touches, contextOf(lead, closed))).toEqual(expectedCredits(expected));
  });

  it('weighs the window, not the touches up to the close', () => {
    expect(wShaped.candidates).toBe('window');
    expect(wShaped.name).toBe('w_shaped');
  });
});

describe('full_path: first, lead_creation, opportunity_creation, closed_won 22.5 each, middle 10', () => {
  it.each<Case>([
    // Not closed won: closed_won's 22.5 goes evenly to the other three (7.5 each) → 30/30/30 and
    // b the middle 10, as w_shaped.
    ['an open opportunity: no closed won role', 'a@-30 b@-20 c@-10 d@-1', -10, null, 'a=30 b=10 c=30 d=30'],
    // Open, L null: lead's and closed_won's 45 go to first and opportunity creation, 22.5 each →
    // 45 / 45, b the middle 10.
    ['an open opportunity without lead creation', 'a@-30 b@-20 c@-1', null, null, 'a=45 b=10 c=45'],
    // Candidates through C = +30: first a, lead b, opportunity creation c, closed won e (the last
    // touch ≤ C) 22.5 each; d after creation holds no role and takes the middle 10.
    [
      'closed won with touches after creation',
      'a@-30 b@-10 c@-1 d@5 e@20',
      -10,
      30,
      'a=22.5 b=22.5 c=22.5 d=10 e=22.5',
    ],
    // a first+lead 45, c 22.5, e 22.5; middle 10 over m (before creation) and d (after) → 5 each.
    [
      'closed won: the middle spans touches before and after creation',
      'a@-30 m@-20 c@-1 d@5 e@20',
      -30,
      30,
      'a=45 m=5 c=22.5 d=5 e=22.5',
    ],
    // L null: 22.5 / 3 = 7.5 more for first a, opportunity creation c and closed won x2 (x1 and x2
    // at C exactly, ≤ inclusive, the larger id) → 30 each; x1 the middle 10.
    [
      'closed won ties at the close: the larger id',
      'a@-30 c@-1 x2@10 x1@10',
      null,
      10,
      'a=30 c=30 x1=10 x2=30',
    ],
    // No touch after creation: closed won is c, E's last touch, also opportunity creation:
    // a 22.5, b 22.5, c 45; no middle touch → in proportion 1:1:2 → 25 / 25 / 50.
    [
      'closed won with no touch after creation: closed won and opportunity creation add',
      'a@-30 b@-10 c@-1',
      -10,
      10,
      'a=25 b=25 c=50',
    ],
    // E is empty: only closed won (e) holds a touch and takes 22.5 + 3 × 22.5 = 90; d the middle 10.
    ['E empty, touches after creation', 'd@5 e@20', -3, 30, 'd=10 e=90'],
    // E empty, one touch after creation: closed won, no middle touch → 100.
    ['E empty, one touch after creation', 'e@20', null, 30, 'e=100'],
    // One touch before creation holds all four roles → 100.
    ['one touch holding all four roles', 'a@-1', -1, 10, 'a=100'],
  ])('%s', (_label, touches, lead, closed, expected) => {
    expect(creditsOf(fullPath, touches, contextOf(lead, closed))).toEqual(expectedCredits(expected));
  });

  it('weighs the touches through the close', () => {
    expect(fullPath.candidates).toBe('through_close');
    expect(fullPath.name).toBe('full_path');
  });
});

describe('custom position models', () => {
  const custom = (weights: Record<string, number>): AttributionModel =>
    positionModel('custom', Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, share(v)])));
  const three = 'a@-30 b@-20 c@-1';

  it.each<[string, Record<string, number>, number | null, number | null, string, bigint?]>([
    // lead_creation 80 + middle 20, L null: no role holds a touch → every candidate equal:
    // 1000 / 3 = 333 rem 1, the nano to the earliest.
    [
      'all roles absent: every candidate equal',
      { lead_creation: 80, middle: 20 },
      null,
      null,
      'a=0.000000334 b=0.000000333 c=0.000000333',
      1000n,
    ],
    // closed_won 60 + lead 40, open and no lead: no role holds → equal thirds of 1000 nanos.
    [
      'all roles absent, closed won among them',
      { closed_won: 60, lead_creation: 40 },
      null,
      null,
      'a=0.000000334 b=0.000000333 c=0.000000333',
      1000n,
    ],
    // first has share 0: it claims nothing, a is a middle touch: middle 10 over a, b → 5 each.
    [
      'a role with share 0 holds no touch',
      { first: 0, opportunity_creation: 90, middle: 10 },
      null,
      null,
      'a=5 b=5 c=90',
    ],
    // No middle share: b gets 0, first and opportunity creation 50 each.
    [
      'no middle share: the middle touches get nothing',
      { first: 50, opportunity_creation: 50 },
      null,
      null,
      'a=50 b=0 c=50',
    ],
    // lead_heavy with L at a: a = first 20 + lead 50 = 70, b middle 10, c 20.
    [
      'lead_heavy, lead creation on the first touch',
      { first: 20, lead_creation: 50, opportunity_creation: 20, middle: 10 },
      -30,
      null,
      'a=70 b=10 c=20',
    ],
    // close_focused, open: closed_won's 50 → 25 more to first (35) and opportunity creation (55).
    [
      'close_focused on an open opportunity',
      { first: 10, opportunity_creation: 30, closed_won: 50, middle: 10 },
      null,
      null,
      'a=35 b=10 c=55',
    ],
  ])('%s', (_label, weights, lead, closed, expected, amount = HUNDRED) => {
    expect(creditsOf(custom(weights), three, contextOf(lead, closed), amount)).toEqual(
      expectedCredits(expected),
    );
  });

  it('weighs the through-close candidates exactly when closed_won has a share', () => {
    expect(custom({ first: 100 }).candidates).toBe('window');
    expect(custom({ first: 100, closed_won: 0 }).candidates).toBe('window');
    expect(custom({ first: 99, closed_won: 1 }).candidates).toBe('through_close');
  });

  it.each<[string, PositionWeights]>([
    ['99.5 %', { first: 49_500_000n, middle: 50_000_000n }],
    ['100.000001 %', { first: 100_000_001n }],
    ['0 %', {}],
    ['a negative share', { first: 110_000_000n, middle: -10_000_000n }],
  ])('refuses shares summing to %s', (_label, weights) => {
    expect(() => positionModel('bad', weights)).toThrow(RangeError);
  });

  it('names the sum it refuses', () => {
    expect(() => positionModel('bad', { first: 49_500_000n, middle: 50_000_000n })).toThrow(
      'model bad: shares sum to 99.5 %, must be exactly 100 %',
    );
  });
});

describe('u_shaped as a position model', () => {
  const asPosition = positionModel('u', {
    first: share(40),
    opportunity_creation: share(40),
    middle: share(20),
  });
  it.each([1, 2, 3, 4, 7])('gives u_shaped’s credits for %i touches', (n) => {
    const ats = Array.from({ length: n }, (_, i) => `T${i}@${i - n}`).join(' ');
    const context = contextOf(null, null);
    expect(creditsOf(asPosition, ats, context)).toEqual(creditsOf(uShaped, ats, context));
  });
});

describe('roleIndices', () => {
  const list = candidates('a@-30 b@-20 c@-1 d@5');
  it.each<[string, number | null, number | null, Record<Role, number>]>([
    ['every role', -20, 10, { first: 0, lead_creation: 1, opportunity_creation: 2, closed_won: 3 }],
    [
      'no lead, not closed won',
      null,
      null,
      { first: 0, lead_creation: -1, opportunity_creation: 2, closed_won: -1 },
    ],
    ['L before every touch', -31, 1, { first: 0, lead_creation: -1, opportunity_creation: 2, closed_won: 2 }],
  ])('%s', (_label, lead, closed, expected) => {
    expect(roleIndices(list, contextOf(lead, closed))).toEqual(expected);
  });

  it('leaves roles not asked for at -1, and E empty without first, lead or opportunity roles', () => {
    expect(roleIndices(list, contextOf(-20, 10), ['first', 'closed_won'])).toEqual({
      first: 0,
      lead_creation: -1,
      opportunity_creation: -1,
      closed_won: 3,
    });
    expect(roleIndices(candidates('d@5'), contextOf(-3, 10))).toEqual({
      first: -1,
      lead_creation: -1,
      opportunity_creation: -1,
      closed_won: 0,
    });
  });
});

describe('parseShare / formatShare', () => {
  it.each<[string | number, bigint | null]>([
    ['22.5', 22_500_000n],
    [22.5, 22_500_000n],
    ['100', 100_000_000n],
    [' 0 ', 0n],
    [0, 0n],
    ['33.333333', 33_333_333n],
    [12.000001, 12_000_001n],
    ['0.0000001', null],
    [1e-7, null],
    ['-1', null],
    [-0.5, null],
    ['1e2', null],
    ['', null],
    ['.5', null],
    ['5.', null],
    ['50 %', null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
  ])('%j → %s', (text, expected) => {
    expect(parseShare(text)).toBe(expected);
  });

  it.each<[bigint, string]>([
    [22_500_000n, '22.5'],
    [100_000_000n, '100'],
    [1n, '0.000001'],
    [0n, '0'],
  ])('%s → %s', (value, text) => {
    expect(formatShare(value)).toBe(text);
  });
});
