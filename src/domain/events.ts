import type { RateRow } from './fx.js';
import type { Nanos } from './money.js';
import type { Instant } from './time.js';

/** A marketing or sales touch on one contact, at one instant. */
export interface Touch {
  readonly id: string;
  readonly contactId: string;
  readonly channel: string;
  readonly occurredAt: Instant;
  readonly source: TouchSource;
  /** The campaign credited touches report under (see campaignOf); absent or null = none. */
  readonly campaign?: string | null;
  /** The optional marketing fields as the source gave them; absent when it gave none. */
  readonly tags?: TouchTags;
  /**
   * The channel text when the rules placed the touch (steps 2–4 of SPEC "Channel resolution"):
   * null for a touch without channel, the raw text for an unknown one a rule mapped. Absent
   * when the touch named a known channel, which no rule can change. Attribution resolves such
   * a touch again with the rules in force, so a rules change restates it (touchline restate).
   */
  readonly channelText?: string | null;
}

/** Optional campaign and UTM fields of a touch, null when absent (SPEC "Reporting dimensions"). */
export interface TouchTags {
  readonly campaign_id: string | null;
  readonly campaign_name: string | null;
  readonly utm_source: string | null;
  readonly utm_medium: string | null;
  readonly utm_campaign: string | null;
}

export const TAG_FIELDS = [
  'campaign_id',
  'campaign_name',
  'utm_source',
  'utm_medium',
  'utm_campaign',
] as const;

/**
 * The campaign a touch reports under: its campaign id, else its campaign name, else its
 * utm_campaign (a touch from a landing page knows only the UTM text); null when none.
 */
export const campaignOf = (tags: TouchTags | undefined): string | null =>
  tags === undefined ? null : (tags.campaign_id ?? tags.campaign_name ?? tags.utm_campaign);

const sameTags = (a: TouchTags | undefined, b: TouchTags | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && TAG_FIELDS.every((field) => a[field] === b[field]));

export type TouchSource = 'marketing' | 'sales';

/** CRM contact. A null account means the contact is detached from every account. */
export interface Contact {
  readonly id: string;
  readonly accountId: string | null;
  /** Version for last-writer-wins; the CSV format has none (0). */
  readonly version: Instant;
  /** When the contact became a lead (SPEC "Stage models"); absent = unknown. */
  readonly leadCreatedAt?: Instant;
}

/** An opportunity's stage (SPEC "Stage models"); absent on an opportunity = `open`. */
export type Stage = 'open' | 'closed_won' | 'closed_lost';
export const STAGES: readonly Stage[] = ['open', 'closed_won', 'closed_lost'];

export interface Opportunity {
  readonly id: string;
  readonly accountId: string;
  readonly amount: Nanos;
  readonly createdAt: Instant;
  readonly segment: string;
  readonly version: Instant;
  /** ISO 4217 code of `amount`; absent = the reporting currency (SPEC "Currency"). */
  readonly currency?: string;
  /** Absent = `open`. */
  readonly stage?: Stage;
  /** When it was closed; present exactly when the stage is closed_won or closed_lost. */
  readonly closedAt?: Instant;
}

/** The closed-won instant C of SPEC "Stage models" when it applies (closed won, C ≥ created_at). */
export const closedWonAt = (opportunity: Opportunity): Instant | null =>
  opportunity.stage === 'closed_won' &&
  opportunity.closedAt !== undefined &&
  opportunity.closedAt >= opportunity.createdAt
    ? opportunity.closedAt
    : null;

/** A removal of an opportunity (tombstone or delete op) at a version. */
export interface OpportunityDeletion {
  readonly id: string;
  readonly version: Instant;
}

export type DomainEvent =
  | { readonly kind: 'touch'; readonly touch: Touch }
  | { readonly kind: 'contact'; readonly contact: Contact }
  | { readonly kind: 'opportunity'; readonly opportunity: Opportunity }
  | { readonly kind: 'opportunity-deleted'; readonly deletion: OpportunityDeletion }
  | { readonly kind: 'rate'; readonly rate: RateRow };

/** Sort key for touches: event time, then touchpoint id. Every tie rule derives from this order. */
export function compareTouches(a: Touch, b: Touch): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt - b.occurredAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function sameTouch(a: Touch, b: Touch): boolean {
  return (
    a.id === b.id &&
    a.contactId === b.contactId &&
    a.channel === b.channel &&
    a.occurredAt === b.occurredAt &&
    a.source === b.source &&
    sameTags(a.tags, b.tags) &&
    a.channelText === b.channelText
  );
}
