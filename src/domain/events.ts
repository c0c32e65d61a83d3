import type { Nanos } from './money.js';
import type { Instant } from './time.js';

/** A marketing or sales touch on one contact, at one instant. */
export interface Touch {
  readonly id: string;
  readonly contactId: string;
  readonly channel: string;
  readonly occurredAt: Instant;
  readonly source: TouchSource;
}

export type TouchSource = 'marketing' | 'sales';

/** CRM contact. A null account means the contact is detached from every account. */
export interface Contact {
  readonly id: string;
  readonly accountId: string | null;
  /** Version for last-writer-wins; the CSV format has none (0). */
  readonly version: Instant;
}

export interface Opportunity {
  readonly id: string;
  readonly accountId: string;
  readonly amount: Nanos;
  readonly createdAt: Instant;
  readonly segment: string;
  readonly version: Instant;
}

/** A removal of an opportunity (tombstone or delete op) at a version. */
export interface OpportunityDeletion {
  readonly id: string;
  readonly version: Instant;
}

export type DomainEvent =
  | { readonly kind: 'touch'; readonly touch: Touch }
  | { readonly kind: 'contact'; readonly contact: Contact }
  | { readonly kind: 'opportunity'; readonly opportunity: Opportunity }
  | { readonly kind: 'opportunity-deleted'; readonly deletion: OpportunityDeletion };

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
    a.source === b.source
  );
}
