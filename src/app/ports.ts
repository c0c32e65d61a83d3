import type { OpportunityRecord } from '../domain/decide.js';
import type { Contact, Touch } from '../domain/events.js';
import type { OpportunityAttribution } from '../domain/attribute.js';
import type { RateRow } from '../domain/fx.js';
import type { Instant } from '../domain/time.js';
import type { Affected } from './apply-events.js';
import type { AnswerWrite, StoredAnswers } from './commit-plan.js';
import type { CellDelta } from '../domain/aggregate.js';
import type { DayCellDelta } from '../domain/answer.js';

/** What one batch changed, in order, as applyEvents records it. */
export interface StateChanges {
  /** Touches to store; `replaced` is the earlier touch under the same id, to unlink from its contact. */
  readonly touches: readonly { readonly touch: Touch; readonly replaced: Touch | null }[];
  readonly contacts: readonly { readonly contact: Contact; readonly previousAccountId: string | null }[];
  readonly opportunities: readonly {
    readonly record: OpportunityRecord;
    readonly previousAccountId: string | null;
  }[];
}

/** Opportunities a batch marks for re-attribution, in one pending set. */
export interface PendingMarks {
  /** The pending set: named after the opportunities-topic partition whose owner drains it. */
  readonly source: string;
  readonly affected: ReadonlyMap<string, Affected>;
  /** When the marking records were produced (epoch ms); the first mark since the last drain is kept. */
  readonly markedAt: number;
}

/** One pending opportunity as claimed: `token` must still match for the release to remove it. */
export interface PendingClaim {
  readonly opportunityId: string;
  readonly token: string;
  readonly reason: string;
  /** The first mark since it was last drained (epoch ms): attribution latency starts there. */
  readonly markedAt: number;
}

/**
 * Streaming state, in bulk (adapters/redis in production, adapters/memory in tests; one contract
 * suite). A batch loads what it reads in a few round trips, applies the events in memory
 * (applyEvents over a WorkingState) and writes state and pending marks back in one apply.
 */
/**
 * What trimming must not outrun: the touches the opportunities waiting in these pending sets may
 * read (an opportunity created at c reads touches from c − windowMs on). A catch-up ingests far
 * ahead of its drains — a fetch can span months of event time — and without this the watermark
 * would trim touches that marked opportunities had not been attributed with yet.
 */
export interface TrimGuard {
  readonly pendingSources: readonly string[];
  readonly windowMs: number;
}

