import { describe, expect, it } from 'vitest';
import {
  changesState,
  decideContact,
  decideOpportunity,
  decideTouch,
  type Decision,
  type OpportunityRecord,
} from '../../../src/domain/decide.js';
import type { Contact, Touch } from '../../../src/domain/events.js';
import { contact, days, opportunity, T0, touch } from '../../fakes/builders.js';

/** Folds deliveries through a decide function the way a store would: keep what the decision says. */
function deliver<T>(
  decide: (existing: T | null, incoming: T) => Decision,
  records: readonly T[],
): { kept: T | null; decisions: Decision[] } {
  let kept: T | null = null;
  const decisions: Decision[] = [];
  for (const record of records) {
    const decision = decide(kept, record);
    decisions.push(decision);
    if (changesState(decision)) kept = record;
  }
  return { kept, decisions };
}

const live = (overrides: Parameters<typeof opportunity>[0]): OpportunityRecord => ({
  kind: 'live',
  opportunity: opportunity(overrides),
});
const deleted = (version: number, id = 'O1'): OpportunityRecord => ({ kind: 'deleted', id, version });

describe('changesState', () => {
  it.each([
    ['apply', true],
    ['conflict-replace', true],
    ['duplicate', false],
    ['stale', false],
    ['conflict-keep', false],
  ] as const)('%s → %s', (decision, changes) => {
    expect(changesState(decision)).toBe(changes);
  });
});

describe('decideTouch', () => {
  const t = touch({ id: 'T1', contactId: 'C1', channel: 'Adwords', occurredAt: T0 - days(1) });

  it('applies a touch never seen', () => {
    expect(decideTouch(null, t)).toBe('apply');
  });

  it('calls an identical redelivery a duplicate', () => {
    expect(decideTouch(t, { ...t })).toBe('duplicate');
  });

  const variants: [string, Touch][] = [
    ['another contact', { ...t, contactId: 'C2' }],
    ['another channel', { ...t, channel: 'Webinar' }],
    ['another time', { ...t, occurredAt: t.occurredAt + 1 }],
    ['an earlier time', { ...t, occurredAt: t.occurredAt - days(3) }],
    ['another source', { ...t, source: 'sales' }],
  ];

  it.each(variants)('calls the same id with %s a conflict, one way or the other', (_label, other) => {
    const decision = decideTouch(t, other);
    expect(['conflict-replace', 'conflict-keep']).toContain(decision);
    // The reverse delivery must make the opposite call.
    expect(decideTouch(other, t)).toBe(
      decision === 'conflict-replace' ? 'conflict-keep' : 'conflict-replace',
    );
  });

  it.each(variants)(
    'keeps the same record whichever order two conflicting touches arrive in (%s)',
    (_label, other) => {
      const forward = deliver(decideTouch, [t, other]);
      const backward = deliver(decideTouch, [other, t]);
      expect(forward.kept).toEqual(backward.kept);
      expect(forward.decisions[1]).toMatch(/^conflict-/);
      expect(backward.decisions[1]).toMatch(/^conflict-/);
    },
  );

  it('keeps the same record among three conflicting versions in all six orders', () => {
    const a = t;
    const b = { ...t, channel: 'Webinar' };
    const c = { ...t, contactId: 'C0' };
    const orders = [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ];
    const kept = orders.map((order) => deliver(decideTouch, order).kept);
    for (const k of kept) expect(k).toEqual(kept[0]);
  });
});

