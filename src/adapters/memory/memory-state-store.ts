import type { PendingMarks, StateChanges, StateStore } from '../../app/ports.js';
import type { OpportunityRecord } from '../../domain/decide.js';
import { compareTouches, sameTouch, type Contact, type Touch } from '../../domain/events.js';
import type { RateRow } from '../../domain/fx.js';
import type { Instant } from '../../domain/time.js';

/**
 * The in-memory StateStore: the fake the streaming use cases are unit-tested with. It passes the
 * same contract suite as the Redis adapter, so it behaves like it — trimming, tombstones, sorted
 * id lists and all — except that nothing survives the process.
 */
export function createMemoryStateStore(): StateStore {
  const touches = new Map<string, Touch>();
  /** contact id → touch id → touch */
  const histories = new Map<string, Map<string, Touch>>();
  const contacts = new Map<string, Contact>();
  const accountContacts = new Map<string, Set<string>>();
  const opportunities = new Map<string, OpportunityRecord>();
  /** account → live opportunity id → createdAt */
  const accountOpportunities = new Map<string, Map<string, Instant>>();
  /** source → opportunity id → pending entry (score = createdAt; a new seq on every mark) */
  type PendingEntry = { score: number; seq: number; markedAt: number; reason: string };
  const pending = new Map<string, Map<string, PendingEntry>>();
  /** The last seq handed out: never reused, so a claim of an entry since released and re-marked removes nothing. */
  let lastSeq = 0;
  /** source → event-time watermark */
  const watermarks = new Map<string, Instant>();
  /** "CUR|date" → rate; currency → opportunity id → createdAt (never removed, like Redis'). */
  const rates = new Map<string, RateRow>();
  const currencyOpportunities = new Map<string, Map<string, Instant>>();
  const pendingFx = new Set<string>();

  const entry = <V>(index: Map<string, V>, key: string, make: () => V): V => {
    let value = index.get(key);
    if (value === undefined) {
      value = make();
      index.set(key, value);
    }
    return value;
  };
  const removeFrom = (index: Map<string, Set<string>>, key: string, member: string): void => {
    const set = index.get(key);
    set?.delete(member);
    if (set?.size === 0) index.delete(key);
  };
  const pick = <V>(source: Map<string, V>, ids: readonly string[]): Map<string, V> => {
    const found = new Map<string, V>();
    for (const id of ids) {
      const value = source.get(id);
      if (value !== undefined) found.set(id, value);
    }
    return found;
  };
  const members = (index: Map<string, Set<string>>, ids: readonly string[]): Map<string, string[]> =>
    new Map(ids.map((id) => [id, [...(index.get(id) ?? [])].sort()] as const));

  function writeTouches(changes: StateChanges): Set<string> {
    const written = new Set<string>();
    for (const { touch, replaced } of changes.touches) {
      if (replaced !== null) {
        const history = histories.get(replaced.contactId);
        const stored = history?.get(replaced.id);
        // Like a ZREM of the exact member: only the touch as it was stored is unlinked.
        if (stored !== undefined && sameTouch(stored, replaced)) history?.delete(replaced.id);
        written.add(replaced.contactId);
      }
      entry(histories, touch.contactId, () => new Map<string, Touch>()).set(touch.id, touch);
      touches.set(touch.id, touch);
      written.add(touch.contactId);
    }
    return written;
  }

  function trim(contactIds: Iterable<string>, trimBefore: Instant): void {
    for (const contactId of contactIds) {
      const history = histories.get(contactId);
      if (history === undefined) continue;
      for (const [id, touch] of history) {
        if (touch.occurredAt >= trimBefore) continue;
        history.delete(id);
        const stored = touches.get(id);
        // A touch since moved to another contact or time under this id is not this one.
        if (stored !== undefined && stored.contactId === contactId && stored.occurredAt < trimBefore)
          touches.delete(id);
      }
      if (history.size === 0) histories.delete(contactId);
    }
  }

  return {
    loadTouches: (ids) => Promise.resolve(pick(touches, ids)),
    loadContacts: (ids) => Promise.resolve(pick(contacts, ids)),
    loadOpportunities: (ids) => Promise.resolve(pick(opportunities, ids)),
    loadAccountContacts: (accountIds) => Promise.resolve(members(accountContacts, accountIds)),
    loadAccountOpportunities: (accountIds) =>
      Promise.resolve(
        new Map(accountIds.map((id) => [id, new Map(accountOpportunities.get(id) ?? [])] as const)),
      ),

    loadTouchHistories(contactIds, from, to) {
      if (Number.isNaN(from) || Number.isNaN(to))
        return Promise.reject(new RangeError('history bounds must not be NaN'));
      const found = new Map<string, Touch[]>();
      for (const contactId of contactIds) {
        const history = [...(histories.get(contactId)?.values() ?? [])];
        found.set(
          contactId,
          history.filter((t) => t.occurredAt >= from && t.occurredAt <= to).sort(compareTouches),
        );
      }
      return Promise.resolve(found);
    },

    apply(changes, trimBefore, marks, keep) {
      if (Number.isNaN(trimBefore)) return Promise.reject(new RangeError('trimBefore is NaN'));
      const written = writeTouches(changes);
      for (const { contact, previousAccountId } of changes.contacts) {
        if (previousAccountId !== null) removeFrom(accountContacts, previousAccountId, contact.id);
        if (contact.accountId !== null)
          entry(accountContacts, contact.accountId, () => new Set<string>()).add(contact.id);
        contacts.set(contact.id, contact);
      }
      for (const { record, previousAccountId } of changes.opportunities) {
        const id = record.kind === 'live' ? record.opportunity.id : record.id;
        if (previousAccountId !== null) {
          const byId = accountOpportunities.get(previousAccountId);
          byId?.delete(id);
          if (byId?.size === 0) accountOpportunities.delete(previousAccountId);
        }
        if (record.kind === 'live') {
          entry(accountOpportunities, record.opportunity.accountId, () => new Map<string, Instant>()).set(
            id,
            record.opportunity.createdAt,
          );
          const currency = record.opportunity.currency;
          if (currency !== undefined)
            entry(currencyOpportunities, currency, () => new Map<string, Instant>()).set(
              id,
              record.opportunity.createdAt,
            );
        }
        opportunities.set(id, record);
      }
      const markSets =
        marks === undefined
          ? []
          : Array.isArray(marks)
            ? (marks as readonly PendingMarks[])
            : [marks as PendingMarks];
      for (const marks of markSets) {
        const set = entry(pending, marks.source, () => new Map<string, PendingEntry>());
        const seq = (lastSeq += 1);
        for (const [id, { createdAt, reason }] of marks.affected) {
          const current = set.get(id);
          set.set(
            id,
            current === undefined
              ? { score: createdAt, seq, markedAt: marks.markedAt, reason }
              : { ...current, score: createdAt, seq },
          );
        }
      }
      // After the marks, as the Redis store trims in its transaction after them.
      let bound = trimBefore;
      for (const source of keep?.pendingSources ?? [])
        for (const { score } of pending.get(source)?.values() ?? [])
          bound = Math.min(bound, score - (keep?.windowMs ?? 0));
      trim(written, bound);
      return Promise.resolve();
    },

    claimPending(source, upTo, limit) {
      const entries = [...(pending.get(source) ?? [])]
        .filter(([, e]) => e.score <= upTo)
        // Like ZRANGEBYSCORE: by score, then by member bytes (ids here are ASCII in tests).
        .sort(([a, x], [b, y]) => x.score - y.score || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit);
      return Promise.resolve(
        entries.map(([opportunityId, e]) => ({
          opportunityId,
          token: String(e.seq),
          reason: e.reason,
          markedAt: e.markedAt,
        })),
      );
    },
    releasePending(source, claims) {
      const set = pending.get(source);
      for (const claim of claims) {
        if (set !== undefined && String(set.get(claim.opportunityId)?.seq) === claim.token)
          set.delete(claim.opportunityId);
      }
      return Promise.resolve();
    },
    countPending: (source) => Promise.resolve(pending.get(source)?.size ?? 0),
    applyRates(rows) {
      for (const row of rows) rates.set(`${row.currency}|${row.date}`, row);
      return Promise.resolve();
    },
    loadRates(currencies) {
      const wanted = new Set(currencies);
      return Promise.resolve([...rates.values()].filter((r) => wanted.has(r.currency)));
    },
    currencyOpportunities(currency, from) {
      const found = new Map<string, Instant>();
      for (const [id, createdAt] of currencyOpportunities.get(currency) ?? [])
        if (createdAt >= from) found.set(id, createdAt);
      return Promise.resolve(found);
    },
    notePendingFx(waiting, settled) {
      for (const id of settled) pendingFx.delete(id);
      for (const id of waiting) pendingFx.add(id);
      return Promise.resolve(pendingFx.size);
    },
    countPendingFx: () => Promise.resolve(pendingFx.size),
    scanOpportunities(cursor, count) {
      const all = [...opportunities.values()];
      const from = Number(cursor);
      const to = Math.min(all.length, from + Math.max(1, count));
      return Promise.resolve({ next: to >= all.length ? '0' : String(to), records: all.slice(from, to) });
    },

    advanceWatermark(source, eventTime) {
      if (!Number.isFinite(eventTime))
        return Promise.reject(new RangeError(`watermark event time must be finite, got ${eventTime}`));
      const current = watermarks.get(source);
      if (current === undefined || current < eventTime) watermarks.set(source, eventTime);
      return Promise.resolve(new Map(watermarks));
    },
  };
}
