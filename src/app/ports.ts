import type { OpportunityRecord } from '../domain/decide.js';
import type { Contact, Opportunity, Touch } from '../domain/events.js';
import type { OpportunityAttribution } from '../domain/attribute.js';
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

/**
 * Streaming state, in bulk: the service loads what a Kafka batch needs in a few round trips,
 * decides in memory (see state-session.ts) and writes the changes back in one go.
 * Implemented by adapters/redis (production) and adapters/memory (tests); one contract suite.
 */
export interface StateChanges {
  /** Touches to store; `replaced` is the earlier touch under the same id, to unlink from its contact. */
  readonly touches: readonly { readonly touch: Touch; readonly replaced: Touch | null }[];
  readonly contacts: readonly { readonly contact: Contact; readonly previousAccountId: string | null }[];
  readonly opportunities: readonly { readonly record: OpportunityRecord; readonly previousAccountId: string | null }[];
}

export interface StateStore {
  loadTouches(ids: readonly string[]): Promise<Map<string, Touch>>;
  loadContacts(ids: readonly string[]): Promise<Map<string, Contact>>;
  loadOpportunities(ids: readonly string[]): Promise<Map<string, OpportunityRecord>>;
  /** Contact ids per account (accounts with none map to []). */
  loadAccountContacts(accountIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Live opportunity ids per account (accounts with none map to []). */
  loadAccountOpportunities(accountIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Every retained touch of each contact with from ≤ occurredAt ≤ to, by contact (contacts with none map to []). */
  loadTouchHistories(contactIds: readonly string[], from: Instant, to: Instant): Promise<Map<string, Touch[]>>;
  /** Writes all changes; touches older than `trimBefore` are dropped from the histories written to. */
  apply(changes: StateChanges, trimBefore: Instant): Promise<void>;
  /**
   * Raises the event-time watermark of one source (a topic-partition) to at least `eventTime`
   * (monotonic per source, shared by all instances) and returns every source's watermark.
   */
  advanceWatermark(source: string, eventTime: Instant): Promise<ReadonlyMap<string, Instant>>;
}

/** New attributions by opportunity id, each with the reason it was recomputed. */
export type NextAttributions = ReadonlyMap<string, { readonly attribution: OpportunityAttribution | null; readonly reason: string }>;

/** One (opportunity, model) answer as stored and published, with its revision. */
export interface AttributionRevision {
  readonly opportunityId: string;
  readonly model: string;
  /** 1 for the first answer, +1 each time the answer changes. */
  readonly revision: number;
  readonly reason: string;
  /** The new answer; null when the opportunity was deleted (a tombstone). */
  readonly attribution: OpportunityAttribution | null;
}

/**
 * Where answers live (Postgres): the credit rows and the channel × segment totals, changed
 * together in one transaction so a redelivered event never double-counts.
 */
export interface AttributionStore {
  /**
   * Serialises on the given opportunities (so instances never interleave on one), then calls
   * `attribute` — which reads the latest state, after every earlier holder's writes — and
   * compares each new attribution (null = deleted) with the stored one per model; stores the
   * changed ones with revision + 1, moves the totals by the exact delta, calls `beforeCommit`
   * with the changed revisions (the service publishes them there) and commits.
   * Unchanged answers produce no revision. Returns the revisions written.
   */
  commit(
    opportunityIds: readonly string[],
    attribute: (opportunityIds: readonly string[]) => Promise<NextAttributions>,
    beforeCommit: (revisions: readonly AttributionRevision[]) => Promise<void>,
  ): Promise<AttributionRevision[]>;
}
