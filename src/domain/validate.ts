import type { Vocabulary } from './catalog.js';
import { compileChannelRules, EMPTY_RULES, UNASSIGNED, type ChannelResolver } from './channel-rules.js';
import {
  campaignOf,
  TAG_FIELDS,
  type Contact,
  type DomainEvent,
  type Opportunity,
  type Stage,
  type Touch,
  type TouchSource,
  type TouchTags,
} from './events.js';
import { canonicalCurrency, parseRate, type RateRow } from './fx.js';
import { parseLocalDate } from './period.js';
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
  'unknown_currency',
  'unknown_stage',
  'invalid_rate',
  'conflicting_duplicate',
  'malformed_record',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly reason: RejectReason;
  readonly field?: string;
  readonly detail: string;
}

export type Validated<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: Rejection };

/** Raw fields as a source delivers them: strings, with null/absent/literal "null" meaning missing. */
export type RawRecord = Readonly<Record<string, string | null | undefined>>;

export interface Vocabularies {
  readonly channels: Vocabulary;
  readonly segments: Vocabulary;
  /** The channel rules (SPEC "Channel resolution"); without them, no rule maps anything. */
  readonly channelRules?: ChannelResolver;
}

/** Without a rules file: known channels only, a touch without one goes to Unassigned. */
const ruleless = new WeakMap<Vocabulary, ChannelResolver>();
const resolverOf = (vocab: Vocabularies): ChannelResolver => {
  if (vocab.channelRules !== undefined) return vocab.channelRules;
  let resolver = ruleless.get(vocab.channels);
  if (resolver === undefined) {
    resolver = compileChannelRules(EMPTY_RULES, vocab.channels);
    ruleless.set(vocab.channels, resolver);
  }
  return resolver;
};

/**
 * The optional campaign and UTM fields, each checked like an id (no NUL: Postgres text cannot
 * hold it); undefined when the record has none, so a touch without them stays as it was.
 */
function tagsOf(raw: RawRecord): Validated<TouchTags | undefined> {
  let tags: Record<(typeof TAG_FIELDS)[number], string | null> | undefined;
  for (const field of TAG_FIELDS) {
    const value = idText(raw, field);
    if (!value.ok) return value;
    if (value.value === null) continue;
    tags ??= {
      campaign_id: null,
      campaign_name: null,
      utm_source: null,
      utm_medium: null,
      utm_campaign: null,
    };
    tags[field] = value.value;
  }
  return { ok: true, value: tags };
}