export interface StateStore {
  loadTouches(ids: readonly string[]): Promise<Map<string, Touch>>;
  loadContacts(ids: readonly string[]): Promise<Map<string, Contact>>;
  loadOpportunities(ids: readonly string[]): Promise<Map<string, OpportunityRecord>>;
  /** Contact ids per account, sorted (accounts with none map to []). */
  loadAccountContacts(accountIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Live opportunity ids per account with their created_at (accounts with none map to an empty map). */
  loadAccountOpportunities(accountIds: readonly string[]): Promise<Map<string, Map<string, Instant>>>;
  /** Every retained touch of each contact with from ≤ occurredAt ≤ to, by contact, sorted (contacts with none map to []). */
  loadTouchHistories(
    contactIds: readonly string[],
    from: Instant,
    to: Instant,
  ): Promise<Map<string, Touch[]>>;
  /**
   * Writes the changes and the marks all or nothing; touches older than `trimBefore` are dropped
   * from the histories written to — but, with `keep`, none an opportunity pending in its sets may
   * still need: the bound is lowered, atomically with the trim and after this call's marks, to the
   * oldest pending opportunity's createdAt − windowMs.
   */
  apply(
    changes: StateChanges,
    trimBefore: Instant,
    marks?: PendingMarks | readonly PendingMarks[],
    keep?: TrimGuard,
  ): Promise<void>;
  /**
   * Raises the event-time watermark of one source (a topic-partition) to at least `eventTime`
   * (monotonic per source, shared by all instances) and returns every source's watermark.
   */
  advanceWatermark(source: string, eventTime: Instant): Promise<ReadonlyMap<string, Instant>>;
  /** Up to `limit` pending opportunities of the source created at or before `upTo`, oldest first. */
  claimPending(source: string, upTo: Instant, limit: number): Promise<PendingClaim[]>;
  /** Removes the claimed opportunities whose mark has not changed since the claim. */
  releasePending(source: string, claims: readonly PendingClaim[]): Promise<void>;
  /** How many opportunities wait in the source's pending set. */
  countPending(source: string): Promise<number>;
  /**
   * One page of every stored opportunity record (HSCAN semantics: start with cursor '0', go on
   * with `next` until it is '0' again; a record may come twice, none present throughout is missed).
   */
  scanOpportunities(cursor: string, count: number): Promise<{ next: string; records: OpportunityRecord[] }>;
  /** Stores FX rates; a later rate for the same (currency, date) replaces the earlier one. */
  applyRates(rows: readonly RateRow[]): Promise<void>;
  /** Every stored rate of these currencies, in any order. */
  loadRates(currencies: readonly string[]): Promise<RateRow[]>;
  /**
   * The opportunities ever stored in `currency` created at or after `from` (id → createdAt). A
   * write of an opportunity with a currency indexes it in the same transaction; an entry is never
   * removed, so a caller may find one no longer in that currency (re-attributing it is harmless).
   */
  currencyOpportunities(currency: string, from: Instant): Promise<Map<string, Instant>>;
  /** Records which opportunities wait for a rate (pending_fx) and which no longer do; returns how many wait. */
  notePendingFx(waiting: readonly string[], settled: readonly string[]): Promise<number>;
  /** How many opportunities wait for a rate. */
  countPendingFx(): Promise<number>;
}

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

/** New attributions by opportunity id, each with the reason it was recomputed. */
export type NextAttributions = ReadonlyMap<
  string,
  { readonly attribution: OpportunityAttribution | null; readonly reason: string }
>;

/**
 * One unit of work on the answers (Postgres: one transaction). The use case drives it; the
 * store offers its statements and a lock, never calls back.
 */
export interface AnswerTransaction {
  /** Serialises on the opportunities: returns once every earlier holder has committed. */
  lock(opportunityIds: readonly string[]): Promise<void>;
  load(opportunityIds: readonly string[]): Promise<StoredAnswers>;
  /** Writes the answers (revision checked) — the credits ride in them. */
  writeAnswers(writes: readonly AnswerWrite[]): Promise<void>;
  /** Moves the totals by the deltas (sorted by cell, so concurrent writers lock cells in one order). */
  moveTotals(deltas: readonly CellDelta[]): Promise<void>;
  /** Moves the per-day and per-campaign-day totals the same way (each sorted by its key). */
  moveDayTotals(days: readonly DayCellDelta[], campaignDays: readonly DayCellDelta[]): Promise<void>;
  commit(): Promise<void>;
  /** Safe after a failure, and after commit (then it does nothing). */
  rollback(): Promise<void>;
}

export interface AnswerStore {
  begin(): Promise<AnswerTransaction>;
}

/** One generation of the streaming state: the state written since it began. */
export interface StateGeneration {
  readonly id: string;
  /** `rebuilding` while it is filled from Kafka; nothing attributes from it until `ready`. */
  readonly status: 'ready' | 'rebuilding';
  /** The instance that began it. */
  readonly owner: string;
  /** When its owner last said it is still rebuilding (epoch ms). */
  readonly heartbeatAt: number;
}

/**
 * Which generation of state is current (adapters/redis: one key beside the state). A store that
 * loses its data loses this too, so an instance can tell "the state I wrote" from "an empty or
 * foreign state" and rebuild instead of answering from a partial history.
 */
export interface StateGenerations {
  current(): Promise<StateGeneration | null>;
  /** Makes `next` current if the current generation is still `expected` (null: there is none). */
  replace(expected: string | null, next: StateGeneration): Promise<boolean>;
  /** Refreshes a rebuilding generation's heartbeat; false once it is no longer current. */
  heartbeat(id: string, at: number): Promise<boolean>;
  /** The rebuilt generation becomes ready; false if it is no longer current. */
  ready(id: string, at: number): Promise<boolean>;
  /** Deletes the state of every other generation; returns how many keys went. */
  discardOthers(id: string): Promise<number>;
}
