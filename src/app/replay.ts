import { createTotals, type Cell } from '../domain/aggregate.js';
import type { AttributionSettings, OpportunityAttribution } from '../domain/attribute.js';
import type { TouchSource } from '../domain/events.js';
import type { Nanos } from '../domain/money.js';
import type { Vocabularies } from '../domain/validate.js';
import { applyEvent } from './apply-event.js';
import type { BatchState } from './ports.js';
import { attributeFromState } from './attribute-opportunities.js';
import { validateRecord, type SourcedRecord } from './ingest.js';
import { createQualityTracker, type QualityReport, type RecordOrigin } from './quality.js';

export interface ReplayResult {
  readonly cells: Cell[];
  readonly quality: QualityReport;
  readonly opportunities: number;
  /** Σ of the amounts of all attributed opportunities: every model's cells must add up to it. */
  readonly totalAmount: Nanos;
}

export interface ReplayDeps {
  readonly state: BatchState;
  readonly settings: AttributionSettings;
  readonly vocab: Vocabularies;
  /** Receives every opportunity's attribution (the touch-level table is written from these). */
  readonly onAttribution?: (attribution: OpportunityAttribution) => void;
}

/**
 * Batch replay: validate and record every event, then attribute every live opportunity once.
 * Streaming records the same events through the same applyEvent and attributes incrementally;
 * the end result is the same because both end in the same state and call the same pure core.
 */
export async function replay(records: AsyncIterable<SourcedRecord>, deps: ReplayDeps): Promise<ReplayResult> {
  const { state, settings } = deps;
  const quality = createQualityTracker();
  const touchFirstSeen = new Map<string, RecordOrigin>();
  const touchSourceName = new Map<TouchSource, string>();

  for await (const record of records) {
    const { source } = record.origin;
    quality.read(source);
    const validated = validateRecord(record, deps.vocab);
    if (!validated.ok) {
      quality.rejected(record.origin, validated.rejection);
      continue;
    }
    const event = validated.value;
    const { decision } = await applyEvent(state, event, { trackAffected: false, windowMs: settings.windowMs });
    if (decision === 'apply') {
      quality.accepted(source);
      if (event.kind === 'touch') {
        touchSourceName.set(event.touch.source, source);
        if (!touchFirstSeen.has(event.touch.contactId)) touchFirstSeen.set(event.touch.contactId, record.origin);
      }
    } else if (decision === 'duplicate') quality.duplicate(source);
    else if (decision === 'stale') quality.stale(source);
    else {
      quality.rejected(record.origin, {
        reason: 'conflicting_duplicate',
        detail: `${event.kind} id seen before with different content (kept: ${decision === 'conflict-replace' ? 'this record' : 'the earlier record'})`,
      });
    }
  }
  await rejectTouchesOfUnknownContacts(state, quality, touchFirstSeen, touchSourceName);

  const totals = createTotals();
  let opportunities = 0;
  let totalAmount = 0n;
  for (const opportunity of state.liveOpportunities()) {
    const attribution = await attributeFromState(state, opportunity, settings);
    totals.add(attribution);
    deps.onAttribution?.(attribution);
    opportunities += 1;
    totalAmount += opportunity.amount;
  }
  return {
    cells: totals.cells(settings.models.map((m) => m.name)),
    quality: quality.report(),
    opportunities,
    totalAmount,
  };
}

/** In batch every contact has arrived by the end, so a touch whose contact never came is bad input. */
async function rejectTouchesOfUnknownContacts(
  state: BatchState,
  quality: ReturnType<typeof createQualityTracker>,
  firstSeen: ReadonlyMap<string, RecordOrigin>,
  sourceNames: ReadonlyMap<TouchSource, string>,
): Promise<void> {
  for (const [contactId, count] of state.touchCountsByContact()) {
    if ((await state.getContact(contactId)) !== null) continue;
    const touches = await state.touchesOfContacts([contactId], -Infinity, Infinity);
    const origin = firstSeen.get(contactId) ?? { source: 'unknown', location: '?' };
    for (const [touchSource, name] of sourceNames) {
      const n = touches.filter((t) => t.source === touchSource).length;
      if (n === 0) continue;
      quality.unaccept(name, n);
      quality.rejected(
        { source: name, location: origin.location },
        { reason: 'unknown_contact', field: 'contact_id', detail: `contact ${contactId} is not in the contact data (${count} touches)` },
        n,
      );
    }
  }
}
