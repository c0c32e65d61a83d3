// The StateStore contract: every adapter (memory fake, Redis) runs exactly these tests, so the
// fake the use cases are unit-tested with behaves like production. Expected values are written
// out by hand; instants are plain epoch milliseconds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_AT_ONCE } from '../../src/app/apply-events.js';
import type { PendingClaim, PendingMarks, StateChanges, StateStore } from '../../src/app/ports.js';
import type { OpportunityRecord } from '../../src/domain/decide.js';
import type { Contact, Opportunity, Touch } from '../../src/domain/events.js';

export interface StateStoreFixture {
  readonly store: StateStore;
  readonly cleanup: () => Promise<void>;
}

/** 2023-11-14T22:13:20Z */
const T = 1_700_000_000_000;
const NO_TRIM = -Infinity;

const tp = (
  id: string,
  contactId: string,
  occurredAt: number,
  channel = 'Adwords',
  source: Touch['source'] = 'marketing',
): Touch => ({
  id,
  contactId,
  channel,
  occurredAt,
  source,
});
const live = (
  id: string,
  accountId: string,
  amount: bigint,
  version = 1,
  createdAt = T,
): OpportunityRecord => ({
  kind: 'live',
  opportunity: { id, accountId, amount, createdAt, segment: 'Enterprise', version } satisfies Opportunity,
});
const deleted = (id: string, version: number): OpportunityRecord => ({ kind: 'deleted', id, version });

const changes = (partial: Partial<StateChanges>): StateChanges => ({
  touches: [],
  contacts: [],
  opportunities: [],
  ...partial,
});
const newTouches = (...touches: Touch[]): StateChanges =>
  changes({ touches: touches.map((touch) => ({ touch, replaced: null })) });
const ids = (touches: readonly Touch[] | undefined): string[] => (touches ?? []).map((t) => t.id);

