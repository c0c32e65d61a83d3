import type { OpportunityRecord } from '../domain/decide.js';
import type { Contact, DomainEvent, Opportunity, Touch } from '../domain/events.js';
import type { Instant } from '../domain/time.js';
import type { AttributionState, StateChanges, StateStore } from './ports.js';

export interface StateSession extends AttributionState {
  /** Loads, in a few bulk round trips, what applying these events will read. */
  prefetch(events: readonly DomainEvent[]): Promise<void>;
  /** Loads these contacts, their accounts and the accounts' opportunities (what tracking reads). */
  prefetchAccountsOf(contactIds: readonly string[], extraAccounts?: readonly string[]): Promise<void>;
  /** Loads what attributing these opportunities will read. */
  prefetchForAttribution(opportunityIds: readonly string[]): Promise<void>;
  /** Writes every buffered change in one go. */
  flush(trimBefore: Instant): Promise<void>;
}

type Changes = { -readonly [K in keyof StateChanges]: StateChanges[K][number][] };

const opportunityIdOf = (record: OpportunityRecord): string => (record.kind === 'live' ? record.opportunity.id : record.id);
const accountOfRecord = (record: OpportunityRecord | null | undefined): string | null =>
  record?.kind === 'live' ? record.opportunity.accountId : null;

/**
 * The AttributionState of one Kafka batch: a read-through, write-back cache over a StateStore.
 * applyEvent and the attribution use case run unchanged against it, one event at a time, while
 * the store sees a handful of pipelined round trips per batch instead of several per event.
 */
