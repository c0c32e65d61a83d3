import {
  changesState,
  decideContact,
  decideOpportunity,
  opportunityKey,
  decideTouch,
  type Decision,
  type OpportunityRecord,
} from '../domain/decide.js';
import type { DomainEvent, Touch } from '../domain/events.js';
import type { Instant } from '../domain/time.js';
import { inWindow } from '../domain/window.js';
import type { StateChanges } from './ports.js';
import { opportunityIdOf, type WorkingState } from './working-state.js';

/** An opportunity whose answer may have changed: why, and when it was created (orders the pending set). */
export interface Affected {
  readonly reason: string;
  /** Its creation instant as this batch knows it; MIN_SAFE_INTEGER for a deletion (drain at once). */
  readonly createdAt: Instant;
}

export interface Applied {
  /** One decision per event, in order. */
  readonly decisions: Decision[];
  /** What changed, in order, for a store to write (empty unless `record`). */
  readonly changes: StateChanges;
  /** Opportunities to re-attribute, by id (empty unless `track`). */
  readonly affected: Map<string, Affected>;
}

export interface ApplyOptions {
  readonly windowMs: number;
  /** Name the opportunities whose answer may change (streaming); batch attributes all at the end. */
  readonly track: boolean;
  /** Record the changes for a store (streaming); batch's state is the store. */
  readonly record: boolean;
}

const REASONS: Record<DomainEvent['kind'], string> = {
  touch: 'touch',
  contact: 'contact_changed',
  opportunity: 'opportunity_changed',
  'opportunity-deleted': 'opportunity_deleted',
  rate: 'fx_rate',
};

export const DRAIN_AT_ONCE: Instant = Number.MIN_SAFE_INTEGER;

type MutableChanges = { -readonly [K in keyof StateChanges]: StateChanges[K][number][] };

/**
 * The core of both modes: decide every event against the state (domain/decide.ts), evolve the
 * state, and say what changed and which opportunities to re-attribute. Synchronous, no I/O.
 *
 * A duplicate names its opportunities too: a batch redelivered after its answers failed to
 * commit finds its state already stored, and only re-attributing brings the answers up to date
 * (an unchanged answer costs a comparison, not a revision).
 */
export function applyEvents(
  state: WorkingState,
  events: readonly DomainEvent[],
  options: ApplyOptions,
): Applied {
  const decisions: Decision[] = [];
  const changes: MutableChanges = { touches: [], contacts: [], opportunities: [] };
  const affected = new Map<string, Affected>();
  const { windowMs, track, record } = options;

  const markAccount = (accountId: string | null | undefined, reason: string, touch?: Touch): void => {
    if (accountId == null) return;
    for (const [id, createdAt] of state.opportunitiesOf(accountId)) {
      if (touch !== undefined && !inWindow(touch.occurredAt, createdAt, windowMs)) continue;
      if (!affected.has(id)) affected.set(id, { reason, createdAt });
    }
  };
  const markTouch = (touch: Touch): void =>
    markAccount(state.contact(touch.contactId)?.accountId, 'touch', touch);

  for (const event of events) {
    let decision: Decision;
    switch (event.kind) {
      case 'touch': {
        const existing = state.touch(event.touch.id) ?? null;
        decision = decideTouch(existing, event.touch);
        if (track && (decision === 'duplicate' || changesState(decision))) {
          if (existing !== null && decision !== 'duplicate') markTouch(existing);
          markTouch(event.touch);
        }
        if (!changesState(decision)) break;
        state.putTouch(event.touch);
        if (record) changes.touches.push({ touch: event.touch, replaced: existing });
        break;
      }
      case 'contact': {
        const existing = state.contact(event.contact.id) ?? null;
        decision = decideContact(existing, event.contact);
        const moves = changesState(decision) && existing?.accountId !== event.contact.accountId;
        if (track && (decision === 'duplicate' || moves)) {
          markAccount(existing?.accountId, REASONS.contact);
          markAccount(event.contact.accountId, REASONS.contact);
        }
        if (!changesState(decision)) break;
        state.putContact(event.contact);
        if (record)
          changes.contacts.push({ contact: event.contact, previousAccountId: existing?.accountId ?? null });
        break;
      }
      case 'opportunity':
      case 'opportunity-deleted': {
        const incoming = recordOf(event);
        const id = opportunityIdOf(incoming);
        const existing = state.opportunity(id) ?? null;
        decision = decideOpportunity(existing, incoming);
        // A newer version whose content the answer depends on is unchanged (only updated_at
        // moved, or fields the stored form does not carry) cannot change the answer: no mark.
        // Re-attributing it would read its window again, months later perhaps, when the watermark
        // may have trimmed the touches it was attributed with.
        const versionOnly =
          decision === 'apply' &&
          existing?.kind === 'live' &&
          incoming.kind === 'live' &&
          opportunityKey(existing.opportunity) === opportunityKey(incoming.opportunity);
        if (track && !versionOnly && (decision === 'duplicate' || changesState(decision))) {
          const createdAt = incoming.kind === 'live' ? incoming.opportunity.createdAt : DRAIN_AT_ONCE;
          affected.set(id, { reason: REASONS[event.kind], createdAt });
        }
        if (!changesState(decision)) break;
        state.putOpportunity(incoming);
        if (record) {
          const previousAccountId = existing?.kind === 'live' ? existing.opportunity.accountId : null;
          changes.opportunities.push({ record: incoming, previousAccountId });
        }
        break;
      }
      case 'rate':
        // Rates are not entity state: ingest-events.ts stores them and marks what they change.
        throw new RangeError('an FX rate reached applyEvents; rates go through ingestRates');
    }
    decisions.push(decision);
  }
  return { decisions, changes, affected };
}

const recordOf = (
  event: Extract<DomainEvent, { kind: 'opportunity' | 'opportunity-deleted' }>,
): OpportunityRecord =>
  event.kind === 'opportunity'
    ? { kind: 'live', opportunity: event.opportunity }
    : { kind: 'deleted', id: event.deletion.id, version: event.deletion.version };

/** Event time of an event, as the watermark counts it. */
export function eventTimeOf(event: DomainEvent): Instant {
  switch (event.kind) {
    case 'touch':
      return event.touch.occurredAt;
    case 'contact':
      return event.contact.version;
    case 'opportunity':
      return Math.max(event.opportunity.createdAt, event.opportunity.version);
    case 'opportunity-deleted':
      return event.deletion.version;
    case 'rate':
      // Rates do not feed the event-time watermark (their topic is not one of its sources).
      return Number.MIN_SAFE_INTEGER;
  }
}

/** The ids an event batch reads, for a store to load them in bulk. */
export function idsReadBy(events: readonly DomainEvent[]): {
  touches: string[];
  contacts: string[];
  opportunities: string[];
} {
  const touches: string[] = [];
  const contacts: string[] = [];
  const opportunities: string[] = [];
  for (const event of events) {
    if (event.kind === 'touch') {
      touches.push(event.touch.id);
      contacts.push(event.touch.contactId);
    } else if (event.kind === 'contact') contacts.push(event.contact.id);
    else if (event.kind === 'opportunity') opportunities.push(event.opportunity.id);
    else if (event.kind === 'opportunity-deleted') opportunities.push(event.deletion.id);
  }
  return { touches, contacts, opportunities };
}