export const reject = (reason: RejectReason, detail: string, field?: string): Validated<never> => ({
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

/** How much of an offending text a detail quotes: enough to find it, never a megabyte of it. */
const QUOTED_CHARS = 120;

/** Offending text for a detail: JSON-escaped (control characters visible), long text cut short. */
export function quoted(text: string): string {
  if (text.length <= QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTED_CHARS))}… (${text.length} characters)`;
}

export function required(raw: RawRecord, field: string): Validated<string> {
  const value = textOf(raw, field);
  return value === null ? reject('missing_field', `${field} is missing`, field) : { ok: true, value };
}

/**
 * An id or account id: text with no NUL (Postgres text and jsonb cannot hold U+0000, so such an
 * id would fail later, far from its cause). Missing is null; the caller decides if that is allowed.
 */
export function idText(raw: RawRecord, field: string): Validated<string | null> {
  const value = textOf(raw, field);
  if (value === null || !value.includes('\u0000')) return { ok: true, value };
  return reject('malformed_record', `${field} ${quoted(value)} contains a NUL character (U+0000)`, field);
}

function requiredId(raw: RawRecord, field: string): Validated<string> {
  const value = idText(raw, field);
  if (!value.ok) return value;
  return value.value === null
    ? reject('missing_field', `${field} is missing`, field)
    : { ok: true, value: value.value };
}

function instant(raw: RawRecord, field: string): Validated<number> {
  const text = required(raw, field);
  if (!text.ok) return text;
  const value = parseInstant(text.value);
  return value === null
    ? reject('invalid_date', `${field} ${quoted(text.value)} is not an ISO-8601 UTC instant`, field)
    : { ok: true, value };
}

export function optionalVersion(raw: RawRecord, field: string): Validated<number> {
  return textOf(raw, field) === null ? { ok: true, value: 0 } : instant(raw, field);
}

export function validateTouch(raw: RawRecord, source: TouchSource, vocab: Vocabularies): Validated<Touch> {
  const id = requiredId(raw, 'touchpoint_id');
  if (!id.ok) return id;
  const contactId = idText(raw, 'contact_id');
  if (!contactId.ok) return contactId;
  if (contactId.value === null)
    return reject('missing_contact', `touchpoint ${quoted(id.value)} has no contact_id`, 'contact_id');
  const tags = tagsOf(raw);
  if (!tags.ok) return tags;
  const channelText = textOf(raw, 'channel');
  const resolved = resolverOf(vocab).resolve({
    channel: channelText,
    utm_source: tags.value?.utm_source ?? null,
    utm_medium: tags.value?.utm_medium ?? null,
    utm_campaign: tags.value?.utm_campaign ?? null,
    campaign_name: tags.value?.campaign_name ?? null,
  });
  if (resolved.kind === 'unknown')
    return reject(
      'unknown_channel',
      `channel ${quoted(resolved.text)} is not a known channel (nor mapped by a rule)`,
      'channel',
    );
  const channel = resolved.kind === 'unassigned' ? UNASSIGNED : resolved.channel;
  const occurredAt = instant(raw, 'occurred_at');
  if (!occurredAt.ok) return occurredAt;
  const touch: Touch = {
    id: id.value,
    contactId: contactId.value,
    channel,
    occurredAt: occurredAt.value,
    source,
    ...(tags.value === undefined ? {} : { campaign: campaignOf(tags.value), tags: tags.value }),
    // Placed by the rules: kept so attribution places it again under the rules in force.
    ...(resolved.kind === 'known' ? {} : { channelText }),
  };
  return { ok: true, value: touch };
}

export function validateContact(raw: RawRecord): Validated<Contact> {
  const id = idText(raw, 'contact_id');
  if (!id.ok) return id;
  if (id.value === null) return reject('missing_contact', 'contact_id is missing', 'contact_id');
  const accountId = idText(raw, 'account_id');
  if (!accountId.ok) return accountId;
  const version = optionalVersion(raw, 'updated_at');
  if (!version.ok) return version;
  const lead = optionalInstant(raw, 'lead_created_at');
  if (!lead.ok) return lead;
  const contact: Contact = { id: id.value, accountId: accountId.value, version: version.value };
  return { ok: true, value: lead.value === null ? contact : { ...contact, leadCreatedAt: lead.value } };
}

function optionalInstant(raw: RawRecord, field: string): Validated<number | null> {
  return textOf(raw, field) === null ? { ok: true, value: null } : instant(raw, field);
}

/**
 * SPEC "Stage models": `open`, `closed_won`, `closed_lost`; also as CRMs write them ("Closed
 * Won", "closed-lost"): case, spaces and hyphens are not significant.
 */
export function parseStage(text: string): Stage | null {
  const canonical = text
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return canonical === 'open' || canonical === 'closed_won' || canonical === 'closed_lost' ? canonical : null;
}

/** The stage and closing instant: closed_at required when closed, never before created_at. */
function stageOf(
  raw: RawRecord,
  createdAt: number,
): Validated<{ readonly stage: Stage; readonly closedAt: number | null }> {
  const stageText = textOf(raw, 'stage');
  const stage = stageText === null ? 'open' : parseStage(stageText);
  if (stage === null)
    return reject(
      'unknown_stage',
      `stage ${quoted(stageText ?? '')} is not one of open, closed_won, closed_lost`,
      'stage',
    );
  if (stage === 'open') return { ok: true, value: { stage, closedAt: null } };
  if (textOf(raw, 'closed_at') === null)
    return reject('missing_field', `closed_at is missing (required when the stage is ${stage})`, 'closed_at');
  const closedAt = instant(raw, 'closed_at');
  if (!closedAt.ok) return closedAt;
  if (closedAt.value < createdAt)
    return reject(
      'invalid_date',
      `closed_at ${quoted(textOf(raw, 'closed_at') ?? '')} is before created_at ${quoted(textOf(raw, 'created_at') ?? '')}`,
      'closed_at',
    );
  return { ok: true, value: { stage, closedAt: closedAt.value } };
}

export function validateOpportunity(raw: RawRecord, vocab: Vocabularies): Validated<DomainEvent> {
  const id = requiredId(raw, 'opportunity_id');
  if (!id.ok) return id;
  const version = optionalVersion(raw, 'updated_at');
  if (!version.ok) return version;
  if (textOf(raw, 'deleted') === 'true') {
    return {
      ok: true,
      value: { kind: 'opportunity-deleted', deletion: { id: id.value, version: version.value } },
    };
  }
  const accountId = requiredId(raw, 'account_id');
  if (!accountId.ok) return accountId;
  const amount = amountField(raw, 'amount');
  if (!amount.ok) return amount;
  const createdAt = instant(raw, 'created_at');
  if (!createdAt.ok) return createdAt;
  const segmentText = required(raw, 'sales_segment');
  if (!segmentText.ok) return segmentText;
  const segment = vocab.segments.resolve(segmentText.value);
  if (segment === null) {
    return reject(
      'unknown_segment',
      `sales_segment ${quoted(segmentText.value)} is not a known segment`,
      'sales_segment',
    );
  }
  const currencyText = textOf(raw, 'currency');
  const currency = currencyText === null ? null : canonicalCurrency(currencyText);
  if (currencyText !== null && currency === null)
    return reject(
      'unknown_currency',
      `currency ${quoted(currencyText)} is not an ISO 4217 currency code`,
      'currency',
    );
  const stage = stageOf(raw, createdAt.value);
  if (!stage.ok) return stage;
  const opportunity: Opportunity = {
    id: id.value,
    accountId: accountId.value,
    amount: amount.value,
    createdAt: createdAt.value,
    segment,
    version: version.value,
    ...(currency === null ? {} : { currency }),
    // An open opportunity stays as it was before stages existed: no field, same stored form.
    ...(stage.value.closedAt === null ? {} : { stage: stage.value.stage, closedAt: stage.value.closedAt }),
  };
  return { ok: true, value: { kind: 'opportunity', opportunity } };
}

/**
 * An FX rate row (SPEC "Currency"): a local date, an ISO 4217 code and a decimal rate > 0 with
 * up to 12 decimals, meaning 1 unit of the currency = rate units of the reporting currency.
 */
export function validateRate(raw: RawRecord): Validated<RateRow> {
  const problem = textOf(raw, 'problem');
  if (problem !== null) return reject('malformed_record', problem);
  const date = localDateField(raw, 'date');
  if (!date.ok) return date;
  const currency = currencyField(raw, 'currency');
  if (!currency.ok) return currency;
  const rateText = required(raw, 'rate');
  if (!rateText.ok) return rateText;
  const rate = parseRate(rateText.value);
  if (rate.kind === 'invalid')
    return reject('invalid_rate', `rate ${quoted(rateText.value)}: ${rate.detail}`, 'rate');
  return { ok: true, value: { date: date.value, currency: currency.value, rate: rate.rate } };
}

/** A required exact decimal amount ≥ 0 (up to 9 decimals), in nano-units. */
export function amountField(raw: RawRecord, field: string): Validated<bigint> {
  const text = required(raw, field);
  if (!text.ok) return text;
  const amount = parseAmount(text.value);
  if (amount.kind === 'negative')
    return reject('negative_amount', `${field} ${quoted(text.value)} is negative`, field);
  if (amount.kind === 'invalid')
    return reject('invalid_amount', `${field} ${quoted(text.value)}: ${amount.detail}`, field);
  return { ok: true, value: amount.nanos };
}

/** A required local calendar date YYYY-MM-DD. */
export function localDateField(raw: RawRecord, field: string): Validated<string> {
  const text = required(raw, field);
  if (!text.ok) return text;
  const date = parseLocalDate(text.value);
  return date === null
    ? reject('invalid_date', `${field} ${quoted(text.value)} is not a calendar date YYYY-MM-DD`, field)
    : { ok: true, value: date };
}

/** A required ISO 4217 currency code, canonical (upper case). */
export function currencyField(raw: RawRecord, field: string): Validated<string> {
  const text = required(raw, field);
  if (!text.ok) return text;
  const currency = canonicalCurrency(text.value);
  return currency === null
    ? reject('unknown_currency', `${field} ${quoted(text.value)} is not an ISO 4217 currency code`, field)
    : { ok: true, value: currency };
}
