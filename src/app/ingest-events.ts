import type { Decision } from '../domain/decide.js';
import type { DomainEvent } from '../domain/events.js';
import type { Instant } from '../domain/time.js';
import { inWindow } from '../domain/window.js';
import { applyEvents, eventTimeOf, idsReadBy, type Affected } from './apply-events.js';
import type { PendingMarks, StateStore } from './ports.js';
import { createWorkingState, type WorkingState } from './working-state.js';

export interface IngestDeps {
  readonly store: StateStore;
  readonly windowMs: number;
  /** How far behind the event-time watermark touches are still kept beyond the window. */
  readonly allowedLatenessMs: number;
  /**
   * How many sources (input topic-partitions) feed the watermark. Until each has reported,
   * nothing is trimmed: a source that has not started may still bring old opportunities.
   */
  readonly watermarkSources: number;
  /**
   * The pending set an opportunity's re-attribution is marked in. One set per opportunity,
   * whichever input marks it, so a catch-up drains each opportunity once (see pendingSetOf).
   */
  readonly pendingSetOf: (opportunityId: string) => string;
  /** Every pending set pendingSetOf names: trimming keeps what their opportunities may read. */
  readonly pendingSets?: readonly string[];
}

/**
 * The pending set of an opportunity: `${prefix}/${bucket}`, the bucket a 32-bit FNV-1a hash of
 * the id's UTF-16 code units modulo `buckets`. The service names the sets after the partitions
 * of the opportunities topic, so whoever owns partition b drains bucket b (the mapping need not
 * match Kafka's key partitioning: it only has to be the same on every instance).
 */
