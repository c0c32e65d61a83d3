import { attributeOpportunity, type AttributionSettings, type OpportunityAttribution } from '../domain/attribute.js';
import type { Opportunity, Touch } from '../domain/events.js';
import { windowStart } from '../domain/window.js';
import type { WorkingState } from './working-state.js';

/** Attributes one live opportunity from the touches the state holds for its account's contacts. */
export function attributeInState(
  state: WorkingState,
  opportunity: Opportunity,
  settings: AttributionSettings,
): OpportunityAttribution {
  const from = windowStart(opportunity.createdAt, settings.windowMs);
  let candidates: Touch[] = [];
  for (const contactId of state.contactsOf(opportunity.accountId)) {
    const touches = state.touchesOf(contactId, from, opportunity.createdAt);
    if (touches.length > 0) candidates = candidates.length === 0 ? [...touches] : candidates.concat(touches);
  }
  return attributeOpportunity(opportunity, candidates, settings);
}

/** The current attribution of an opportunity id, or null when it is unknown or deleted. */
export function attributeIdInState(
  state: WorkingState,
  opportunityId: string,
  settings: AttributionSettings,
): OpportunityAttribution | null {
  const record = state.opportunity(opportunityId);
  if (record === undefined || record.kind === 'deleted') return null;
  return attributeInState(state, record.opportunity, settings);
}
