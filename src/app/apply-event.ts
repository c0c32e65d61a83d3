import { decideContact, decideOpportunity, decideTouch, changesState, type Decision, type OpportunityRecord } from '../domain/decide.js';
import type { DomainEvent, Touch } from '../domain/events.js';
import type { AttributionState } from './ports.js';

export interface ApplyOutcome {
  readonly decision: Decision;
  /** Opportunities whose attribution may have changed (only when asked to track them). */
  readonly affected: readonly string[];
}

/**
 * Records one validated event in the state, deciding by the pure rules in domain/decide.ts.
 * With `trackAffected`, it also names the opportunities to re-attribute: what streaming needs.
 * A duplicate names them too: when a batch is redelivered because its answers never reached
 * Postgres, its state changes are already stored, and only re-attributing brings the answers
 * up to date (an unchanged answer costs a comparison, not a revision).
 * Batch skips all that and attributes every opportunity once at the end.
 */
export async function applyEvent(
  state: AttributionState,
  event: DomainEvent,
  options: { readonly trackAffected: boolean; readonly windowMs: number },
): Promise<ApplyOutcome> {
  if (!options.trackAffected) return { decision: await recordEvent(state, event), affected: NONE };
  const affected = new Set<string>();
  const track = async (accountId: string | null, touch?: Touch): Promise<void> => {
    if (accountId === null) return;
    for (const opportunity of await state.opportunitiesOfAccount(accountId)) {
      const inWindow =
        touch === undefined ||
        (touch.occurredAt <= opportunity.createdAt && touch.occurredAt >= opportunity.createdAt - options.windowMs);
      if (inWindow) affected.add(opportunity.id);
    }
  };
  const accountOfContact = async (contactId: string): Promise<string | null> =>
    (await state.getContact(contactId))?.accountId ?? null;

  let decision: Decision;
  switch (event.kind) {
    case 'touch': {
      const existing = await state.getTouch(event.touch.id);
      decision = decideTouch(existing, event.touch);
      if (decision === 'duplicate') await track(await accountOfContact(event.touch.contactId), event.touch);
      if (!changesState(decision)) break;
      if (existing !== null) await track(await accountOfContact(existing.contactId), existing);
      await state.putTouch(event.touch);
      await track(await accountOfContact(event.touch.contactId), event.touch);
      break;
    }
    case 'contact': {
      const existing = await state.getContact(event.contact.id);
      decision = decideContact(existing, event.contact);
      if (decision === 'duplicate') await track(event.contact.accountId);
      if (!changesState(decision)) break;
      await state.putContact(event.contact);
      if (existing?.accountId !== event.contact.accountId) {
        await track(existing?.accountId ?? null);
        await track(event.contact.accountId);
      }
      break;
    }
    case 'opportunity':
    case 'opportunity-deleted': {
      const record = opportunityRecordOf(event);
      const id = record.kind === 'live' ? record.opportunity.id : record.id;
      decision = decideOpportunity(await state.getOpportunity(id), record);
      if (decision === 'duplicate') affected.add(id);
      if (!changesState(decision)) break;
      await state.putOpportunity(record);
      affected.add(id);
      break;
    }
  }
  return { decision, affected: [...affected] };
}

const NONE: readonly string[] = [];

const opportunityRecordOf = (event: Extract<DomainEvent, { kind: 'opportunity' | 'opportunity-deleted' }>): OpportunityRecord =>
  event.kind === 'opportunity'
    ? { kind: 'live', opportunity: event.opportunity }
    : { kind: 'deleted', id: event.deletion.id, version: event.deletion.version };

/**
 * The same decisions without tracking, and without a closure per event: batch replay calls
 * this once per record, so it is kept lean.
 */
async function recordEvent(state: AttributionState, event: DomainEvent): Promise<Decision> {
  let decision: Decision;
  switch (event.kind) {
    case 'touch':
      decision = decideTouch(await state.getTouch(event.touch.id), event.touch);
      if (changesState(decision)) await state.putTouch(event.touch);
      return decision;
    case 'contact':
      decision = decideContact(await state.getContact(event.contact.id), event.contact);
      if (changesState(decision)) await state.putContact(event.contact);
      return decision;
    case 'opportunity':
    case 'opportunity-deleted': {
      const record = opportunityRecordOf(event);
      decision = decideOpportunity(await state.getOpportunity(record.kind === 'live' ? record.opportunity.id : record.id), record);
      if (changesState(decision)) await state.putOpportunity(record);
      return decision;
    }
  }
}
