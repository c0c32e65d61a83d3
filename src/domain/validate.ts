import type { Vocabulary } from './catalog.js';
import type { Contact, DomainEvent, Opportunity, Touch, TouchSource } from './events.js';
import { parseAmount } from './money.js';
import { parseInstant } from './time.js';

/** Why a record was refused. Stable codes: they are metric labels and DLQ headers. */
export const REJECT_REASONS = [
  'missing_field',
  'missing_contact',
  'unknown_contact',
  'invalid_date',
  'invalid_amount',
  'negative_amount',
  'unknown_channel',
  'unknown_segment',
  'conflicting_duplicate',
  'malformed_record',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly reason: RejectReason;
  readonly field?: string;
  readonly detail: string;
}

export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: Rejection };

/** Raw fields as a source delivers them: strings, with null/absent/literal "null" meaning missing. */
export type RawRecord = Readonly<Record<string, string | null | undefined>>;

export interface Vocabularies {
  readonly channels: Vocabulary;
  readonly segments: Vocabulary;
}

const reject = (reason: RejectReason, detail: string, field?: string): Validated<never> => ({
  ok: false,
  rejection: field === undefined ? { reason, detail } : { reason, detail, field },
});

/** Missing, empty, or the literal text "null" (which CSV exports write for SQL NULL). */
export function textOf(raw: RawRecord, field: string): string | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  const trimmed = value.trim();
  return trimmed === '' || (trimmed.length === 4 && trimmed.toLowerCase() === 'null') ? null : trimmed;
}

function required(raw: RawRecord, field: string): Validated<string> {
  const value = textOf(raw, field);
  return value === null ? reject('missing_field', `${field} is missing`, field) : { ok: true, value };
}

function instant(raw: RawRecord, field: string): Validated<number> {
  const text = required(raw, field);
  if (!text.ok) return text;
  const value = parseInstant(text.value);
  return value === null
    ? reject('invalid_date', `${field} "${text.value}" is not an ISO-8601 UTC instant`, field)
    : { ok: true, value };
}

function optionalVersion(raw: RawRecord, field: string): Validated<number> {
  return textOf(raw, field) === null ? { ok: true, value: 0 } : instant(raw, field);
}

export function validateTouch(raw: RawRecord, source: TouchSource, vocab: Vocabularies): Validated<Touch> {
  const id = required(raw, 'touchpoint_id');
  if (!id.ok) return id;
  const contactId = textOf(raw, 'contact_id');
  if (contactId === null) return reject('missing_contact', `touchpoint ${id.value} has no contact_id`, 'contact_id');
  const channelText = required(raw, 'channel');
  if (!channelText.ok) return channelText;
  const channel = vocab.channels.resolve(channelText.value);
  if (channel === null) return reject('unknown_channel', `channel "${channelText.value}" is not a known channel`, 'channel');
  const occurredAt = instant(raw, 'occurred_at');
  if (!occurredAt.ok) return occurredAt;
  return { ok: true, value: { id: id.value, contactId, channel, occurredAt: occurredAt.value, source } };
}

export function validateContact(raw: RawRecord): Validated<Contact> {
  const id = textOf(raw, 'contact_id');
  if (id === null) return reject('missing_contact', 'contact_id is missing', 'contact_id');
  const version = optionalVersion(raw, 'updated_at');
  if (!version.ok) return version;
  return { ok: true, value: { id, accountId: textOf(raw, 'account_id'), version: version.value } };
}

export function validateOpportunity(raw: RawRecord, vocab: Vocabularies): Validated<DomainEvent> {
  const id = required(raw, 'opportunity_id');
  if (!id.ok) return id;
  const version = optionalVersion(raw, 'updated_at');
  if (!version.ok) return version;
  if (textOf(raw, 'deleted') === 'true') {
    return { ok: true, value: { kind: 'opportunity-deleted', deletion: { id: id.value, version: version.value } } };
  }
  const accountId = required(raw, 'account_id');
  if (!accountId.ok) return accountId;
  const amountText = required(raw, 'amount');
  if (!amountText.ok) return amountText;
  const amount = parseAmount(amountText.value);
  if (amount.kind === 'negative') return reject('negative_amount', `amount ${amountText.value} is negative`, 'amount');
  if (amount.kind === 'invalid') return reject('invalid_amount', `amount "${amountText.value}": ${amount.detail}`, 'amount');
  const createdAt = instant(raw, 'created_at');
  if (!createdAt.ok) return createdAt;
  const segmentText = required(raw, 'sales_segment');
  if (!segmentText.ok) return segmentText;
  const segment = vocab.segments.resolve(segmentText.value);
  if (segment === null) {
    return reject('unknown_segment', `sales_segment "${segmentText.value}" is not a known segment`, 'sales_segment');
  }
  const opportunity: Opportunity = {
    id: id.value,
    accountId: accountId.value,
    amount: amount.nanos,
    createdAt: createdAt.value,
    segment,
    version: version.value,
  };
  return { ok: true, value: { kind: 'opportunity', opportunity } };
}
