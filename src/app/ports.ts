import type { OpportunityRecord } from '../domain/decide.js';
import type { Contact, Opportunity, Touch } from '../domain/events.js';
import type { Instant } from '../domain/time.js';

/**
 * What the use cases need to remember between events. The in-memory adapter serves batch and
 * unit tests; the Redis adapter serves the streaming service. Both pass one contract suite.
 * Only the operations the use cases call are declared.
 */
export interface AttributionState {
  getTouch(id: string): Promise<Touch | null>;
  /** Stores a touch, replacing any touch under the same id. */
  putTouch(touch: Touch): Promise<void>;
  /** Touches of the given contacts with from ≤ occurredAt ≤ to. */
  touchesOfContacts(contactIds: readonly string[], from: Instant, to: Instant): Promise<Touch[]>;

  getContact(id: string): Promise<Contact | null>;
  /** Stores a contact and moves it between the account indexes. */
  putContact(contact: Contact): Promise<void>;
  contactsOfAccount(accountId: string): Promise<string[]>;

  getOpportunity(id: string): Promise<OpportunityRecord | null>;
  putOpportunity(record: OpportunityRecord): Promise<void>;
  opportunitiesOfAccount(accountId: string): Promise<Opportunity[]>;
}

/** Batch extras: a replay attributes every opportunity at the end and audits touches' contacts. */
export interface BatchState extends AttributionState {
  liveOpportunities(): IterableIterator<Opportunity>;
  /** Contact ids that have touches, with how many. */
  touchCountsByContact(): ReadonlyMap<string, number>;
}
