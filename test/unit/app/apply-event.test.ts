import { describe, expect, it } from 'vitest';
import { createMemoryState } from '../../../src/adapters/memory/memory-state.js';
import { applyEvent } from '../../../src/app/apply-event.js';
import { attributeById } from '../../../src/app/attribute-opportunities.js';
import type { AttributionState } from '../../../src/app/ports.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { firstTouch } from '../../../src/domain/models/first-touch.js';
import { contact, days, DEFAULT_WINDOW_MS, opportunity, settings, T0, touch } from '../../fakes/builders.js';

const TRACK = { trackAffected: true, windowMs: DEFAULT_WINDOW_MS } as const;

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
async function world(): Promise<AttributionState> {
  const state = createMemoryState();
  const events: DomainEvent[] = [
    contactEvent({ id: 'C1', accountId: 'A1', version: 1 }),
    contactEvent({ id: 'C2', accountId: 'A2', version: 1 }),
    contactEvent({ id: 'C9', accountId: null, version: 1 }),
    oppEvent({ id: 'O1', accountId: 'A1', createdAt: T0 }),
    oppEvent({ id: 'O2', accountId: 'A1', createdAt: T0 - days(200) }),
    oppEvent({ id: 'O3', accountId: 'A2', createdAt: T0 }),
  ];
  for (const event of events) await applyEvent(state, event, TRACK);
  return state;
}

const sorted = (ids: readonly string[]): string[] => [...ids].sort();

describe('applyEvent with trackAffected', () => {
  it.each([
    ['in the window of O1 only', 'C1', T0 - days(10), ['O1']],
    ['exactly at O1 creation', 'C1', T0, ['O1']],
    ['exactly W before O1 creation', 'C1', T0 - DEFAULT_WINDOW_MS, ['O1']],
    ['in the window of O2 only', 'C1', T0 - days(250), ['O2']],
    ['after every creation', 'C1', T0 + 1, []],
    ['between both windows', 'C1', T0 - DEFAULT_WINDOW_MS - 1, []],
    ['before every window', 'C1', T0 - days(400), []],
    ['on another account', 'C2', T0 - days(10), ['O3']],
    ['of a detached contact', 'C9', T0 - days(10), []],
    ['of a contact not yet known', 'C404', T0 - days(10), []],
  ])(
    'a new touch %s (contact %s) affects the expected opportunities',
    async (_label, contactId, occurredAt, expected) => {
      const state = await world();
      const outcome = await applyEvent(state, touchEvent({ id: 'T1', contactId, occurredAt }), TRACK);
      expect(outcome.decision).toBe('apply');
      expect(sorted(outcome.affected)).toEqual(expected);
    },
  );

  it('a redelivered touch names the opportunities it is eligible for again (their answers may never have been stored)', async () => {
    const state = await world();
    await applyEvent(state, touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }), TRACK);
    const outcome = await applyEvent(
      state,
      touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }),
      TRACK,
    );
    expect(outcome).toEqual({ decision: 'duplicate', affected: ['O1'] });
  });

  it('a conflicting touch that replaces the stored one affects the opportunities of both versions', async () => {
    const state = await world();
    // Stored: C2 at T0 − 1 day (O3). Incoming: C1 at T0 − 2 days, whose key ("C1…") is smaller, so it replaces.
    await applyEvent(state, touchEvent({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(1) }), TRACK);
    const outcome = await applyEvent(
      state,
      touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) }),
      TRACK,
    );
    expect(outcome.decision).toBe('conflict-replace');
    expect(sorted(outcome.affected)).toEqual(['O1', 'O3']);
  });

  it('a contact moving accounts affects every opportunity of both accounts', async () => {
    const state = await world();
    const outcome = await applyEvent(state, contactEvent({ id: 'C1', accountId: 'A2', version: 2 }), TRACK);
    expect(outcome.decision).toBe('apply');
    expect(sorted(outcome.affected)).toEqual(['O1', 'O2', 'O3']);
    expect(await state.contactsOfAccount('A1')).toEqual([]);
    expect(sorted(await state.contactsOfAccount('A2'))).toEqual(['C1', 'C2']);
  });

  it.each([
    ['detached from its account', 'C1', null, ['O1', 'O2']],
    ['attached from no account', 'C9', 'A2', ['O3']],
    ['a new contact on an account', 'C5', 'A1', ['O1', 'O2']],
    ['a new detached contact', 'C5', null, []],
  ] as const)(
    'a contact %s (%s → %s) affects the expected opportunities',
    async (_label, id, accountId, expected) => {
      const state = await world();
      const outcome = await applyEvent(state, contactEvent({ id, accountId, version: 2 }), TRACK);
      expect(sorted(outcome.affected)).toEqual(expected);
    },
  );

  it('a newer contact version on the same account affects nothing', async () => {
    const state = await world();
    const outcome = await applyEvent(state, contactEvent({ id: 'C1', accountId: 'A1', version: 2 }), TRACK);
    expect(outcome).toEqual({ decision: 'apply', affected: [] });
  });

  it('a stale contact version affects nothing and changes nothing', async () => {
    const state = await world();
    const outcome = await applyEvent(state, contactEvent({ id: 'C1', accountId: 'A2', version: 0 }), TRACK);
    expect(outcome).toEqual({ decision: 'stale', affected: [] });
    expect(await state.getContact('C1')).toEqual(contact({ id: 'C1', accountId: 'A1', version: 1 }));
  });

  it.each([
    ['a new opportunity', oppEvent({ id: 'O9', accountId: 'A1' }), 'apply', ['O9']],
    ['an update', oppEvent({ id: 'O1', accountId: 'A1', version: 5, amount: 1n }), 'apply', ['O1']],
    ['a deletion', deletion('O1', 5), 'apply', ['O1']],
    ['a redelivery', oppEvent({ id: 'O1', accountId: 'A1', createdAt: T0 }), 'duplicate', ['O1']],
    ['a stale deletion', deletion('O1', -1), 'stale', []],
  ] as const)('%s names the opportunity it carries, or none', async (_label, event, decision, expected) => {
    const state = await world();
    const outcome = await applyEvent(state, event, TRACK);
    expect(outcome.decision).toBe(decision);
    expect(outcome.affected).toEqual(expected);
  });

  it('names nothing when not asked to track', async () => {
    const state = await world();
    const outcome = await applyEvent(
      state,
      touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(1) }),
      {
        trackAffected: false,
        windowMs: DEFAULT_WINDOW_MS,
      },
    );
    expect(outcome).toEqual({ decision: 'apply', affected: [] });
  });
});

