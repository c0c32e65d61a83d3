import { attributeOpportunity, type AttributionSettings, type OpportunityAttribution } from '../domain/attribute.js';
import type { Opportunity } from '../domain/events.js';
import type { AttributionState } from './ports.js';

/** Attributes one live opportunity from what the state knows about its account's touches. */
export async function attributeFromState(
  state: AttributionState,
  opportunity: Opportunity,
  settings: AttributionSettings,
): Promise<OpportunityAttribution> {
  const contacts = await state.contactsOfAccount(opportunity.accountId);
  const touches =
    contacts.length === 0
      ? []
      : await state.touchesOfContacts(contacts, opportunity.createdAt - settings.windowMs, opportunity.createdAt);
  return attributeOpportunity(opportunity, touches, settings);
}

/** The current attribution of an opportunity id, or null when it is unknown or deleted. */
export async function attributeById(
  state: AttributionState,
  opportunityId: string,
  settings: AttributionSettings,
): Promise<OpportunityAttribution | null> {
  const record = await state.getOpportunity(opportunityId);
  if (record === null || record.kind === 'deleted') return null;
  return attributeFromState(state, record.opportunity, settings);
}
