import type { AttributionSettings, OpportunityAttribution } from '../domain/attribute.js';
import type { Decision } from '../domain/decide.js';
import type { DomainEvent } from '../domain/events.js';
import type { Instant } from '../domain/time.js';
import { applyEvent } from './apply-event.js';
import { attributeById } from './attribute-opportunities.js';
import type { AttributionRevision, AttributionStore, NextAttributions, StateStore } from './ports.js';
import { createStateSession } from './state-session.js';

export interface StreamDeps {
  readonly store: StateStore;
  readonly answers: AttributionStore;
  readonly settings: AttributionSettings;
  /** How far behind the event-time watermark touches are still kept beyond the window. */
  readonly allowedLatenessMs: number;
  /** Publishes changed answers; runs inside the Postgres transaction, before it commits. */
  readonly publish: (revisions: readonly AttributionRevision[]) => Promise<void>;
  /**
   * How many sources (input topic-partitions) feed the watermark. Until each has reported,
   * nothing is trimmed: a source that has not started may still bring old opportunities.
   */
  readonly watermarkSources: number;
}

export interface ProcessOutcome {
  /** One decision per input event, in order. */
  readonly outcomes: Decision[];
  readonly decisions: Record<Decision, number>;
  readonly revisions: AttributionRevision[];
  readonly reattributed: number;
  readonly watermark: Instant;
}

const REASONS: Record<DomainEvent['kind'], string> = {
  touch: 'touch',
  contact: 'contact_changed',
  opportunity: 'opportunity_changed',
  'opportunity-deleted': 'opportunity_deleted',
};

/** The slowest source's watermark, once every source has reported; before that, none. */
function lowWatermark(bySource: ReadonlyMap<string, Instant>, expected: number): Instant {
  if (bySource.size < expected) return Number.MIN_SAFE_INTEGER;
  return Math.min(...bySource.values());
}

const eventTime = (event: DomainEvent): Instant => {
  switch (event.kind) {
    case 'touch':
      return event.touch.occurredAt;
    case 'contact':
      return event.contact.version;
    case 'opportunity':
      return Math.max(event.opportunity.createdAt, event.opportunity.version);
    case 'opportunity-deleted':
      return event.deletion.version;
  }
};

/**
 * The streaming use case for one batch of valid events: record them (same applyEvent as batch),
 * re-attribute every opportunity whose answer may have changed, and hand the answers to the
 * store, which writes and publishes only those that did change. Redelivering a batch is
 * harmless: the events decide as duplicates and the answers compare equal.
 */
export async function processEvents(events: readonly DomainEvent[], deps: StreamDeps, source = 'default'): Promise<ProcessOutcome> {
  const { settings } = deps;
  const session = createStateSession(deps.store);
  await session.prefetch(events);

  const decisions: Record<Decision, number> = { apply: 0, duplicate: 0, stale: 0, 'conflict-replace': 0, 'conflict-keep': 0 };
  const outcomes: Decision[] = [];
  const reasons = new Map<string, string>();
  let latest = Number.MIN_SAFE_INTEGER;
  for (const event of events) {
    const outcome = await applyEvent(session, event, { trackAffected: true, windowMs: settings.windowMs });
    decisions[outcome.decision] += 1;
    outcomes.push(outcome.decision);
    for (const id of outcome.affected) if (!reasons.has(id)) reasons.set(id, REASONS[event.kind]);
    latest = Math.max(latest, eventTime(event));
  }
  const watermark = events.length === 0 ? Number.MIN_SAFE_INTEGER : lowWatermark(await deps.store.advanceWatermark(source, latest), deps.watermarkSources);
  await session.flush(watermark === Number.MIN_SAFE_INTEGER ? -Infinity : watermark - settings.windowMs - deps.allowedLatenessMs);
  await addAffectedAfterFlush(deps.store, events, outcomes, settings.windowMs, reasons);

  const ids = [...reasons.keys()].sort();
  // Attribution runs under the store's per-opportunity locks, on a fresh session that reads
  // the state as it is then, including other instances' writes flushed before their locks.
  const attribute = async (locked: readonly string[]): Promise<NextAttributions> => {
    const fresh = createStateSession(deps.store);
    await fresh.prefetchForAttribution(locked);
    const next = new Map<string, { attribution: OpportunityAttribution | null; reason: string }>();
    for (const id of locked) next.set(id, { attribution: await attributeById(fresh, id, settings), reason: reasons.get(id) ?? 'unknown' });
    return next;
  };
  const revisions = ids.length === 0 ? [] : await deps.answers.commit(ids, attribute, deps.publish);
  return { outcomes, decisions, revisions, reattributed: ids.length, watermark };
}

/**
 * Re-reads, after this batch's writes, which accounts its touches and contacts belong to now.
 * Another instance may have moved a contact meanwhile: either it sees this batch's touch when it
 * attributes, or this read sees its move — so no opportunity misses a touch (store, then load).
 */
async function addAffectedAfterFlush(
  store: StateStore,
  events: readonly DomainEvent[],
  outcomes: readonly Decision[],
  windowMs: number,
  reasons: Map<string, string>,
): Promise<void> {
  const changed = events.filter(
    (e, i) => (e.kind === 'touch' || e.kind === 'contact') && (outcomes[i] === 'apply' || outcomes[i] === 'conflict-replace' || outcomes[i] === 'duplicate'),
  );
  if (changed.length === 0) return;
  const fresh = createStateSession(store);
  await fresh.prefetchAccountsOf(changed.flatMap((e) => (e.kind === 'touch' ? [e.touch.contactId] : e.kind === 'contact' ? [e.contact.id] : [])));
  for (const event of changed) {
    const contactId = event.kind === 'touch' ? event.touch.contactId : event.kind === 'contact' ? event.contact.id : null;
    const accountId = contactId === null ? null : ((await fresh.getContact(contactId))?.accountId ?? null);
    if (accountId === null) continue;
    for (const opportunity of await fresh.opportunitiesOfAccount(accountId)) {
      const inWindow =
        event.kind !== 'touch' ||
        (event.touch.occurredAt <= opportunity.createdAt && event.touch.occurredAt >= opportunity.createdAt - windowMs);
      if (inWindow && !reasons.has(opportunity.id)) reasons.set(opportunity.id, REASONS[event.kind]);
    }
  }
}