export function createStateSession(store: StateStore): StateSession {
  const touches = new Map<string, Touch | null>();
  const contacts = new Map<string, Contact | null>();
  const opportunities = new Map<string, OpportunityRecord | null>();
  const accountContacts = new Map<string, Set<string>>();
  const accountOpportunities = new Map<string, Set<string>>();
  /** Full retained history per contact, including touches added in this session. */
  const histories = new Map<string, Map<string, Touch>>();
  const changes: Changes = { touches: [], contacts: [], opportunities: [] };

  const missing = <V>(cache: Map<string, V>, ids: Iterable<string>): string[] => [...new Set(ids)].filter((id) => !cache.has(id));

  async function loadTouches(ids: Iterable<string>): Promise<void> {
    const want = missing(touches, ids);
    if (want.length === 0) return;
    const found = await store.loadTouches(want);
    for (const id of want) touches.set(id, found.get(id) ?? null);
  }
  async function loadContacts(ids: Iterable<string>): Promise<void> {
    const want = missing(contacts, ids);
    if (want.length === 0) return;
    const found = await store.loadContacts(want);
    for (const id of want) contacts.set(id, found.get(id) ?? null);
  }
  async function loadOpportunities(ids: Iterable<string>): Promise<void> {
    const want = missing(opportunities, ids);
    if (want.length === 0) return;
    const found = await store.loadOpportunities(want);
    for (const id of want) opportunities.set(id, found.get(id) ?? null);
  }
  async function loadAccounts(ids: Iterable<string>): Promise<void> {
    const wantContacts = missing(accountContacts, ids);
    const wantOpportunities = missing(accountOpportunities, ids);
    const [byContacts, byOpportunities] = await Promise.all([
      wantContacts.length === 0 ? new Map<string, string[]>() : store.loadAccountContacts(wantContacts),
      wantOpportunities.length === 0 ? new Map<string, string[]>() : store.loadAccountOpportunities(wantOpportunities),
    ]);
    for (const id of wantContacts) accountContacts.set(id, new Set(byContacts.get(id) ?? []));
    for (const id of wantOpportunities) accountOpportunities.set(id, new Set(byOpportunities.get(id) ?? []));
  }
  async function loadHistories(ids: Iterable<string>): Promise<void> {
    const want = missing(histories, ids);
    if (want.length === 0) return;
    const found = await store.loadTouchHistories(want, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    for (const id of want) histories.set(id, new Map((found.get(id) ?? []).map((t) => [t.id, t] as const)));
    // Changes not yet flushed are part of the history too.
    for (const { touch, replaced } of changes.touches) {
      if (replaced !== null && want.includes(replaced.contactId)) histories.get(replaced.contactId)?.delete(replaced.id);
      if (want.includes(touch.contactId)) histories.get(touch.contactId)?.set(touch.id, touch);
    }
  }
  const setOf = (index: Map<string, Set<string>>, key: string): Set<string> => {
    let set = index.get(key);
    if (set === undefined) {
      set = new Set();
      index.set(key, set);
    }
    return set;
  };

  return {
    async prefetch(events) {
      const touchIds: string[] = [];
      const contactIds: string[] = [];
      const opportunityIds: string[] = [];
      for (const event of events) {
        if (event.kind === 'touch') {
          touchIds.push(event.touch.id);
          contactIds.push(event.touch.contactId);
        } else if (event.kind === 'contact') contactIds.push(event.contact.id);
        else opportunityIds.push(event.kind === 'opportunity' ? event.opportunity.id : event.deletion.id);
      }
      await Promise.all([loadTouches(touchIds), loadContacts(contactIds), loadOpportunities(opportunityIds)]);
      // Replaced touches may sit on other contacts; their accounts are read too.
      const replacedOn = touchIds.flatMap((id) => { const t = touches.get(id); return t ? [t.contactId] : []; });
      const moving = events.flatMap((e) => (e.kind === 'contact' && e.contact.accountId !== null ? [e.contact.accountId] : []));
      await this.prefetchAccountsOf([...contactIds, ...replacedOn], moving);
    },

    async prefetchAccountsOf(contactIds, extraAccounts: readonly string[] = []) {
      await loadContacts(contactIds);
      const accounts = new Set<string>(extraAccounts);
      for (const id of contactIds) {
        const accountId = contacts.get(id)?.accountId;
        if (accountId != null) accounts.add(accountId);
      }
      await loadAccounts(accounts);
      await loadOpportunities([...accounts].flatMap((a) => [...(accountOpportunities.get(a) ?? [])]));
    },

    async prefetchForAttribution(opportunityIds) {
      await loadOpportunities(opportunityIds);
      const accounts = opportunityIds.flatMap((id) => { const a = accountOfRecord(opportunities.get(id)); return a === null ? [] : [a]; });
      await loadAccounts(accounts);
      await loadHistories(accounts.flatMap((a) => [...(accountContacts.get(a) ?? [])]));
    },

    async flush(trimBefore) {
      if (changes.touches.length + changes.contacts.length + changes.opportunities.length === 0) return;
      await store.apply(changes, trimBefore);
      changes.touches = [];
      changes.contacts = [];
      changes.opportunities = [];
    },

    async getTouch(id) {
      await loadTouches([id]);
      return touches.get(id) ?? null;
    },
    async putTouch(touch) {
      const replaced = (await this.getTouch(touch.id)) ?? null;
      if (replaced !== null) histories.get(replaced.contactId)?.delete(touch.id);
      touches.set(touch.id, touch);
      histories.get(touch.contactId)?.set(touch.id, touch);
      changes.touches.push({ touch, replaced });
    },
    async touchesOfContacts(contactIds, from, to) {
      await loadHistories(contactIds);
      const found: Touch[] = [];
      for (const id of contactIds) {
        for (const touch of histories.get(id)?.values() ?? []) if (touch.occurredAt >= from && touch.occurredAt <= to) found.push(touch);
      }
      return found;
    },

    async getContact(id) {
      await loadContacts([id]);
      return contacts.get(id) ?? null;
    },
    async putContact(contact) {
      const previousAccountId = (await this.getContact(contact.id))?.accountId ?? null;
      if (previousAccountId !== null) {
        await loadAccounts([previousAccountId]);
        accountContacts.get(previousAccountId)?.delete(contact.id);
      }
      if (contact.accountId !== null) {
        await loadAccounts([contact.accountId]);
        setOf(accountContacts, contact.accountId).add(contact.id);
      }
      contacts.set(contact.id, contact);
      changes.contacts.push({ contact, previousAccountId });
    },
    async contactsOfAccount(accountId) {
      await loadAccounts([accountId]);
      return [...(accountContacts.get(accountId) ?? [])];
    },

    async getOpportunity(id) {
      await loadOpportunities([id]);
      return opportunities.get(id) ?? null;
    },
    async putOpportunity(record) {
      const id = opportunityIdOf(record);
      const previousAccountId = accountOfRecord(await this.getOpportunity(id));
      if (previousAccountId !== null) {
        await loadAccounts([previousAccountId]);
        accountOpportunities.get(previousAccountId)?.delete(id);
      }
      const accountId = accountOfRecord(record);
      if (accountId !== null) {
        await loadAccounts([accountId]);
        setOf(accountOpportunities, accountId).add(id);
      }
      opportunities.set(id, record);
      changes.opportunities.push({ record, previousAccountId });
    },
    async opportunitiesOfAccount(accountId) {
      await loadAccounts([accountId]);
      const ids = [...(accountOpportunities.get(accountId) ?? [])];
      await loadOpportunities(ids);
      const found: Opportunity[] = [];
      for (const id of ids) {
        const record = opportunities.get(id);
        if (record?.kind === 'live') found.push(record.opportunity);
      }
      return found;
    },
  };
}
