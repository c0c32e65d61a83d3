import { describe, expect, it } from 'vitest';
import { applyEvents, DRAIN_AT_ONCE, type ApplyOptions } from '../../../src/app/apply-events.js';
import { attributeIdInState } from '../../../src/app/attribute-opportunities.js';
import { createWorkingState, type WorkingState } from '../../../src/app/working-state.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { firstTouch } from '../../../src/domain/models/first-touch.js';
import { contact, days, DEFAULT_WINDOW_MS, opportunity, settings, T0, touch } from '../../fakes/builders.js';

const TRACK: ApplyOptions = { windowMs: DEFAULT_WINDOW_MS, track: true, record: true };

const touchEvent = (...args: Parameters<typeof touch>): DomainEvent => ({
  kind: 'touch',
  touch: touch(...args),
});
const contactEvent = (...args: Parameters<typeof contact>): DomainEvent => ({
  kind: 'contact',
  contact: contact(...args),
});
const oppEvent = (...args: Parameters<typeof opportunity>): DomainEvent => ({
  kind: 'opportunity',
  opportunity: opportunity(...args),
});
const deletion = (id: string, version: number): DomainEvent => ({
  kind: 'opportunity-deleted',
  deletion: { id, version },
});

/**
 * A1 has contact C1 and opportunities O1 (created T0) and O2 (created T0 − 200 days);
 * A2 has contact C2 and opportunity O3 (created T0). C9 is detached.
 */
function world(): WorkingState {
  const state = createWorkingState();
  applyEvents(
    state,
    [
      contactEvent({ id: 'C1', accountId: 'A1', version: 1 }),
      contactEvent({ id: 'C2', accountId: 'A2', version: 1 }),
      contactEvent({ id: 'C9', accountId: null, version: 1 }),
      oppEvent({ id: 'O1', accountId: 'A1', createdAt: T0 }),
      oppEvent({ id: 'O2', accountId: 'A1', createdAt: T0 - days(200) }),
      oppEvent({ id: 'O3', accountId: 'A2', createdAt: T0 }),
    ],
    TRACK,
  );
  return state;
}

const affectedIds = (affected: ReadonlyMap<string, unknown>): string[] => [...affected.keys()].sort();

describe('applyEvents: which opportunities a new touch affects (window edges inclusive)', () => {
  it.each([
    ['in the window of O1 only', 'C1', T0 - days(10), ['O1']],
    ['exactly at O1 creation', 'C1', T0, ['O1']],
    ['exactly W before O1 creation', 'C1', T0 - DEFAULT_WINDOW_MS, ['O1']],
    ['1 ms after O1 creation', 'C1', T0 + 1, []],
    ['1 ms before O1 window', 'C1', T0 - DEFAULT_WINDOW_MS - 1, []],
    ['in the window of O2 only', 'C1', T0 - days(250), ['O2']],
    ['exactly at O2 creation', 'C1', T0 - days(200), ['O2']],
    ['before every window', 'C1', T0 - days(400), []],
    ['on another account', 'C2', T0 - days(10), ['O3']],
    ['of a detached contact', 'C9', T0 - days(10), []],
    ['of a contact not yet known', 'C404', T0 - days(10), []],
  ])('a touch %s (contact %s) → %j', (_label, contactId, occurredAt, expected) => {
    const state = world();
    const { decisions, affected } = applyEvents(
      state,
      [touchEvent({ id: 'T1', contactId, occurredAt })],
      TRACK,
    );
    expect(decisions).toEqual(['apply']);
    expect(affectedIds(affected)).toEqual(expected);
    for (const entry of affected.values()) expect(entry.reason).toBe('touch');
  });

  it('gives each affected opportunity its creation instant (the drain order)', () => {
    const state = world();
    const { affected } = applyEvents(
      state,
      [touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) })],
      TRACK,
    );
    expect(affected.get('O1')).toEqual({ reason: 'touch', createdAt: T0 });
  });
});