export function stateStoreContract(name: string, make: () => Promise<StateStoreFixture>): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    const history = async (contactId: string, from = -Infinity, to = Infinity): Promise<string[]> =>
      ids((await store.loadTouchHistories([contactId], from, to)).get(contactId));

    describe('touches', () => {
      it('returns a stored touch with every field exactly as written', async () => {
        const marketing = tp('tp-1', 'C1', 1_700_000_000_123, 'Adwords', 'marketing');
        const sales = tp('tp:2 "quoted" é', 'C:2', -86_400_000, 'Sales call', 'sales');
        await store.apply(newTouches(marketing, sales), NO_TRIM);

        const found = await store.loadTouches(['tp-1', 'tp:2 "quoted" é']);
        expect(found).toEqual(
          new Map([
            [
              'tp-1',
              {
                id: 'tp-1',
                contactId: 'C1',
                channel: 'Adwords',
                occurredAt: 1_700_000_000_123,
                source: 'marketing',
              },
            ],
            [
              'tp:2 "quoted" é',
              {
                id: 'tp:2 "quoted" é',
                contactId: 'C:2',
                channel: 'Sales call',
                occurredAt: -86_400_000,
                source: 'sales',
              },
            ],
          ]),
        );
        expect((await store.loadTouchHistories(['C:2'], -Infinity, Infinity)).get('C:2')).toEqual([
          {
            id: 'tp:2 "quoted" é',
            contactId: 'C:2',
            channel: 'Sales call',
            occurredAt: -86_400_000,
            source: 'sales',
          },
        ]);
      });

      it('returns campaign and UTM fields and the channel text the rules placed, exactly as written', async () => {
        const tagged: Touch = {
          ...tp('tp-tag', 'C7', 1_700_000_000_000, 'Adwords', 'marketing'),
          campaign: 'CMP-1',
          tags: {
            campaign_id: 'CMP-1',
            campaign_name: 'Spring "launch"',
            utm_source: 'google',
            utm_medium: 'cpc',
            utm_campaign: null,
          },
          channelText: null,
        };
        const mapped: Touch = {
          ...tp('tp-map', 'C7', 1_700_000_000_001, 'Event', 'sales'),
          channelText: 'carrier pigeon',
        };
        await store.apply(newTouches(tagged, mapped), NO_TRIM);
        expect(await store.loadTouches(['tp-tag', 'tp-map'])).toEqual(
          new Map([
            ['tp-tag', tagged],
            ['tp-map', mapped],
          ]),
        );
        expect((await store.loadTouchHistories(['C7'], -Infinity, Infinity)).get('C7')).toEqual([
          tagged,
          mapped,
        ]);
      });

      it('applies replacements inside one batch in delivery order (a touch replaced twice, once back to its first form)', async () => {
        const first = tp('tp-r', 'C1', T, 'Adwords');
        const second = tp('tp-r', 'C1', T + 1, 'Webinar');
        const third = tp('tp-r', 'C1', T + 2, 'Adwords');
        const other = tp('tp-o', 'C1', T + 5, 'Event');
        await store.apply(
          changes({
            touches: [
              { touch: first, replaced: null },
              { touch: other, replaced: null },
              { touch: second, replaced: first },
              { touch: third, replaced: second },
            ],
          }),
          NO_TRIM,
        );
        expect((await store.loadTouchHistories(['C1'], -Infinity, Infinity)).get('C1')).toEqual([
          third,
          other,
        ]);
        expect((await store.loadTouches(['tp-r'])).get('tp-r')).toEqual(third);
      });

      it('leaves unknown ids out of every map and answers an empty request with an empty map', async () => {
        await store.apply(newTouches(tp('tp-1', 'C1', T)), NO_TRIM);
        expect([...(await store.loadTouches(['missing', 'tp-1', 'tp-1'])).keys()]).toEqual(['tp-1']);
        expect((await store.loadTouches([])).size).toBe(0);
        expect((await store.loadContacts(['missing'])).size).toBe(0);
        expect((await store.loadOpportunities(['missing'])).size).toBe(0);
        expect((await store.loadTouchHistories([], -Infinity, Infinity)).size).toBe(0);
      });

      it('reads a history from ≤ occurredAt ≤ to, both ends inclusive', async () => {
        await store.apply(
          newTouches(
            tp('before', 'C1', T - 1),
            tp('at-from', 'C1', T),
            tp('inside', 'C1', T + 5),
            tp('at-to', 'C1', T + 10),
            tp('after', 'C1', T + 11),
          ),
          NO_TRIM,
        );
        expect(await history('C1', T, T + 10)).toEqual(['at-from', 'inside', 'at-to']);
        expect(await history('C1', T + 10, T + 10)).toEqual(['at-to']);
        expect(await history('C1', T + 12, T + 20)).toEqual([]);
      });

      it('maps every requested contact to its own touches, [] when it has none', async () => {
        await store.apply(
          newTouches(tp('a1', 'C1', T), tp('b1', 'C2', T + 1), tp('a2', 'C1', T + 2)),
          NO_TRIM,
        );
        const found = await store.loadTouchHistories(['C1', 'C2', 'C-none'], -Infinity, Infinity);
        expect(new Map([...found].map(([contact, list]) => [contact, ids(list)]))).toEqual(
          new Map([
            ['C1', ['a1', 'a2']],
            ['C2', ['b1']],
            ['C-none', []],
          ]),
        );
      });

      it('sorts a history by time, then by id in JavaScript string order', async () => {
        // Same instant: 'z' (U+007A) < '😀' (U+D83D U+DE00) < '～' (U+FF5E) in UTF-16, while in
        // UTF-8 bytes '～' (EF BD 9E) would sort before '😀' (F0 9F 98 80).
        await store.apply(
          newTouches(
            tp('～', 'C1', T),
            tp('b', 'C1', T - 1),
            tp('😀', 'C1', T),
            tp('a', 'C1', T + 1),
            tp('z', 'C1', T),
          ),
          NO_TRIM,
        );
        expect(await history('C1')).toEqual(['b', 'z', '😀', '～', 'a']);
      });

      it('reads everything with infinite or safe-integer bounds', async () => {
        await store.apply(
          newTouches(tp('past', 'C1', -1_000_000_000_000_000), tp('future', 'C1', 9_000_000_000_000_000)),
          NO_TRIM,
        );
        expect(await history('C1', -Infinity, Infinity)).toEqual(['past', 'future']);
        expect(await history('C1', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual([
          'past',
          'future',
        ]);
      });

      it('unlinks a replaced touch from the history of the contact it was on', async () => {
        const before = tp('X', 'C1', T, 'Adwords');
        const after = tp('X', 'C2', T + 1, 'Facebook');
        await store.apply(newTouches(before, tp('Y', 'C1', T + 2)), NO_TRIM);
        await store.apply(changes({ touches: [{ touch: after, replaced: before }] }), NO_TRIM);

        expect(await history('C1')).toEqual(['Y']);
        expect((await store.loadTouchHistories(['C2'], -Infinity, Infinity)).get('C2')).toEqual([after]);
        expect((await store.loadTouches(['X'])).get('X')).toEqual(after);
      });

      it('replaces a touch on the same contact, leaving one entry at the new time', async () => {
        const before = tp('X', 'C1', T, 'Adwords');
        const after = tp('X', 'C1', T + 7, 'LinkedIn', 'sales');
        await store.apply(newTouches(before), NO_TRIM);
        await store.apply(changes({ touches: [{ touch: after, replaced: before }] }), NO_TRIM);
        expect((await store.loadTouchHistories(['C1'], -Infinity, Infinity)).get('C1')).toEqual([after]);
        expect(await history('C1', T, T + 6)).toEqual([]);
      });

      it('applies the changes of one call in delivery order', async () => {
        const first = tp('X', 'C1', T);
        const second = tp('X', 'C2', T + 1, 'Facebook');
        await store.apply(
          changes({
            touches: [
              { touch: first, replaced: null },
              { touch: second, replaced: first },
            ],
          }),
          NO_TRIM,
        );
        expect(await history('C1')).toEqual([]);
        expect(await history('C2')).toEqual(['X']);
        expect((await store.loadTouches(['X'])).get('X')).toEqual(second);
      });

      it('gives the same state when a call is delivered twice', async () => {
        const x = tp('X', 'C1', T);
        const redelivered = changes({
          touches: [{ touch: x, replaced: null }],
          contacts: [{ contact: { id: 'C1', accountId: 'A1', version: 1 }, previousAccountId: null }],
          opportunities: [{ record: live('O1', 'A1', 5n), previousAccountId: null }],
        });
        await store.apply(redelivered, NO_TRIM);
        await store.apply(redelivered, NO_TRIM);
        expect(await history('C1')).toEqual(['X']);
        expect(await store.loadAccountContacts(['A1'])).toEqual(new Map([['A1', ['C1']]]));
        expect(await store.loadAccountOpportunities(['A1'])).toEqual(new Map([['A1', new Map([['O1', T]])]]));
      });
    });

    describe('trimming', () => {
      it('drops touches older than trimBefore from written histories and from loadTouches, keeping those at trimBefore', async () => {
        await store.apply(
          newTouches(
            tp('old-2', 'C1', T - 2),
            tp('old-1', 'C1', T - 1),
            tp('edge', 'C1', T),
            tp('newer', 'C1', T + 1),
          ),
          NO_TRIM,
        );
        await store.apply(newTouches(tp('fresh', 'C1', T + 2)), T);

        expect(await history('C1')).toEqual(['edge', 'newer', 'fresh']);
        const found = await store.loadTouches(['old-2', 'old-1', 'edge', 'newer', 'fresh']);
        expect([...found.keys()].sort()).toEqual(['edge', 'fresh', 'newer']);
      });

      it('leaves the histories not written in that call as they are', async () => {
        await store.apply(newTouches(tp('c2-old', 'C2', T - 5), tp('c1-old', 'C1', T - 5)), NO_TRIM);
        await store.apply(newTouches(tp('c1-new', 'C1', T)), T);
        expect(await history('C1')).toEqual(['c1-new']);
        expect(await history('C2')).toEqual(['c2-old']);
        expect([...(await store.loadTouches(['c2-old', 'c1-old'])).keys()]).toEqual(['c2-old']);
      });

      it('also trims the history a replaced touch was unlinked from', async () => {
        const moved = tp('X', 'C1', T + 1);
        await store.apply(newTouches(tp('c1-old', 'C1', T - 5), moved), NO_TRIM);
        await store.apply(changes({ touches: [{ touch: tp('X', 'C2', T + 1), replaced: moved }] }), T);
        expect(await history('C1')).toEqual([]);
        expect(await history('C2')).toEqual(['X']);
        expect([...(await store.loadTouches(['c1-old', 'X'])).keys()]).toEqual(['X']);
      });

      it('does not keep a touch that arrives already older than trimBefore', async () => {
        await store.apply(newTouches(tp('late', 'C1', T - 1), tp('kept', 'C1', T)), T);
        expect(await history('C1')).toEqual(['kept']);
        expect([...(await store.loadTouches(['late', 'kept'])).keys()]).toEqual(['kept']);
      });

      it('keeps everything when trimBefore is -Infinity or Number.MIN_SAFE_INTEGER', async () => {
        await store.apply(
          newTouches(tp('ancient', 'C1', -1_000_000_000_000_000), tp('floor', 'C1', Number.MIN_SAFE_INTEGER)),
          NO_TRIM,
        );
        await store.apply(newTouches(tp('now', 'C1', T)), Number.MIN_SAFE_INTEGER);
        await store.apply(newTouches(tp('later', 'C1', T + 1)), -Infinity);
        expect(await history('C1')).toEqual(['floor', 'ancient', 'now', 'later']);
        expect((await store.loadTouches(['floor', 'ancient', 'now', 'later'])).size).toBe(4);
      });

      // A catch-up ingests far ahead of its drains (one fetch can span months of event time):
      // the watermark must not trim what a marked, not yet attributed opportunity will read.
      it('keeps, with a guard, every touch an opportunity pending in a guarded set may read; a set outside the guard holds nothing back', async () => {
        const W = 10;
        const guard = { pendingSources: ['opps/0', 'opps/1'], windowMs: W };
        const pendingAt = (createdAt: number): PendingMarks => ({
          source: 'opps/1',
          affected: new Map([['O1', { reason: 'touch', createdAt }]]),
          markedAt: 0,
        });
        await store.apply(newTouches(tp('needed', 'C1', T - 8), tp('older', 'C1', T - 11)), NO_TRIM);
        // O1 (created at T) is marked in the same call whose bound would trim both touches.
        await store.apply(newTouches(tp('new', 'C1', T + 50)), T + 40, pendingAt(T), guard);
        expect(await history('C1')).toEqual(['needed', 'new']);
        // An unguarded set does not hold the trim back.
        await store.apply(newTouches(tp('new2', 'C1', T + 51)), T + 40, undefined, {
          pendingSources: ['opps/0'],
          windowMs: W,
        });
        expect(await history('C1')).toEqual(['new', 'new2']);
      });

      it('with a guard over empty pending sets, trims as without one', async () => {
        await store.apply(newTouches(tp('old', 'C1', T - 1)), NO_TRIM);
        await store.apply(newTouches(tp('kept', 'C1', T)), T, undefined, {
          pendingSources: ['opps/0'],
          windowMs: 5,
        });
        expect(await history('C1')).toEqual(['kept']);
      });

      it('never trims contacts or opportunities, tombstones included', async () => {
        await store.apply(
          changes({
            touches: [{ touch: tp('t', 'C1', T - 10), replaced: null }],
            contacts: [{ contact: { id: 'C1', accountId: 'A1', version: 1 }, previousAccountId: null }],
            opportunities: [
              { record: live('O1', 'A1', 7n), previousAccountId: null },
              { record: deleted('O2', 3), previousAccountId: null },
            ],
          }),
          T + 1_000_000,
        );
        expect(await store.loadTouches(['t'])).toEqual(new Map());
        expect(await store.loadContacts(['C1'])).toEqual(
          new Map([['C1', { id: 'C1', accountId: 'A1', version: 1 }]]),
        );
        expect(await store.loadOpportunities(['O1', 'O2'])).toEqual(
          new Map([
            ['O1', live('O1', 'A1', 7n)],
            ['O2', deleted('O2', 3)],
          ]),
        );
      });
    });

    describe('contacts', () => {
      const put = (contact: Contact, previousAccountId: string | null): Promise<void> =>
        store.apply(changes({ contacts: [{ contact, previousAccountId }] }), NO_TRIM);

      it('round-trips account and version, a detached contact included', async () => {
        await put({ id: 'C1', accountId: 'A1', version: 1_700_000_000_001 }, null);
        await put({ id: 'C2', accountId: null, version: 0 }, null);
        expect(await store.loadContacts(['C1', 'C2'])).toEqual(
          new Map([
            ['C1', { id: 'C1', accountId: 'A1', version: 1_700_000_000_001 }],
            ['C2', { id: 'C2', accountId: null, version: 0 }],
          ]),
        );
        expect(await store.loadAccountContacts(['A1'])).toEqual(new Map([['A1', ['C1']]]));
      });

      it('lists contact ids per account in sorted order, [] for an account without contacts', async () => {
        await put({ id: 'C3', accountId: 'A1', version: 1 }, null);
        await put({ id: 'C1', accountId: 'A1', version: 1 }, null);
        await put({ id: 'C9', accountId: 'A2', version: 1 }, null);
        await put({ id: 'C2', accountId: 'A1', version: 1 }, null);
        expect(await store.loadAccountContacts(['A1', 'A2', 'A-none'])).toEqual(
          new Map([
            ['A1', ['C1', 'C2', 'C3']],
            ['A2', ['C9']],
            ['A-none', []],
          ]),
        );
      });

      it('moves a contact out of its previous account', async () => {
        await put({ id: 'C1', accountId: 'A1', version: 1 }, null);
        await put({ id: 'C2', accountId: 'A1', version: 1 }, null);
        await put({ id: 'C1', accountId: 'A2', version: 2 }, 'A1');
        expect(await store.loadAccountContacts(['A1', 'A2'])).toEqual(
          new Map([
            ['A1', ['C2']],
            ['A2', ['C1']],
          ]),
        );
        expect((await store.loadContacts(['C1'])).get('C1')).toEqual({
          id: 'C1',
          accountId: 'A2',
          version: 2,
        });
      });

      it('detaches a contact from every account', async () => {
        await put({ id: 'C1', accountId: 'A1', version: 1 }, null);
        await put({ id: 'C1', accountId: null, version: 2 }, 'A1');
        expect(await store.loadAccountContacts(['A1'])).toEqual(new Map([['A1', []]]));
        expect((await store.loadContacts(['C1'])).get('C1')).toEqual({
          id: 'C1',
          accountId: null,
          version: 2,
        });
      });

      it('applies several changes to one contact in delivery order', async () => {
        await store.apply(
          changes({
            contacts: [
              { contact: { id: 'C1', accountId: 'A1', version: 1 }, previousAccountId: null },
              { contact: { id: 'C1', accountId: 'A2', version: 2 }, previousAccountId: 'A1' },
              { contact: { id: 'C1', accountId: 'A3', version: 3 }, previousAccountId: 'A2' },
            ],
          }),
          NO_TRIM,
        );
        expect(await store.loadAccountContacts(['A1', 'A2', 'A3'])).toEqual(
          new Map([
            ['A1', []],
            ['A2', []],
            ['A3', ['C1']],
          ]),
        );
        expect((await store.loadContacts(['C1'])).get('C1')?.version).toBe(3);
      });
    });

    describe('FX rates and the currency index', () => {
      it('stores rates, a later one for the same (currency, date) replacing the first, and loads by currency', async () => {
        await store.applyRates([
          { currency: 'EUR', date: '2024-03-14', rate: 1_100_000_000_000n },
          { currency: 'GBP', date: '2024-03-14', rate: 1_270_000_000_001n },
        ]);
        await store.applyRates([{ currency: 'EUR', date: '2024-03-14', rate: 1_200_000_000_000n }]);
        expect(await store.loadRates(['EUR'])).toEqual([
          { currency: 'EUR', date: '2024-03-14', rate: 1_200_000_000_000n },
        ]);
        expect((await store.loadRates(['EUR', 'GBP'])).length).toBe(2);
        expect(await store.loadRates([])).toEqual([]);
        // A rate written after a read is seen by the next read (a reader may cache them).
        await store.applyRates([{ currency: 'EUR', date: '2024-03-14', rate: 1_300_000_000_000n }]);
        expect(await store.loadRates(['EUR'])).toEqual([
          { currency: 'EUR', date: '2024-03-14', rate: 1_300_000_000_000n },
        ]);
      });

      it('indexes live opportunities by currency with their createdAt, from a bound on', async () => {
        const inCurrency = (id: string, currency: string, createdAt: number): OpportunityRecord => ({
          kind: 'live',
          opportunity: {
            ...(live(id, 'A1', 1n, 0, createdAt) as { opportunity: Opportunity }).opportunity,
            currency,
          },
        });
        await store.apply(
          changes({
            opportunities: [
              { record: inCurrency('O1', 'EUR', 100), previousAccountId: null },
              { record: inCurrency('O2', 'EUR', 200), previousAccountId: null },
              { record: inCurrency('O3', 'GBP', 300), previousAccountId: null },
              { record: live('O4', 'A1', 1n, 0, 400), previousAccountId: null },
            ],
          }),
          NO_TRIM,
        );
        expect(await store.currencyOpportunities('EUR', 150)).toEqual(new Map([['O2', 200]]));
        expect(await store.currencyOpportunities('EUR', -Infinity)).toEqual(
          new Map([
            ['O1', 100],
            ['O2', 200],
          ]),
        );
        expect(await store.currencyOpportunities('USD', -Infinity)).toEqual(new Map());
      });

      it('keeps the set of opportunities waiting for a rate', async () => {
        expect(await store.notePendingFx(['O1', 'O2'], [])).toBe(2);
        expect(await store.notePendingFx(['O3'], ['O1', 'O9'])).toBe(2);
        expect(await store.countPendingFx()).toBe(2);
        expect(await store.notePendingFx([], [])).toBe(2);
      });
    });

    describe('opportunities', () => {
      const put = (record: OpportunityRecord, previousAccountId: string | null): Promise<void> =>
        store.apply(changes({ opportunities: [{ record, previousAccountId }] }), NO_TRIM);

      it('round-trips the currency of an opportunity that has one', async () => {
        const record: OpportunityRecord = {
          kind: 'live',
          opportunity: {
            ...(live('O-eur', 'A1', 5n) as { opportunity: Opportunity }).opportunity,
            currency: 'EUR',
          },
        };
        await put(record, null);
        expect((await store.loadOpportunities(['O-eur'])).get('O-eur')).toEqual(record);
      });

      it('round-trips every field, bigint amounts exactly', async () => {
        await put(live('O-big', 'A1', 123456789012345678901234567n, 1_700_000_000_999), null);
        await put(live('O-zero', 'A1', 0n), null);
        await put(live('O-nano', 'A2', 1n), null);
        const found = await store.loadOpportunities(['O-big', 'O-zero', 'O-nano']);
        expect(found.get('O-big')).toEqual({
          kind: 'live',
          opportunity: {
            id: 'O-big',
            accountId: 'A1',
            amount: 123456789012345678901234567n,
            createdAt: 1_700_000_000_000,
            segment: 'Enterprise',
            version: 1_700_000_000_999,
          },
        });
        const amounts = [...found.values()].map((r) => (r.kind === 'live' ? r.opportunity.amount : null));
        expect(amounts).toEqual([123456789012345678901234567n, 0n, 1n]);
        expect(typeof amounts[0]).toBe('bigint');
      });

      it('keeps the tombstone of a deletion and returns it', async () => {
        await put(live('O1', 'A1', 10n, 1), null);
        await put(deleted('O1', 5), 'A1');
        expect(await store.loadOpportunities(['O1'])).toEqual(
          new Map([['O1', { kind: 'deleted', id: 'O1', version: 5 }]]),
        );
        expect(await store.loadAccountOpportunities(['A1'])).toEqual(new Map([['A1', new Map()]]));
      });

      it('indexes only live opportunities per account with their createdAt, an empty map for an account without any', async () => {
        await put(live('O3', 'A1', 1n, 1, T + 3), null);
        await put(deleted('O2', 1), null);
        await put(live('O1', 'A1', 1n, 1, -86_400_000), null);
        await put(live('O4', 'A2', 1n, 1, Number.MAX_SAFE_INTEGER), null);
        const found = await store.loadAccountOpportunities(['A1', 'A2', 'A-none']);
        expect(found).toEqual(
          new Map([
            [
              'A1',
              new Map([
                ['O1', -86_400_000],
                ['O3', T + 3],
              ]),
            ],
            ['A2', new Map([['O4', Number.MAX_SAFE_INTEGER]])],
            ['A-none', new Map()],
          ]),
        );
        expect([...(found.get('A1')?.keys() ?? [])].sort()).toEqual(['O1', 'O3']);
        expect(typeof found.get('A1')?.get('O3')).toBe('number');
      });

      it('moves an opportunity out of its previous account, its index entry carrying the new createdAt', async () => {
        await put(live('O1', 'A1', 1n, 1, T), null);
        await put(live('O2', 'A1', 1n, 1, T + 1), null);
        await put(live('O1', 'A2', 2n, 2, T - 7), 'A1');
        expect(await store.loadAccountOpportunities(['A1', 'A2'])).toEqual(
          new Map([
            ['A1', new Map([['O2', T + 1]])],
            ['A2', new Map([['O1', T - 7]])],
          ]),
        );
        expect((await store.loadOpportunities(['O1'])).get('O1')).toEqual(live('O1', 'A2', 2n, 2, T - 7));
      });

      it('updates the createdAt of an opportunity that stays in its account', async () => {
        await put(live('O1', 'A1', 1n, 1, T), null);
        await put(live('O1', 'A1', 1n, 2, T + 60_000), 'A1');
        expect(await store.loadAccountOpportunities(['A1'])).toEqual(
          new Map([['A1', new Map([['O1', T + 60_000]])]]),
        );
      });

      it('answers the same account asked twice, and an empty request with an empty map', async () => {
        await put(live('O1', 'A1', 1n), null);
        expect(await store.loadAccountOpportunities(['A1', 'A1'])).toEqual(
          new Map([['A1', new Map([['O1', T]])]]),
        );
        expect((await store.loadAccountOpportunities([])).size).toBe(0);
      });
    });

    describe('pending marks', () => {
      const NOTHING = changes({});
      /** Marks of one source: [opportunity id, reason, createdAt] each. */
      const marks = (
        source: string,
        markedAt: number,
        ...entries: [string, string, number][]
      ): PendingMarks => ({
        source,
        affected: new Map(entries.map(([id, reason, createdAt]) => [id, { reason, createdAt }] as const)),
        markedAt,
      });
      const mark = (m: PendingMarks): Promise<void> => store.apply(NOTHING, NO_TRIM, m);
      /** A claim without its token, which is the adapter's own. */
      const seen = (claims: readonly PendingClaim[]): [string, string, number][] =>
        claims.map((c) => [c.opportunityId, c.reason, c.markedAt]);
      const claimed = async (source: string, upTo = Infinity, limit = 100): Promise<string[]> =>
        (await store.claimPending(source, upTo, limit)).map((c) => c.opportunityId);

      it('starts empty: nothing to claim, a count of 0, releasing nothing is harmless', async () => {
        expect(await store.claimPending('touches:0', Infinity, 10)).toEqual([]);
        expect(await store.countPending('touches:0')).toBe(0);
        await store.releasePending('touches:0', []);
        expect(await store.countPending('touches:0')).toBe(0);
      });

      it('writes the marks with the changes of the same apply, each with its reason and markedAt', async () => {
        await store.apply(
          changes({ opportunities: [{ record: live('O1', 'A1', 5n, 1, T + 10), previousAccountId: null }] }),
          NO_TRIM,
          marks('opportunities:2', T + 500, ['O1', 'opportunity_changed', T + 10], ['O9', 'touch', T - 3]),
        );
        expect((await store.loadOpportunities(['O1'])).get('O1')).toEqual(live('O1', 'A1', 5n, 1, T + 10));
        expect(await store.countPending('opportunities:2')).toBe(2);
        expect(seen(await store.claimPending('opportunities:2', Infinity, 10))).toEqual([
          ['O9', 'touch', T + 500],
          ['O1', 'opportunity_changed', T + 500],
        ]);
      });

      it('writes no marks when apply is given none, or marks with nothing affected', async () => {
        await store.apply(newTouches(tp('t1', 'C1', T)), NO_TRIM);
        await store.apply(newTouches(tp('t2', 'C1', T)), NO_TRIM, marks('touches:0', T));
        expect(await store.countPending('touches:0')).toBe(0);
        expect(await store.claimPending('touches:0', Infinity, 10)).toEqual([]);
        expect(await history('C1')).toEqual(['t1', 't2']);
      });

      it('keeps the pending set of each source separate', async () => {
        await mark(marks('touches:0', T + 1, ['O1', 'touch', T], ['O2', 'touch', T + 1]));
        await mark(
          marks('touches:1', T + 2, ['O2', 'contact_changed', T + 1], ['O3', 'contact_changed', T + 2]),
        );
        expect(await store.countPending('touches:0')).toBe(2);
        expect(await store.countPending('touches:1')).toBe(2);
        expect(await store.countPending('contacts:0')).toBe(0);
        expect(seen(await store.claimPending('touches:1', Infinity, 10))).toEqual([
          ['O2', 'contact_changed', T + 2],
          ['O3', 'contact_changed', T + 2],
        ]);

        // Draining one source leaves the other's entry for the same opportunity where it is.
        await store.releasePending('touches:0', await store.claimPending('touches:0', Infinity, 10));
        expect(await store.countPending('touches:0')).toBe(0);
        expect(await store.countPending('touches:1')).toBe(2);
        expect(await claimed('touches:1')).toEqual(['O2', 'O3']);
      });

      it('keeps the first markedAt and reason when an opportunity is marked again before it is drained', async () => {
        await mark(marks('touches:0', T + 100, ['O1', 'touch', T]));
        await mark(
          marks('touches:0', T + 200, ['O1', 'contact_changed', T], ['O2', 'opportunity_changed', T + 1]),
        );
        await mark(marks('touches:0', T + 300, ['O1', 'opportunity_changed', T]));
        expect(await store.countPending('touches:0')).toBe(2);
        expect(seen(await store.claimPending('touches:0', Infinity, 10))).toEqual([
          ['O1', 'touch', T + 100],
          ['O2', 'opportunity_changed', T + 200],
        ]);
      });

      it('orders an entry by the createdAt of its latest mark (a deletion drains at once)', async () => {
        await mark(
          marks(
            'opportunities:0',
            T,
            ['O1', 'opportunity_changed', T + 10],
            ['O2', 'opportunity_changed', T + 20],
          ),
        );
        expect(await claimed('opportunities:0')).toEqual(['O1', 'O2']);
        await mark(marks('opportunities:0', T + 1, ['O2', 'opportunity_deleted', DRAIN_AT_ONCE]));
        expect(await claimed('opportunities:0')).toEqual(['O2', 'O1']);
        expect(await claimed('opportunities:0', T)).toEqual(['O2']);
        // The first mark's reason and time stay; only the order moved.
        expect(seen(await store.claimPending('opportunities:0', T, 10))).toEqual([
          ['O2', 'opportunity_changed', T],
        ]);
      });

      it('claims only entries created at or before upTo, oldest first, at most limit, and removes none', async () => {
        await mark(
          marks(
            'touches:0',
            T + 1_000,
            ['O-a', 'touch', T + 30],
            ['O-b', 'touch', T + 10],
            ['O-d', 'touch', T + 40],
            ['O-gone', 'opportunity_deleted', DRAIN_AT_ONCE],
            ['O-c2', 'touch', T + 20],
            ['O-c1', 'touch', T + 20],
            ['O-old', 'touch', -86_400_000],
          ),
        );
        expect(await claimed('touches:0')).toEqual(['O-gone', 'O-old', 'O-b', 'O-c1', 'O-c2', 'O-a', 'O-d']);
        // upTo is inclusive.
        expect(await claimed('touches:0', T + 30)).toEqual(['O-gone', 'O-old', 'O-b', 'O-c1', 'O-c2', 'O-a']);
        expect(await claimed('touches:0', T + 29)).toEqual(['O-gone', 'O-old', 'O-b', 'O-c1', 'O-c2']);
        expect(await claimed('touches:0', T + 30, 3)).toEqual(['O-gone', 'O-old', 'O-b']);
        expect(await claimed('touches:0', T + 30, 1)).toEqual(['O-gone']);
        expect(await claimed('touches:0', T + 9)).toEqual(['O-gone', 'O-old']);
        expect(await claimed('touches:0', Number.MIN_SAFE_INTEGER)).toEqual(['O-gone']);
        expect(await claimed('touches:0', -Infinity)).toEqual([]);
        // Claiming is a read: everything is still pending, and claiming again sees the same.
        expect(await store.countPending('touches:0')).toBe(7);
        expect(await claimed('touches:0', T + 30, 3)).toEqual(['O-gone', 'O-old', 'O-b']);
      });

      it('release removes the claimed entries and only those; releasing them again is harmless', async () => {
        await mark(
          marks('touches:0', T, ['O1', 'touch', T + 1], ['O2', 'touch', T + 2], ['O3', 'touch', T + 3]),
        );
        const first = await store.claimPending('touches:0', Infinity, 2);
        expect(first.map((c) => c.opportunityId)).toEqual(['O1', 'O2']);
        await store.releasePending('touches:0', first);
        expect(await store.countPending('touches:0')).toBe(1);
        expect(await claimed('touches:0')).toEqual(['O3']);
        await store.releasePending('touches:0', first);
        expect(await store.countPending('touches:0')).toBe(1);
        // Released claims of another source remove nothing here.
        await store.releasePending('touches:1', await store.claimPending('touches:0', Infinity, 10));
        expect(await store.countPending('touches:0')).toBe(1);
      });

      it('keeps an entry marked again between its claim and its release; the next drain removes it', async () => {
        await mark(marks('touches:0', T + 100, ['O1', 'touch', T], ['O2', 'touch', T + 1]));
        const claims = await store.claimPending('touches:0', Infinity, 10);
        expect(seen(claims)).toEqual([
          ['O1', 'touch', T + 100],
          ['O2', 'touch', T + 100],
        ]);
        // A batch marks O1 while the drain is computing its answer from older state.
        await mark(marks('touches:0', T + 200, ['O1', 'contact_changed', T]));
        await store.releasePending('touches:0', claims);
        expect(await store.countPending('touches:0')).toBe(1);
        const again = await store.claimPending('touches:0', Infinity, 10);
        // Never drained since its first mark: latency still counts from there.
        expect(seen(again)).toEqual([['O1', 'touch', T + 100]]);
        await store.releasePending('touches:0', again);
        expect(await store.countPending('touches:0')).toBe(0);
      });

      it('starts afresh, with the new reason and markedAt, once an entry was released', async () => {
        await mark(marks('touches:0', T + 100, ['O1', 'touch', T]));
        await store.releasePending('touches:0', await store.claimPending('touches:0', Infinity, 10));
        await mark(marks('touches:0', T + 900, ['O1', 'contact_changed', T]));
        expect(seen(await store.claimPending('touches:0', Infinity, 10))).toEqual([
          ['O1', 'contact_changed', T + 900],
        ]);
      });

      it('a claim released late removes nothing marked after it, even an identical mark of a redelivered batch', async () => {
        await mark(marks('touches:0', T, ['O1', 'touch', T]));
        const stale = await store.claimPending('touches:0', Infinity, 10);
        // Another drainer (the partition's next owner) claims and releases the same entry…
        await store.releasePending('touches:0', await store.claimPending('touches:0', Infinity, 10));
        // …then the batch is redelivered: the same opportunity, reason, createdAt and markedAt.
        await mark(marks('touches:0', T, ['O1', 'touch', T]));
        await store.releasePending('touches:0', stale);
        expect(await store.countPending('touches:0')).toBe(1);
        expect(seen(await store.claimPending('touches:0', Infinity, 10))).toEqual([['O1', 'touch', T]]);
      });

      it('keeps ids and sources with odd text apart', async () => {
        const id = 'O:1 "q" é {x}';
        await mark(marks('touches:0', T, [id, 'touch', T], ['O:1', 'touch', T + 1]));
        await mark(marks('touches:0:', T, ['O:2', 'touch', T]));
        expect(await claimed('touches:0')).toEqual([id, 'O:1']);
        expect(await claimed('touches:0:')).toEqual(['O:2']);
        await store.releasePending('touches:0', await store.claimPending('touches:0', Infinity, 1));
        expect(await claimed('touches:0')).toEqual(['O:1']);
      });

      it('marks, claims and releases 2,500 opportunities in one call each', async () => {
        const entries = Array.from({ length: 2_500 }, (_, i): [string, string, number] => [
          `O${String(i).padStart(4, '0')}`,
          'touch',
          T + 2_500 - i,
        ]);
        await mark(marks('touches:0', T, ...entries));
        expect(await store.countPending('touches:0')).toBe(2_500);
        const claims = await store.claimPending('touches:0', T + 1_000, 2_000);
        // createdAt T + 1 (O2499) … T + 1000 (O1500), oldest first.
        expect(claims).toHaveLength(1_000);
        expect(claims[0]?.opportunityId).toBe('O2499');
        expect(claims[999]?.opportunityId).toBe('O1500');
        const all = await store.claimPending('touches:0', Infinity, 2_000);
        expect(all).toHaveLength(2_000);
        await store.releasePending('touches:0', all);
        expect(await store.countPending('touches:0')).toBe(500);
        expect((await store.claimPending('touches:0', Infinity, 2_000)).map((c) => c.opportunityId)).toEqual(
          entries
            .slice(0, 500)
            .map(([id]) => id)
            .reverse(),
        );
      });
    });

    describe('watermark', () => {
      it('starts a source at the first event time given, even before 1970, and returns just that source', async () => {
        expect(await store.advanceWatermark('touches:0', -86_400_000)).toEqual(
          new Map([['touches:0', -86_400_000]]),
        );
      });

      it('never moves a source back', async () => {
        const of = async (eventTime: number): Promise<number | undefined> =>
          (await store.advanceWatermark('touches:0', eventTime)).get('touches:0');
        expect(await of(T)).toBe(T);
        expect(await of(T - 50)).toBe(T);
        expect(await of(T + 200)).toBe(T + 200);
        expect(await of(T + 200)).toBe(T + 200);
        expect(await of(0)).toBe(T + 200);
      });

      it('keeps sources independent and returns every one of them', async () => {
        const MONTH = 30 * 86_400_000;
        await store.advanceWatermark('touches:0', T + 3 * MONTH);
        expect(await store.advanceWatermark('contacts:0', T)).toEqual(
          new Map([
            ['touches:0', T + 3 * MONTH],
            ['contacts:0', T],
          ]),
        );
        // A source far behind neither lowers nor is raised by one far ahead.
        expect(await store.advanceWatermark('touches:1', T - MONTH)).toEqual(
          new Map([
            ['touches:0', T + 3 * MONTH],
            ['contacts:0', T],
            ['touches:1', T - MONTH],
          ]),
        );
        expect(await store.advanceWatermark('contacts:0', T + 1)).toEqual(
          new Map([
            ['touches:0', T + 3 * MONTH],
            ['contacts:0', T + 1],
            ['touches:1', T - MONTH],
          ]),
        );
      });

      it('keeps safe-integer instants exact', async () => {
        await store.advanceWatermark('min', Number.MIN_SAFE_INTEGER);
        expect(await store.advanceWatermark('max', Number.MAX_SAFE_INTEGER - 1)).toEqual(
          new Map([
            ['min', Number.MIN_SAFE_INTEGER],
            ['max', Number.MAX_SAFE_INTEGER - 1],
          ]),
        );
        expect((await store.advanceWatermark('max', Number.MAX_SAFE_INTEGER)).get('max')).toBe(
          Number.MAX_SAFE_INTEGER,
        );
      });

      it('ends each source at its maximum when many calls on two sources race', async () => {
        const calls = [T + 3, T + 17, T - 4, T + 9, T + 16, T, T + 1, T + 12].flatMap((t, i) => [
          { source: 'touches:0', eventTime: t },
          { source: 'contacts:0', eventTime: t - 1_000 * i },
        ]);
        const seen = await Promise.all(calls.map((c) => store.advanceWatermark(c.source, c.eventTime)));
        seen.forEach((all, i) => {
          const call = calls[i];
          expect(all.get(call?.source ?? '')).toBeGreaterThanOrEqual(call?.eventTime ?? Infinity);
        });
        expect(await store.advanceWatermark('touches:0', 0)).toEqual(
          new Map([
            ['touches:0', T + 17],
            ['contacts:0', T + 3],
          ]),
        );
      });

      it('refuses a non-finite event time and records nothing for it', async () => {
        await expect(store.advanceWatermark('touches:0', Number.NaN)).rejects.toThrow(RangeError);
        await expect(store.advanceWatermark('touches:0', Infinity)).rejects.toThrow(RangeError);
        await expect(store.advanceWatermark('touches:1', -Infinity)).rejects.toThrow(RangeError);
        expect(await store.advanceWatermark('contacts:0', T)).toEqual(new Map([['contacts:0', T]]));
      });
    });

    describe('in bulk', () => {
      it('applies 5,000 changes in one call and reads 1,000 histories back in one call', async () => {
        const contactIds = Array.from({ length: 1_000 }, (_, i) => `C${i}`);
        const touches = contactIds.flatMap((c, i) => [
          tp(`${c}-b`, c, T + i),
          tp(`${c}-a`, c, T + i),
          tp(`${c}-c`, c, T - 1),
        ]);
        await store.apply(
          changes({
            touches: touches.map((touch) => ({ touch, replaced: null })),
            contacts: contactIds.map((id, i) => ({
              contact: { id, accountId: `A${i % 10}`, version: 1 },
              previousAccountId: null,
            })),
            opportunities: contactIds.map((_, i) => ({
              record: live(`O${i}`, `A${i % 10}`, BigInt(i)),
              previousAccountId: null,
            })),
          }),
          T,
        );
        const histories = await store.loadTouchHistories(contactIds, -Infinity, Infinity);
        expect(histories.size).toBe(1_000);
        expect(ids(histories.get('C0'))).toEqual(['C0-a', 'C0-b']);
        expect(histories.get('C999')?.map((t) => t.occurredAt)).toEqual([T + 999, T + 999]);
        expect([...histories.values()].every((list) => list.length === 2)).toBe(true);
        expect((await store.loadTouches(touches.map((t) => t.id))).size).toBe(2_000);
        expect((await store.loadAccountContacts(['A3'])).get('A3')).toHaveLength(100);
        expect((await store.loadAccountOpportunities(['A3'])).get('A3')?.size).toBe(100);
        expect((await store.loadAccountOpportunities(['A3'])).get('A3')?.get('O993')).toBe(T);
        expect((await store.loadOpportunities(['O999'])).get('O999')).toEqual(live('O999', 'A9', 999n));
      });
    });
  });
}
