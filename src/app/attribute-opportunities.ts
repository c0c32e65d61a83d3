import {
  attributeEligible,
  inReportingCurrency,
  leadCreationOf,
  readsStageInputs,
  weighsThroughClose,
  type AttributionSettings,
  type OpportunityAttribution,
  type StageInputs,
} from '../domain/attribute.js';
import { closedWonAt, compareTouches, type Opportunity, type Touch } from '../domain/events.js';
import type { Instant } from '../domain/time.js';
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
  const contacts = state.contactsOf(opportunity.accountId);
  const eligible = touchesBetween(state, contacts, from, opportunity.createdAt);
  const attribution = attributeEligible(
    opportunity,
    eligible,
    settings,
    stageInputs(state, contacts, opportunity, settings),
  );
  return original === null ? attribution : { ...attribution, original };
}

/** The touches of `contacts` in [from, to], canonical order: one contact's as they are, several merged. */
function touchesBetween(
  state: WorkingState,
  contacts: ReadonlySet<string>,
  from: Instant,
  to: Instant,
): readonly Touch[] {
  let single: readonly Touch[] = NONE;
  let merged: Touch[] | null = null;
  for (const contactId of contacts) {
    const touches = state.touchesOf(contactId, from, to);
    if (touches.length === 0) continue;
    if (single.length === 0) single = touches;
    else {
      merged ??= single.slice();
      for (const touch of touches) merged.push(touch);
    }
  }
  return merged === null ? single : merged.sort(compareTouches);
}

/** L from the contacts' lead creation, and the touches after creation up to closed won when a model needs them. */
function stageInputs(
  state: WorkingState,
  contacts: ReadonlySet<string>,
  opportunity: Opportunity,
  settings: AttributionSettings,
): StageInputs {
  // The five window models read none of it: no contact lookups per opportunity for them.
  if (!readsStageInputs(settings)) return NO_STAGE_INPUTS;
  const leads: Instant[] = [];
  for (const contactId of contacts) {
    const at = state.contact(contactId)?.leadCreatedAt;
    if (at !== undefined) leads.push(at);
  }
  const closedAt = closedWonAt(opportunity);
  const afterCreation =
    closedAt === null || closedAt === opportunity.createdAt || !weighsThroughClose(settings)
      ? NONE
      : touchesBetween(state, contacts, opportunity.createdAt + 1, closedAt);
  return {
    leadCreatedAt:
      leads.length === 0 ? null : leadCreationOf(leads, opportunity.createdAt, settings.windowMs),
    afterCreation,
  };
}

const NONE: readonly Touch[] = [];
const NO_STAGE_INPUTS: StageInputs = { leadCreatedAt: null, afterCreation: NONE };

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
