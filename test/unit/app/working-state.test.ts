import { describe, expect, it } from 'vitest';
import { createWorkingState } from '../../../src/app/working-state.js';
import { contact, days, opportunity, T0, touch } from '../../fakes/builders.js';

const ids = (touches: readonly { id: string }[]): string[] => touches.map((t) => t.id);

describe('WorkingState.touchesOf', () => {
  const state = createWorkingState();
  // Inserted out of order; two share an instant (ordered by id).
  for (const [id, at] of [
    ['T3', T0 - days(1)],
    ['T1', T0 - days(10)],
    ['T5', T0],
    ['T2', T0 - days(5)],
    ['T4', T0 - days(5)],
    ['T0', T0 + 1],
  ] as const) {
    state.putTouch(touch({ id, contactId: 'C1', occurredAt: at }));
  }

  it.each([
    ['everything, sorted by (time, id)', -Infinity, Infinity, ['T1', 'T2', 'T4', 'T3', 'T5', 'T0']],
    ['both edges inclusive', T0 - days(10), T0, ['T1', 'T2', 'T4', 'T3', 'T5']],
    ['one ms inside each edge', T0 - days(10) + 1, T0 - 1, ['T2', 'T4', 'T3']],
    ['a window of one instant', T0 - days(5), T0 - days(5), ['T2', 'T4']],
    ['nothing in between', T0 - days(4), T0 - days(2), []],
    ['before every touch', -Infinity, T0 - days(11), []],
  ])('%s', (_label, from, to, expected) => {
    expect(ids(state.touchesOf('C1', from, to))).toEqual(expected);
  });

  it('is empty for a contact without touches', () => {
    expect(state.touchesOf('C404', -Infinity, Infinity)).toEqual([]);
  });

  it('keeps the order when touches arrive after a read', () => {
    const s = createWorkingState();
    s.putTouch(touch({ id: 'B', contactId: 'C1', occurredAt: T0 }));
    expect(ids(s.touchesOf('C1', -Infinity, Infinity))).toEqual(['B']);
    s.putTouch(touch({ id: 'A', contactId: 'C1', occurredAt: T0 }));
    s.putTouch(touch({ id: 'C', contactId: 'C1', occurredAt: T0 - 1 }));
    expect(ids(s.touchesOf('C1', -Infinity, Infinity))).toEqual(['C', 'A', 'B']);
  });
});

describe('WorkingState.putTouch', () => {
  it('a replacement moves the touch from its old contact to its new one', () => {
    const s = createWorkingState();
    s.putTouch(touch({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }));
    s.putTouch(touch({ id: 'T2', contactId: 'C1', occurredAt: T0 - days(2) }));
    const moved = touch({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(3) });
    s.putTouch(moved);
    expect(ids(s.touchesOf('C1', -Infinity, Infinity))).toEqual(['T2']);
    expect(s.touchesOf('C2', -Infinity, Infinity)).toEqual([moved]);
    expect(s.touch('T1')).toEqual(moved);
    expect([...s.contactsWithTouches()].sort()).toEqual(['C1', 'C2']);
  });

  it('a replacement on the same contact keeps one copy, at its new place', () => {
    const s = createWorkingState();
    s.putTouch(touch({ id: 'T1', contactId: 'C1', occurredAt: T0 }));
    s.putTouch(touch({ id: 'T2', contactId: 'C1', occurredAt: T0 - days(1) }));
    s.putTouch(touch({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) }));
    expect(ids(s.touchesOf('C1', -Infinity, Infinity))).toEqual(['T1', 'T2']);
  });
});

describe('WorkingState account indexes', () => {
  it('moves a contact between accounts, and out of every account when detached', () => {
    const s = createWorkingState();
    s.putContact(contact({ id: 'C1', accountId: 'A1', version: 1 }));
    s.putContact(contact({ id: 'C2', accountId: 'A1', version: 1 }));
    expect([...s.contactsOf('A1')].sort()).toEqual(['C1', 'C2']);
    s.putContact(contact({ id: 'C1', accountId: 'A2', version: 2 }));
    expect([...s.contactsOf('A1')]).toEqual(['C2']);
    expect([...s.contactsOf('A2')]).toEqual(['C1']);
    s.putContact(contact({ id: 'C1', accountId: null, version: 3 }));
    expect([...s.contactsOf('A2')]).toEqual([]);
    expect(s.contact('C1')?.accountId).toBeNull();
    expect([...s.contactsOf('A404')]).toEqual([]);
  });

  it('moves an opportunity between accounts with its creation instant, and drops it from the index when deleted', () => {
    const s = createWorkingState();
    s.putOpportunity({
      kind: 'live',
      opportunity: opportunity({ id: 'O1', accountId: 'A1', createdAt: T0 }),
    });
    s.putOpportunity({
      kind: 'live',
      opportunity: opportunity({ id: 'O2', accountId: 'A1', createdAt: T0 - 5 }),
    });
    expect([...s.opportunitiesOf('A1')]).toEqual([
      ['O1', T0],
      ['O2', T0 - 5],
    ]);
    s.putOpportunity({
      kind: 'live',
      opportunity: opportunity({ id: 'O1', accountId: 'A2', createdAt: T0 + 7, version: 2 }),
    });
    expect([...s.opportunitiesOf('A1')]).toEqual([['O2', T0 - 5]]);
    expect([...s.opportunitiesOf('A2')]).toEqual([['O1', T0 + 7]]);
    s.putOpportunity({ kind: 'deleted', id: 'O2', version: 9 });
    expect(s.opportunitiesOf('A1').size).toBe(0);
    expect(s.opportunity('O2')).toEqual({ kind: 'deleted', id: 'O2', version: 9 });
    expect([...s.opportunityRecords()].map((r) => r.kind)).toEqual(['live', 'deleted']);
  });

  it('starts from a seed: touches sorted per contact, account indexes from the contacts and the given maps', () => {
    const s = createWorkingState({
      touches: [
        touch({ id: 'T2', contactId: 'C1', occurredAt: T0 }),
        touch({ id: 'T1', contactId: 'C1', occurredAt: T0 - 1 }),
      ],
      contacts: [contact({ id: 'C1', accountId: 'A1' })],
      accountContacts: new Map([['A1', ['C7']]]),
      accountOpportunities: new Map([['A1', new Map([['O9', T0]])]]),
    });
    expect(ids(s.touchesOf('C1', -Infinity, Infinity))).toEqual(['T1', 'T2']);
    expect([...s.contactsOf('A1')].sort()).toEqual(['C1', 'C7']);
    expect([...s.opportunitiesOf('A1')]).toEqual([['O9', T0]]);
  });
});
