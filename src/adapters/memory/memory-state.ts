import type { BatchState } from '../../app/ports.js';
import type { OpportunityRecord } from '../../domain/decide.js';
import type { Contact, Opportunity, Touch } from '../../domain/events.js';

export type MemoryState = BatchState;

const addTo = <K, V>(index: Map<K, Set<V>>, key: K, value: V): void => {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([value]));
  else set.add(value);
};

/** In-memory state for batch replay and unit tests: plain maps, every read synchronous underneath. */
export function createMemoryState(): MemoryState {
  const touches = new Map<string, Touch>();
  const touchesByContact = new Map<string, Touch[]>();
  const contacts = new Map<string, Contact>();
  const contactsByAccount = new Map<string, Set<string>>();
  const opportunities = new Map<string, OpportunityRecord>();
  const opportunitiesByAccount = new Map<string, Set<string>>();

  return {
    getTouch: (id) => Promise.resolve(touches.get(id) ?? null),
    putTouch(touch) {
      const previous = touches.get(touch.id);
      if (previous !== undefined) {
        const list = touchesByContact.get(previous.contactId) ?? [];
        touchesByContact.set(previous.contactId, list.filter((t) => t.id !== touch.id));
      }
      touches.set(touch.id, touch);
      const list = touchesByContact.get(touch.contactId);
      if (list === undefined) touchesByContact.set(touch.contactId, [touch]);
      else list.push(touch);
      return Promise.resolve();
    },
    touchesOfContacts(contactIds, from, to) {
      const found: Touch[] = [];
      for (const contactId of contactIds) {
        for (const touch of touchesByContact.get(contactId) ?? []) {
          if (touch.occurredAt >= from && touch.occurredAt <= to) found.push(touch);
        }
      }
      return Promise.resolve(found);
    },

    getContact: (id) => Promise.resolve(contacts.get(id) ?? null),
    putContact(contact) {
      const previous = contacts.get(contact.id);
      if (previous?.accountId != null) contactsByAccount.get(previous.accountId)?.delete(contact.id);
      contacts.set(contact.id, contact);
      if (contact.accountId !== null) addTo(contactsByAccount, contact.accountId, contact.id);
      return Promise.resolve();
    },
    contactsOfAccount: (accountId) => Promise.resolve([...(contactsByAccount.get(accountId) ?? [])]),

    getOpportunity: (id) => Promise.resolve(opportunities.get(id) ?? null),
    putOpportunity(record) {
      const id = record.kind === 'live' ? record.opportunity.id : record.id;
      const previous = opportunities.get(id);
      if (previous?.kind === 'live') opportunitiesByAccount.get(previous.opportunity.accountId)?.delete(id);
      opportunities.set(id, record);
      if (record.kind === 'live') addTo(opportunitiesByAccount, record.opportunity.accountId, id);
      return Promise.resolve();
    },
    opportunitiesOfAccount(accountId) {
      const found: Opportunity[] = [];
      for (const id of opportunitiesByAccount.get(accountId) ?? []) {
        const record = opportunities.get(id);
        if (record?.kind === 'live') found.push(record.opportunity);
      }
      return Promise.resolve(found);
    },

    *liveOpportunities() {
      for (const record of opportunities.values()) if (record.kind === 'live') yield record.opportunity;
    },
    touchCountsByContact() {
      return new Map([...touchesByContact].map(([contactId, list]) => [contactId, list.length] as const));
    },
  };
}