export function pendingSetOf(prefix: string, buckets: number): (opportunityId: string) => string {
  return (opportunityId) => {
    let hash = 0x811c9dc5;
    for (let i = 0; i < opportunityId.length; i += 1) {
      hash ^= opportunityId.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return `${prefix}/${hash % buckets}`;
  };
}

function marksBySet(
  affected: ReadonlyMap<string, Affected>,
  setOf: (id: string) => string,
  markedAt: number,
): PendingMarks[] {
  const sets = new Map<string, Map<string, Affected>>();
  for (const [id, entry] of affected) {
    const set = setOf(id);
    let marks = sets.get(set);
    if (marks === undefined) sets.set(set, (marks = new Map<string, Affected>()));
    marks.set(id, entry);
  }
  return [...sets].map(([source, marks]) => ({ source, affected: marks, markedAt }));
}

export interface Ingested {
  /** One decision per input event, in order. */
  readonly decisions: Decision[];
  /** How many opportunities were marked for re-attribution. */
  readonly marked: number;
  /** The slowest source's watermark once every source has reported, else MIN_SAFE_INTEGER. */
  readonly watermark: Instant;
}

/** The slowest source's watermark, once every source has reported; before that, none. */
export function lowWatermark(bySource: ReadonlyMap<string, Instant>, expected: number): Instant {
  if (bySource.size < expected || bySource.size === 0) return Number.MIN_SAFE_INTEGER;
  return Math.min(...bySource.values());
}

/**
 * The streaming use case for one batch of valid events from one source:
 *   load what the batch reads (bulk) → applyEvents (pure, in memory) → write the changes and
 *   the pending marks in one apply → re-check the accounts written to.
 * Attribution happens later, when the pending sets are drained (commit-answers.ts), so
 * a catch-up computes each answer about once instead of once per batch that touches it.
 * Redelivering a batch is harmless: its events decide as duplicates, which mark their
 * opportunities again, and the answers compare equal.
 */
export async function ingestEvents(
  events: readonly DomainEvent[],
  deps: IngestDeps,
  source: string,
  markedAt: number,
): Promise<Ingested> {
  if (events.length === 0) return { decisions: [], marked: 0, watermark: Number.MIN_SAFE_INTEGER };
  // A batch is one partition of one topic: rates come alone.
  if (events.some((e) => e.kind === 'rate')) return ingestRates(events, deps, markedAt);
  const state = await loadSnapshot(deps.store, events);
  const applied = applyEvents(state, events, { windowMs: deps.windowMs, track: true, record: true });

  let latest = Number.MIN_SAFE_INTEGER;
  for (const event of events) latest = Math.max(latest, eventTimeOf(event));
  const watermark = lowWatermark(await deps.store.advanceWatermark(source, latest), deps.watermarkSources);
  const trimBefore =
    watermark === Number.MIN_SAFE_INTEGER ? -Infinity : watermark - deps.windowMs - deps.allowedLatenessMs;
  await deps.store.apply(
    applied.changes,
    trimBefore,
    marksBySet(applied.affected, deps.pendingSetOf, markedAt),
    deps.pendingSets === undefined
      ? undefined
      : { pendingSources: deps.pendingSets, windowMs: deps.windowMs },
  );

  const missed = await affectedAfterApply(deps.store, events, state, applied.affected, deps.windowMs);
  if (missed.size > 0)
    await deps.store.apply(
      { touches: [], contacts: [], opportunities: [] },
      -Infinity,
      marksBySet(missed, deps.pendingSetOf, markedAt),
    );
  return { decisions: applied.decisions, marked: applied.affected.size + missed.size, watermark };
}

/** The widest offset of a time zone from UTC (UTC+14, Kiribati): a local date starts no earlier. */
const WIDEST_OFFSET_MS = 14 * 3_600_000;

/**
 * FX rates (SPEC "Currency"): stored, then every opportunity in the rate's currency created on
 * or after its date is marked — a pending_fx one gets its rate, one that used an older rate
 * gets this one (restated if that changes the answer). Which those are is read after the write,
 * so an opportunity stored meanwhile by another instance either sees the rate in its drain or is
 * found here. The local creation date is not known here: every opportunity created from the
 * rate date's earliest start anywhere (UTC+14) is marked; an unchanged answer costs a comparison.
 * A redelivered rate marks again (its marks may be what failed).
 */
async function ingestRates(
  events: readonly DomainEvent[],
  deps: IngestDeps,
  markedAt: number,
): Promise<Ingested> {
  const rows = events.flatMap((e) => (e.kind === 'rate' ? [e.rate] : []));
  const currencies = [...new Set(rows.map((r) => r.currency))];
  const stored = new Map(
    (await deps.store.loadRates(currencies)).map((r): [string, bigint] => [
      `${r.currency}|${r.date}`,
      r.rate,
    ]),
  );
  const decisions: Decision[] = [];
  const seen = new Map<string, bigint>();
  for (const row of rows) {
    const key = `${row.currency}|${row.date}`;
    const before = seen.get(key) ?? stored.get(key);
    decisions.push(before === row.rate ? 'duplicate' : 'apply');
    seen.set(key, row.rate);
  }
  await deps.store.applyRates(rows);
  const affected = new Map<string, Affected>();
  for (const currency of currencies) {
    const earliest = rows
      .filter((r) => r.currency === currency)
      .reduce((min, r) => (r.date < min ? r.date : min), '9999-12-31');
    const from = Date.parse(`${earliest}T00:00:00Z`) - WIDEST_OFFSET_MS;
    for (const [id, createdAt] of await deps.store.currencyOpportunities(currency, from))
      if (!affected.has(id)) affected.set(id, { reason: 'fx_rate', createdAt });
  }
  if (affected.size > 0)
    await deps.store.apply(
      { touches: [], contacts: [], opportunities: [] },
      -Infinity,
      marksBySet(affected, deps.pendingSetOf, markedAt),
    );
  return { decisions, marked: affected.size, watermark: Number.MIN_SAFE_INTEGER };
}

/**
 * What applying these events reads, in three bulk round trips at most: the touches, contacts and
 * opportunities by id; the contacts of replaced touches; the accounts' opportunity indexes.
 */
export async function loadSnapshot(store: StateStore, events: readonly DomainEvent[]): Promise<WorkingState> {
  const ids = idsReadBy(events);
  const [touches, contacts, opportunities] = await Promise.all([
    store.loadTouches(ids.touches),
    store.loadContacts(ids.contacts),
    store.loadOpportunities(ids.opportunities),
  ]);
  const replacedOn = [...touches.values()].map((t) => t.contactId).filter((id) => !contacts.has(id));
  if (replacedOn.length > 0)
    for (const [id, contact] of await store.loadContacts(replacedOn)) contacts.set(id, contact);
  const accounts = new Set<string>();
  for (const contact of contacts.values()) if (contact.accountId !== null) accounts.add(contact.accountId);
  for (const event of events)
    if (event.kind === 'contact' && event.contact.accountId !== null) accounts.add(event.contact.accountId);
  const accountOpportunities = await store.loadAccountOpportunities([...accounts]);
  return createWorkingState({
    touches: touches.values(),
    contacts: contacts.values(),
    opportunities: opportunities.values(),
    accountOpportunities,
  });
}

/**
 * Re-reads, after this batch's writes, which accounts its touches' contacts belong to now and
 * which opportunities those accounts hold. Another instance may have moved a contact or added
 * an opportunity meanwhile: either its drain sees this batch's writes, or this read sees its
 * write — so no opportunity misses a touch (store, then load).
 */
async function affectedAfterApply(
  store: StateStore,
  events: readonly DomainEvent[],
  before: WorkingState,
  marked: ReadonlyMap<string, Affected>,
  windowMs: number,
): Promise<Map<string, Affected>> {
  const contactIds = new Set<string>();
  for (const event of events) {
    if (event.kind === 'touch') contactIds.add(event.touch.contactId);
    else if (event.kind === 'contact') contactIds.add(event.contact.id);
  }
  const missed = new Map<string, Affected>();
  if (contactIds.size === 0) return missed;
  const contacts = await store.loadContacts([...contactIds]);
  const accounts = new Set<string>();
  for (const contact of contacts.values()) if (contact.accountId !== null) accounts.add(contact.accountId);
  const now = await store.loadAccountOpportunities([...accounts]);
  for (const event of events) {
    if (event.kind !== 'touch' && event.kind !== 'contact') continue;
    const contactId = event.kind === 'touch' ? event.touch.contactId : event.contact.id;
    const accountId = contacts.get(contactId)?.accountId;
    if (accountId == null) continue;
    for (const [id, createdAt] of now.get(accountId) ?? []) {
      if (marked.has(id) || missed.has(id)) continue;
      if (event.kind === 'touch' && !inWindow(event.touch.occurredAt, createdAt, windowMs)) continue;
      // Known to the snapshot under the same account and created_at: already judged there.
      if (
        before.opportunitiesOf(accountId).get(id) === createdAt &&
        before.contact(contactId)?.accountId === accountId
      )
        continue;
      missed.set(id, { reason: event.kind === 'touch' ? 'touch' : 'contact_changed', createdAt });
    }
  }
  return missed;
}