describe('decideContact', () => {
  const v1 = contact({ id: 'C1', accountId: 'A1', version: 1000 });

  it.each([
    ['nothing known', 'apply', null, v1],
    ['a newer version', 'apply', v1, contact({ id: 'C1', accountId: 'A2', version: 2000 })],
    [
      'a newer version moving to no account',
      'apply',
      v1,
      contact({ id: 'C1', accountId: null, version: 2000 }),
    ],
    ['an older version', 'stale', v1, contact({ id: 'C1', accountId: 'A2', version: 999 })],
    ['an older identical version', 'stale', v1, contact({ id: 'C1', accountId: 'A1', version: 999 })],
    ['the same version and account', 'duplicate', v1, contact({ id: 'C1', accountId: 'A1', version: 1000 })],
  ] as const)('with %s decides %s', (_label, decision, existing, incoming) => {
    expect(decideContact(existing, incoming)).toBe(decision);
  });

  it('is last-writer-wins by version whatever the delivery order', () => {
    const versions: Contact[] = [
      contact({ id: 'C1', accountId: 'A1', version: 1 }),
      contact({ id: 'C1', accountId: 'A3', version: 3 }),
      contact({ id: 'C1', accountId: 'A2', version: 2 }),
    ];
    for (const order of [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      const { kept } = deliver(
        decideContact,
        order.map((i) => versions[i] as Contact),
      );
      expect(kept).toEqual(versions[1]);
    }
  });

  it.each([
    ['two accounts', 'A1', 'A2'],
    ['an account and none', 'A1', null],
  ] as const)('resolves a conflict at one version between %s the same way in both orders', (_label, x, y) => {
    const a = contact({ id: 'C1', accountId: x, version: 5 });
    const b = contact({ id: 'C1', accountId: y, version: 5 });
    expect(decideContact(a, b)).toMatch(/^conflict-/);
    expect(deliver(decideContact, [a, b]).kept).toEqual(deliver(decideContact, [b, a]).kept);
  });
});

describe('decideOpportunity', () => {
  const v1 = live({ id: 'O1', version: 1000 });

  it.each([
    ['nothing known', 'apply', null, v1],
    ['a newer update', 'apply', v1, live({ id: 'O1', version: 2000, amount: 7n })],
    ['an older update', 'stale', v1, live({ id: 'O1', version: 500, amount: 7n })],
    ['an identical redelivery', 'duplicate', v1, live({ id: 'O1', version: 1000 })],
    ['a newer deletion', 'apply', v1, deleted(2000)],
    ['an older deletion', 'stale', v1, deleted(500)],
    ['a deletion at the same version', 'apply', v1, deleted(1000)],
    ['an update at the deletion version', 'stale', deleted(1000), v1],
    ['an older update after a deletion', 'stale', deleted(1000), live({ id: 'O1', version: 999 })],
    ['a newer update after a deletion', 'apply', deleted(1000), live({ id: 'O1', version: 1001 })],
    ['the same deletion again', 'duplicate', deleted(1000), deleted(1000)],
    ['a deletion first seen', 'apply', null, deleted(1000)],
  ] as const)('with %s decides %s', (_label, decision, existing, incoming) => {
    expect(decideOpportunity(existing, incoming)).toBe(decision);
  });

  it('lets a tombstone beat an older update delivered after it', () => {
    const { kept, decisions } = deliver(decideOpportunity, [
      live({ id: 'O1', version: 1 }),
      deleted(3),
      live({ id: 'O1', version: 2, amount: 9n }),
    ]);
    expect(kept).toEqual(deleted(3));
    expect(decisions).toEqual(['apply', 'apply', 'stale']);
  });

  it('lets a deletion beat an update at the same version in both orders', () => {
    const update = live({ id: 'O1', version: 5, amount: 9n });
    expect(deliver(decideOpportunity, [update, deleted(5)]).kept).toEqual(deleted(5));
    expect(deliver(decideOpportunity, [deleted(5), update]).kept).toEqual(deleted(5));
  });

  it.each([
    ['amount', { amount: 1n }],
    ['account', { accountId: 'A2' }],
    ['segment', { segment: 'Enterprise' }],
    ['creation time', { createdAt: T0 - 1 }],
  ])('resolves two updates at one version differing in %s the same way in both orders', (_label, patch) => {
    const a = live({ id: 'O1', version: 5 });
    const b = live({ id: 'O1', version: 5, ...patch });
    expect(decideOpportunity(a, b)).toMatch(/^conflict-/);
    expect(decideOpportunity(b, a)).toMatch(/^conflict-/);
    expect(deliver(decideOpportunity, [a, b]).kept).toEqual(deliver(decideOpportunity, [b, a]).kept);
  });

  it('ends in the same record for every order of a mixed history', () => {
    const history: OpportunityRecord[] = [
      live({ id: 'O1', version: 1, amount: 1n }),
      live({ id: 'O1', version: 2, amount: 2n }),
      deleted(2),
      live({ id: 'O1', version: 2, amount: 3n }),
      deleted(1),
    ];
    const permutations = (items: number[]): number[][] =>
      items.length <= 1
        ? [items]
        : items.flatMap((x, i) =>
            permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
          );
    for (const order of permutations([0, 1, 2, 3, 4])) {
      expect(
        deliver(
          decideOpportunity,
          order.map((i) => history[i] as OpportunityRecord),
        ).kept,
      ).toEqual(deleted(2));
    }
  });
});