describe('applyEvent state changes', () => {
  it('a deletion removes the opportunity and an older update delivered later does not bring it back', async () => {
    const state = await world();
    await applyEvent(state, deletion('O1', 10), TRACK);
    const late = await applyEvent(state, oppEvent({ id: 'O1', accountId: 'A1', version: 5 }), TRACK);
    expect(late).toEqual({ decision: 'stale', affected: [] });
    expect(await attributeById(state, 'O1', settings())).toBeNull();
    expect((await state.opportunitiesOfAccount('A1')).map((o) => o.id)).toEqual(['O2']);
  });

  it('an opportunity moving accounts leaves the old account index', async () => {
    const state = await world();
    await applyEvent(state, oppEvent({ id: 'O1', accountId: 'A2', version: 5 }), TRACK);
    expect((await state.opportunitiesOfAccount('A1')).map((o) => o.id)).toEqual(['O2']);
    expect(sorted((await state.opportunitiesOfAccount('A2')).map((o) => o.id))).toEqual(['O1', 'O3']);
  });

  it('attributes from the touches of every contact of the account, through the state', async () => {
    const state = await world();
    await applyEvent(state, contactEvent({ id: 'C3', accountId: 'A1', version: 1 }), TRACK);
    await applyEvent(state, touchEvent({ id: 'T-c3', contactId: 'C3', occurredAt: T0 - days(20) }), TRACK);
    await applyEvent(state, touchEvent({ id: 'T-c1', contactId: 'C1', occurredAt: T0 - days(10) }), TRACK);
    await applyEvent(state, touchEvent({ id: 'T-c2', contactId: 'C2', occurredAt: T0 - days(30) }), TRACK);
    const attribution = await attributeById(state, 'O1', settings({ models: [firstTouch] }));
    expect(attribution?.eligibleTouches).toBe(2);
    expect(attribution?.results[0]?.credits.map((c) => c.touchpointId)).toEqual(['T-c3']);
  });

  it('a touch whose content is replaced by a conflict moves to its new contact', async () => {
    const state = await world();
    await applyEvent(state, touchEvent({ id: 'T1', contactId: 'C2', occurredAt: T0 - days(1) }), TRACK);
    await applyEvent(state, touchEvent({ id: 'T1', contactId: 'C1', occurredAt: T0 - days(2) }), TRACK);
    expect(await state.touchesOfContacts(['C2'], -Infinity, Infinity)).toEqual([]);
    expect((await state.touchesOfContacts(['C1'], -Infinity, Infinity)).map((t) => t.id)).toEqual(['T1']);
  });

  it('returns null for an unknown opportunity', async () => {
    expect(await attributeById(await world(), 'nope', settings())).toBeNull();
  });
});