describe('applyEvents: decisions, affected opportunities and recorded changes', () => {
  it.each<[string, DomainEvent[], string[], string[]]>([
    [
      'a redelivered touch names its opportunities again',
      [
        touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }),
        touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }),
      ],
      ['apply', 'duplicate'],
      ['O1'],
    ],
    [
      // Stored: C2 at T0 − 1 day (O3). Incoming: C1 at T0 − 2 days, smaller key ("C1…"): replaces.
      'a conflicting touch that replaces the stored one names the opportunities of both versions',
      [
        touchEvent({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(1) }),
        touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) }),
      ],
      ['apply', 'conflict-replace'],
      ['O1', 'O3'],
    ],
    [
      'a conflicting touch that is refused changes nothing after the first',
      [
        touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) }),
        touchEvent({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(1) }),
      ],
      ['apply', 'conflict-keep'],
      ['O1'],
    ],
    [
      'a contact moving accounts names every opportunity of both accounts',
      [contactEvent({ id: 'C1', accountId: 'A2', version: 2 })],
      ['apply'],
      ['O1', 'O2', 'O3'],
    ],
    [
      'a contact detached from its account',
      [contactEvent({ id: 'C1', accountId: null, version: 2 })],
      ['apply'],
      ['O1', 'O2'],
    ],
    [
      'a detached contact attached to an account',
      [contactEvent({ id: 'C9', accountId: 'A2', version: 2 })],
      ['apply'],
      ['O3'],
    ],
    [
      'a new contact on an account',
      [contactEvent({ id: 'C5', accountId: 'A1', version: 2 })],
      ['apply'],
      ['O1', 'O2'],
    ],
    [
      'a newer contact version on the same account',
      [contactEvent({ id: 'C1', accountId: 'A1', version: 2 })],
      ['apply'],
      [],
    ],
    [
      'a redelivered contact names its account',
      [contactEvent({ id: 'C1', accountId: 'A1', version: 1 })],
      ['duplicate'],
      ['O1', 'O2'],
    ],
    ['a stale contact version', [contactEvent({ id: 'C1', accountId: 'A2', version: 0 })], ['stale'], []],
    ['a new opportunity', [oppEvent({ id: 'O9', accountId: 'A1' })], ['apply'], ['O9']],
    [
      'an opportunity update',
      [oppEvent({ id: 'O1', accountId: 'A1', version: 5, amount: 1n })],
      ['apply'],
      ['O1'],
    ],
    [
      // Only updated_at moved (or fields the stored form does not carry): nothing the answer
      // depends on changed, so it is not re-attributed (its window may be trimmed by then).
      'a newer version with the same content names nothing',
      [oppEvent({ id: 'O1', accountId: 'A1', createdAt: T0, version: 9 })],
      ['apply'],
      [],
    ],
    [
      'a newer version that closes it (stage and closed_at) names it',
      [
        oppEvent({
          id: 'O1',
          accountId: 'A1',
          createdAt: T0,
          version: 9,
          stage: 'closed_won',
          closedAt: T0 + days(30),
        }),
      ],
      ['apply'],
      ['O1'],
    ],
    [
      'a redelivered opportunity names itself',
      [oppEvent({ id: 'O1', accountId: 'A1', createdAt: T0 })],
      ['duplicate'],
      ['O1'],
    ],
    ['a deletion', [deletion('O1', 5)], ['apply'], ['O1']],
    ['a redelivered deletion', [deletion('O1', 5), deletion('O1', 5)], ['apply', 'duplicate'], ['O1']],
    ['a stale deletion', [deletion('O1', -1)], ['stale'], []],
  ])('%s', (_label, events, decisions, expected) => {
    const state = world();
    const outcome = applyEvents(state, events, TRACK);
    expect(outcome.decisions).toEqual(decisions);
    expect(affectedIds(outcome.affected)).toEqual(expected);
  });

  it('a contact move names the opportunities of the account it left and of the one it joined, and records the previous account', () => {
    const state = world();
    const outcome = applyEvents(state, [contactEvent({ id: 'C1', accountId: 'A2', version: 2 })], TRACK);
    expect([...outcome.affected].map(([id, a]) => [id, a.reason]).sort()).toEqual([
      ['O1', 'contact_changed'],
      ['O2', 'contact_changed'],
      ['O3', 'contact_changed'],
    ]);
    expect(outcome.changes.contacts).toEqual([
      { contact: contact({ id: 'C1', accountId: 'A2', version: 2 }), previousAccountId: 'A1' },
    ]);
    expect([...state.contactsOf('A1')]).toEqual([]);
    expect([...state.contactsOf('A2')].sort()).toEqual(['C1', 'C2']);
  });

  it('a deletion drains at once, records the tombstone with its account, and a later older update stays out', () => {
    const state = world();
    const deleted = applyEvents(state, [deletion('O1', 10)], TRACK);
    expect(deleted.affected.get('O1')).toEqual({ reason: 'opportunity_deleted', createdAt: DRAIN_AT_ONCE });
    expect(deleted.changes.opportunities).toEqual([
      { record: { kind: 'deleted', id: 'O1', version: 10 }, previousAccountId: 'A1' },
    ]);
    const late = applyEvents(state, [oppEvent({ id: 'O1', accountId: 'A1', version: 5 })], TRACK);
    expect(late.decisions).toEqual(['stale']);
    expect(late.affected.size).toBe(0);
    expect(attributeIdInState(state, 'O1', settings())).toBeNull();
    expect([...state.opportunitiesOf('A1').keys()]).toEqual(['O2']);
  });

  it('records a replaced touch with the version it replaced', () => {
    const state = world();
    const first = touch({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(1) });
    const second = touch({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) });
    const { changes } = applyEvents(
      state,
      [
        { kind: 'touch', touch: first },
        { kind: 'touch', touch: second },
      ],
      TRACK,
    );
    expect(changes.touches).toEqual([
      { touch: first, replaced: null },
      { touch: second, replaced: first },
    ]);
    expect(state.touchesOf('C2', -Infinity, Infinity)).toEqual([]);
    expect(state.touchesOf('C1', -Infinity, Infinity)).toEqual([second]);
  });

  it('names and records nothing when asked for neither (batch), with the same decisions and state', () => {
    const state = world();
    const outcome = applyEvents(
      state,
      [
        touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }),
        contactEvent({ id: 'C1', accountId: 'A2', version: 2 }),
      ],
      { windowMs: DEFAULT_WINDOW_MS, track: false, record: false },
    );
    expect(outcome.decisions).toEqual(['apply', 'apply']);
    expect(outcome.affected.size).toBe(0);
    expect(outcome.changes).toEqual({ touches: [], contacts: [], opportunities: [] });
    expect(state.contact('C1')?.accountId).toBe('A2');
  });

  it('attributes from the touches of every contact of the account', () => {
    const state = world();
    applyEvents(
      state,
      [
        contactEvent({ id: 'C3', accountId: 'A1', version: 1 }),
        touchEvent({ id: 'T-c3', contactId: 'C3', occurredAt: T0 - days(20) }),
        touchEvent({ id: 'T-c1', contactId: 'C1', occurredAt: T0 - days(10) }),
        touchEvent({ id: 'T-c2', contactId: 'C2', occurredAt: T0 - days(30) }),
      ],
      TRACK,
    );
    const attribution = attributeIdInState(state, 'O1', settings({ models: [firstTouch] }));
    expect(attribution?.eligibleTouches).toBe(2);
    expect(attribution?.results[0]?.credits.map((c) => c.touchpointId)).toEqual(['T-c3']);
    expect(attributeIdInState(state, 'nope', settings())).toBeNull();
  });
});
