import { compareText } from './aggregate.js';
import { TAG_FIELDS, type Contact, type Opportunity, type Touch } from './events.js';

/**
 * Pure decisions on what a newly delivered record does to what is already known. They make the
 * final state independent of delivery order and count:
 * - touches are immutable facts keyed by id;
 * - contacts and opportunities are last-writer-wins by version; a deletion is a versioned
 *   tombstone, so an older update delivered late cannot bring an opportunity back;
 * - two different records under one id and version are a conflict: it is reported, and the
 *   record with the smaller content key is kept, whichever arrived first.
 */
export type Decision = 'apply' | 'duplicate' | 'stale' | 'conflict-replace' | 'conflict-keep';

const conflict = (existingKey: string, incomingKey: string): Decision =>
  existingKey === incomingKey
    ? 'duplicate'
    : compareText(incomingKey, existingKey) < 0
      ? 'conflict-replace'
      : 'conflict-keep';

export const touchKey = (t: Touch): string => {
  const base = [t.contactId, t.channel, t.occurredAt, t.source];
  if (t.tags !== undefined) for (const field of TAG_FIELDS) base.push(t.tags[field] ?? '');
  if (t.channelText !== undefined) base.push(`channel:${t.channelText ?? ''}`);
  return base.join('\u0000');
};

export function decideTouch(existing: Touch | null, incoming: Touch): Decision {
  return existing === null ? 'apply' : conflict(touchKey(existing), touchKey(incoming));
}

export function decideContact(existing: Contact | null, incoming: Contact): Decision {
  if (existing === null || incoming.version > existing.version) return 'apply';
  if (incoming.version < existing.version) return 'stale';
  return conflict(contactKey(existing), contactKey(incoming));
}

const contactKey = (c: Contact): string =>
  c.leadCreatedAt === undefined ? (c.accountId ?? '') : `${c.accountId ?? ''}\u0000lead:${c.leadCreatedAt}`;

/** What the book holds for an opportunity id: the live version or the tombstone of a deletion. */
export type OpportunityRecord =
  | { readonly kind: 'live'; readonly opportunity: Opportunity }
  | { readonly kind: 'deleted'; readonly id: string; readonly version: number };

const versionOf = (record: OpportunityRecord): number =>
  record.kind === 'live' ? record.opportunity.version : record.version;

export const opportunityKey = (o: Opportunity): string =>
  [
    o.accountId,
    o.amount,
    o.createdAt,
    o.segment,
    ...(o.currency === undefined ? [] : [o.currency]),
    ...(o.stage === undefined ? [] : [`stage:${o.stage}`, o.closedAt ?? '']),
  ].join('\u0000');

export function decideOpportunity(existing: OpportunityRecord | null, incoming: OpportunityRecord): Decision {
  if (existing === null) return 'apply';
  const before = versionOf(existing);
  const after = versionOf(incoming);
  if (after > before) return 'apply';
  if (after < before) return 'stale';
  if (existing.kind === 'deleted' && incoming.kind === 'deleted') return 'duplicate';
  // A deletion and an update at the same version: the deletion wins, whichever came first.
  if (existing.kind === 'deleted') return 'stale';
  if (incoming.kind === 'deleted') return 'apply';
  return conflict(opportunityKey(existing.opportunity), opportunityKey(incoming.opportunity));
}

/** Whether a decision changes the stored state. */
export const changesState = (decision: Decision): boolean =>
  decision === 'apply' || decision === 'conflict-replace';
