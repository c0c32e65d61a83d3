import {
  attributeEligible,
  inReportingCurrency,
  type AttributionSettings,
  type OpportunityAttribution,
} from '../domain/attribute.js';
import { compareTouches, type Opportunity, type Touch } from '../domain/events.js';
import { windowStart } from '../domain/window.js';
import type { WorkingState } from './working-state.js';

/**
 * Attributes one live opportunity from the touches the state holds for its account's contacts.
 * Each contact's window comes sorted and unique from its history; one contact's is used as it
 * is, several are merged and sorted once (a touch belongs to one contact, so none repeats).
 * Null when the opportunity is pending_fx (a foreign currency without a usable rate): it is
 * credited nowhere until its rate arrives.
 */
export function attributeInState(
  state: WorkingState,
  given: Opportunity,
  settings: AttributionSettings,
): OpportunityAttribution | null {
  const converted = inReportingCurrency(given, settings.fx);
  if (converted === null) return null;
  const { opportunity, original } = converted;
  const from = windowStart(opportunity.createdAt, settings.windowMs);
  let single: readonly Touch[] = NONE;
  let merged: Touch[] | null = null;
  for (const contactId of state.contactsOf(opportunity.accountId)) {
    const touches = state.touchesOf(contactId, from, opportunity.createdAt);
    if (touches.length === 0) continue;
    if (single.length === 0) single = touches;
    else {
      merged ??= single.slice();
      for (const touch of touches) merged.push(touch);
    }
  }
  const attribution = attributeEligible(
    opportunity,
    merged === null ? single : merged.sort(compareTouches),
    settings,
  );
  return original === null ? attribution : { ...attribution, original };
}

const NONE: readonly Touch[] = [];

/** The current attribution of an opportunity id, or null when it is unknown, deleted or pending_fx. */
export function attributeIdInState(
  state: WorkingState,
  opportunityId: string,
  settings: AttributionSettings,
): OpportunityAttribution | null {
  const record = state.opportunity(opportunityId);
  if (record === undefined || record.kind === 'deleted') return null;
  return attributeInState(state, record.opportunity, settings);
}
