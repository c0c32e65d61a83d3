import { decideContact, decideOpportunity, decideTouch, changesState, type Decision } from '../domain/decide.js';
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
 * Batch skips that work and attributes every opportunity once at the end.
 */
export async function applyEvent(
  state: AttributionState,
  event: DomainEvent,
  options: { readonly trackAffected: boolean; readonly windowMs: number },
): Promise<ApplyOutcome> {
  const affected = new Set<string>();
  const track = async (accountId: string | null, touch?: Touch): Promise<void> => {
    if (!options.trackAffected || accountId === null) return;
    for (const opportunity of await state.opportunitiesOfAccount(accountId)) {
      const inWindow =
        touch === undefined ||
        (touch.occurredAt <= opportunity.createdAt && touch.occurredAt >= opportunity.createdAt - options.windowMs);
      if (inWindow) affected.add(opportunity.id);
    }
  };
  // Only tracking needs a touch's account: batch skips the lookup.
  const accountOfContact = async (contactId: string): Promise<string | null> =>
    options.trackAffected ? ((await state.getContact(contactId))?.accountId ?? null) : null;

  let decision: Decision;
  switch (event.kind) {
    case 'touch': {
      const existing = await state.getTouch(event.touch.id);
      decision = decideTouch(existing, event.touch);
      if (!changesState(decision)) break;
      if (existing !== null) await track(await accountOfContact(existing.contactId), existing);
      await state.putTouch(event.touch);
      await track(await accountOfContact(event.touch.contactId), event.touch);
      break;
    }
    case 'contact': {
      const existing = await state.getContact(event.contact.id);
      decision = decideContact(existing, event.contact);
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
      const record =
        event.kind === 'opportunity'
          ? ({ kind: 'live', opportunity: event.opportunity } as const)
          : ({ kind: 'deleted', id: event.deletion.id, version: event.deletion.version } as const);
      const id = record.kind === 'live' ? record.opportunity.id : record.id;
      decision = decideOpportunity(await state.getOpportunity(id), record);
      if (!changesState(decision)) break;
      await state.putOpportunity(record);
      if (options.trackAffected) affected.add(id);
      break;
    }
  }
  return { decision, affected: [...affected] };
}
