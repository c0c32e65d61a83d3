import type { OpportunityRecord } from '../domain/decide.js';
import { compareTouches, type Contact, type Touch } from '../domain/events.js';
import type { Instant } from '../domain/time.js';

/**
 * The one state model of Touchline, synchronous. Batch keeps the whole dataset in one; streaming
 * loads, per Kafka batch, just the part the batch reads (see StateStore.loadForEvents) and writes
 * back the changes `applyEvents` records. Every read is a plain Map lookup, so the core runs
 * with no await per event.
 *
 * What it indexes, once, for everyone: contact → account and account → contacts; opportunity →
 * account and account → (live opportunity → created_at); contact → touches, sorted by
 * (occurred_at, id) so the window is two binary searches.
 */
export interface WorkingState {
  touch(id: string): Touch | undefined;
  contact(id: string): Contact | undefined;
  opportunity(id: string): OpportunityRecord | undefined;
  /** Contact ids of the account (only those known to this state). */
  contactsOf(accountId: string): ReadonlySet<string>;
  /** Live opportunities of the account with their creation instants. */
  opportunitiesOf(accountId: string): ReadonlyMap<string, Instant>;
  /** The contact's touches with from ≤ occurredAt ≤ to, in (occurredAt, id) order. */
  touchesOf(contactId: string, from: Instant, to: Instant): readonly Touch[];

  /** Stores a touch (replacing any under its id) and moves it between contact histories. */
  putTouch(touch: Touch): void;
  putContact(contact: Contact): void;
  putOpportunity(record: OpportunityRecord): void;

  /** For batch: every stored opportunity record, and every contact id that has touches. */
  opportunityRecords(): IterableIterator<OpportunityRecord>;
  contactsWithTouches(): IterableIterator<string>;
}

/** What a loaded snapshot starts from; ids absent from a map are unknown to the store. */
export interface StateSeed {
  readonly touches?: Iterable<Touch>;
  readonly contacts?: Iterable<Contact>;
  readonly opportunities?: Iterable<OpportunityRecord>;
  /** account → its live opportunities' created_at (may name opportunities not in `opportunities`). */
  readonly accountOpportunities?: ReadonlyMap<string, ReadonlyMap<string, Instant>>;
  /** account → contact ids (may name contacts not in `contacts`). */
  readonly accountContacts?: ReadonlyMap<string, readonly string[]>;
}

export const opportunityIdOf = (record: OpportunityRecord): string =>
  record.kind === 'live' ? record.opportunity.id : record.id;

const EMPTY_SET: ReadonlySet<string> = new Set();
const EMPTY_MAP: ReadonlyMap<string, Instant> = new Map();
const EMPTY: readonly Touch[] = [];

/** First index whose touch is not before (at, id ''), i.e. the first with occurredAt ≥ at. */
function lowerBound(list: readonly Touch[], at: Instant): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Touch).occurredAt < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with occurredAt > at. */
function upperBound(list: readonly Touch[], at: Instant): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Touch).occurredAt <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createWorkingState(seed: StateSeed = {}): WorkingState {
  const touches = new Map<string, Touch>();
  /** Sorted lazily: appends in time order (the common case) keep `sorted` true. */
  const histories = new Map<string, { list: Touch[]; sorted: boolean }>();
  const contacts = new Map<string, Contact>();
  const accountContacts = new Map<string, Set<string>>();
  const opportunities = new Map<string, OpportunityRecord>();
  const accountOpportunities = new Map<string, Map<string, Instant>>();

  const historyOf = (contactId: string): { list: Touch[]; sorted: boolean } => {
    let history = histories.get(contactId);
    if (history === undefined) {
      history = { list: [], sorted: true };
      histories.set(contactId, history);
    }
    return history;
  };
  const addToHistory = (touch: Touch): void => {
    const history = historyOf(touch.contactId);
    const last = history.list[history.list.length - 1];
    if (last !== undefined && compareTouches(last, touch) > 0) history.sorted = false;
    history.list.push(touch);
  };
  const removeFromHistory = (touch: Touch): void => {
    const history = histories.get(touch.contactId);
    if (history === undefined) return;
    const at = history.list.findIndex((t) => t.id === touch.id);
    if (at >= 0) history.list.splice(at, 1);
  };
  const setOf = (accountId: string): Set<string> => {
    let set = accountContacts.get(accountId);
    if (set === undefined) {
      set = new Set();
      accountContacts.set(accountId, set);
    }
    return set;
  };
  const oppsOf = (accountId: string): Map<string, Instant> => {
    let map = accountOpportunities.get(accountId);
    if (map === undefined) {
      map = new Map();
      accountOpportunities.set(accountId, map);
    }
    return map;
  };

  for (const touch of seed.touches ?? []) touches.set(touch.id, touch);
  for (const touch of touches.values()) addToHistory(touch);
  for (const contact of seed.contacts ?? []) contacts.set(contact.id, contact);
  for (const [accountId, ids] of seed.accountContacts ?? []) for (const id of ids) setOf(accountId).add(id);
  for (const contact of contacts.values())
    if (contact.accountId !== null) setOf(contact.accountId).add(contact.id);
  for (const record of seed.opportunities ?? []) opportunities.set(opportunityIdOf(record), record);
  for (const [accountId, byId] of seed.accountOpportunities ?? []) {
    for (const [id, createdAt] of byId) oppsOf(accountId).set(id, createdAt);
  }

  return {
    touch: (id) => touches.get(id),
    contact: (id) => contacts.get(id),
    opportunity: (id) => opportunities.get(id),
    contactsOf: (accountId) => accountContacts.get(accountId) ?? EMPTY_SET,
    opportunitiesOf: (accountId) => accountOpportunities.get(accountId) ?? EMPTY_MAP,
    touchesOf(contactId, from, to) {
      const history = histories.get(contactId);
      if (history === undefined) return EMPTY;
      if (!history.sorted) {
        history.list.sort(compareTouches);
        history.sorted = true;
      }
      const start = lowerBound(history.list, from);
      const end = upperBound(history.list, to);
      return start === 0 && end === history.list.length ? history.list : history.list.slice(start, end);
    },

    putTouch(touch) {
      const replaced = touches.get(touch.id);
      if (replaced !== undefined) removeFromHistory(replaced);
      touches.set(touch.id, touch);
      addToHistory(touch);
    },
    putContact(contact) {
      const previous = contacts.get(contact.id)?.accountId ?? null;
      if (previous !== null) accountContacts.get(previous)?.delete(contact.id);
      contacts.set(contact.id, contact);
      if (contact.accountId !== null) setOf(contact.accountId).add(contact.id);
    },
    putOpportunity(record) {
      const id = opportunityIdOf(record);
      const previous = opportunities.get(id);
      if (previous?.kind === 'live') accountOpportunities.get(previous.opportunity.accountId)?.delete(id);
      opportunities.set(id, record);
      if (record.kind === 'live') oppsOf(record.opportunity.accountId).set(id, record.opportunity.createdAt);
    },

    opportunityRecords: () => opportunities.values(),
    contactsWithTouches: () => histories.keys(),
  };
}
