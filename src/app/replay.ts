import { createTotals, type Cell } from '../domain/aggregate.js';
import type { AttributionSettings, OpportunityAttribution } from '../domain/attribute.js';
import type { DomainEvent } from '../domain/events.js';
import type { Nanos } from '../domain/money.js';
import type { Rejection, Vocabularies } from '../domain/validate.js';
import { applyEvent } from './apply-event.js';
import type { BatchState } from './ports.js';
import { attributeFromState } from './attribute-opportunities.js';
import { validateRecord, type SourcedRecord } from './ingest.js';
import { createQualityTracker, type QualityReport, type QualityTracker, type RecordOrigin } from './quality.js';

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
  /** Where the stored version of each entity came from, to charge a later rejection to it. */
  const origins = { touch: new Map<string, RecordOrigin>(), contact: new Map<string, RecordOrigin>(), opportunity: new Map<string, RecordOrigin>() };

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
    const [kind, id] = identify(event);
    if (decision === 'apply' || decision === 'conflict-replace') {
      quality.accepted(source);
      const loser = decision === 'conflict-replace' ? origins[kind].get(id) : undefined;
      if (loser !== undefined) {
        quality.unaccept(loser.source, 1);
        quality.rejected(loser, conflictRejection(kind, id, record.origin.location));
      }
      origins[kind].set(id, record.origin);
    } else if (decision === 'duplicate') quality.duplicate(source);
    else if (decision === 'stale') quality.stale(source);
    else quality.rejected(record.origin, conflictRejection(kind, id, null));
  }
  await rejectTouchesOfUnknownContacts(state, quality, origins.touch);

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

const identify = (event: DomainEvent): ['touch' | 'contact' | 'opportunity', string] => {
  switch (event.kind) {
    case 'touch':
      return ['touch', event.touch.id];
    case 'contact':
      return ['contact', event.contact.id];
    case 'opportunity':
      return ['opportunity', event.opportunity.id];
    case 'opportunity-deleted':
      return ['opportunity', event.deletion.id];
  }
};

function conflictRejection(kind: string, id: string, keptAt: string | null): Rejection {
  return {
    reason: 'conflicting_duplicate',
    detail: `${kind} ${id} appears again, same version, different content; kept ${keptAt === null ? 'the earlier record' : `the record at ${keptAt}`}`,
  };
}

/** In batch every contact has arrived by the end, so a touch whose contact never came is bad input. */
async function rejectTouchesOfUnknownContacts(
  state: BatchState,
  quality: QualityTracker,
  touchOrigins: ReadonlyMap<string, RecordOrigin>,
): Promise<void> {
  for (const contactId of state.touchCountsByContact().keys()) {
    if ((await state.getContact(contactId)) !== null) continue;
    for (const touch of await state.touchesOfContacts([contactId], -Infinity, Infinity)) {
      const origin = touchOrigins.get(touch.id) ?? { source: 'unknown', location: '?' };
      quality.unaccept(origin.source, 1);
      quality.rejected(origin, {
        reason: 'unknown_contact',
        field: 'contact_id',
        detail: `touchpoint ${touch.id}: contact ${contactId} is not in the contact data`,
      });
    }
  }
}
