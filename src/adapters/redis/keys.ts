import type { OpportunityRecord } from '../../domain/decide.js';
import {
  campaignOf,
  TAG_FIELDS,
  type Contact,
  type Touch,
  type TouchSource,
  type TouchTags,
} from '../../domain/events.js';
import { parseRate, type RateRow } from '../../domain/fx.js';
import type { Instant } from '../../domain/time.js';
import { AppError } from '../../errors.js';
import type { PendingClaim } from '../../app/ports.js';

/**
 * Key layout (v3) and value formats of the Redis state store. Every key starts with the store's
 * prefix (one per deployment, one per test), so several stores share a Redis without seeing
 * each other, followed by the hash tag `{s}`. One key names the current generation of state;
 * every state key carries the generation it belongs to:
 *
 *   {prefix}{s}generation                   hash  id, status (ready|rebuilding), owner, heartbeatAt (epoch ms)
 *   {prefix}{s}{gen}:touches                hash  touch id → ["contactId","channel",occurredAt,"source"(,X)]
 *   {prefix}{s}{gen}:history:{contactId}    zset  score occurredAt, member ["touchId","channel","source"(,X)]
 *     X, only for a touch with campaign/UTM fields or one the channel rules placed:
 *       [channelText (false = a known channel) | null | "text", campaign_id, campaign_name,
 *        utm_source, utm_medium, utm_campaign] (each null when absent)
 *   {prefix}{s}{gen}:contacts               hash  contact id → ["accountId"|null,version]
 *   {prefix}{s}{gen}:account-contacts:{id}  set   contact ids of the account
 *   {prefix}{s}{gen}:opportunities          hash  opportunity id → ["live","accountId","amount",createdAt,"segment",version(,"currency")]
 *                                                                 | ["deleted",version]
 *   {prefix}{s}{gen}:account-opps:{id}      hash  LIVE opportunity id → createdAt (epoch ms text)
 *   {prefix}{s}{gen}:watermarks             hash  source (topic-partition) → its event-time watermark
 *   {prefix}{s}{gen}:pending:{source}       zset  opportunities to re-attribute, score = createdAt
 *   {prefix}{s}{gen}:pending-marks:{source} hash  opportunity id → [seq, firstMarkedAtMs, "reason"]
 *   {prefix}{s}{gen}:pending-seq:{source}   string  the last seq handed out by a mark of the source
 *   {prefix}{s}{gen}:fx-rates               hash  "CUR|YYYY-MM-DD" → rate (exact decimal text)
 *   {prefix}{s}{gen}:fx-rates-version       string  incremented with every rates write (readers cache the rates)
 *   {prefix}{s}{gen}:currency-opps:{CUR}    zset  score createdAt, member: an opportunity ever stored in CUR
 *                                                 (never removed: a stale member costs one re-attribution)
 *   {prefix}{s}{gen}:pending-fx             set   opportunities whose last attribution found no usable rate
 *
 * Why this shape:
 * - Generations: a Redis that restarts empty, is flushed or is restored from an old snapshot
 *   must not be mistaken for the state Touchline wrote. Every read and every write checks, in the
 *   same transaction or script, that the generation key still names the generation the store
 *   was opened on, and fails with STATE_LOST otherwise. A rebuild writes a new generation under
 *   new keys, so an instance that has not noticed yet can only write into the old, discarded
 *   keys (and its apply then fails the check, so it does not commit its Kafka offsets).
 * - Hash slots: the tag `{s}` puts every key of a deployment in one slot, so the apply
 *   transaction (state + pending marks, MULTI/EXEC), the trim script and the pending scripts
 *   run unchanged on a Redis Cluster (CROSSSLOT never happens). One tag group holds it all,
 *   and the tag is the same literal for every prefix: on a cluster, every deployment's state
 *   sits on the master of keyslot("s") — Cluster-compatible, not sharded. Sharding needs a tag
 *   per account and an apply per tag group (see docs/services.md).
 * - A history member carries the whole touch (its contact is the key, its time the score), so
 *   reading 1,000 histories is one pipeline of ZRANGEBYSCORE and needs no second lookup.
 * - The account → opportunity index carries created_at, so a batch knows which opportunities a
 *   touch can affect (the window) without loading them.
 * - The pending set is per input partition: whoever owns the partition drains it, so a crashed
 *   instance's pending work is finished by the next owner. Every mark takes a new `seq` from the
 *   source's counter (never reused, even after a release removed the entry), and a drain removes
 *   only entries whose mark it read, so a mark made during a drain survives it.
 * - Touches by id live in one hash rather than one key per touch: HMGET reads any number in one
 *   command, a field costs less memory than a key, and the trim script names every key it
 *   touches in KEYS. Trimming deletes the hash fields with the history members.
 * - Contacts and opportunities (tombstones included) are never trimmed: a tombstone is what
 *   lets a stale update be recognised, however late it arrives.
 * - Ids are the whole suffix after a fixed segment, so any id text (':' included) is safe.
 * - Values are JSON arrays: compact, readable in redis-cli; amounts are decimal strings because
 *   bigint nano-units do not fit a double.
 */
export interface StateKeys {
  readonly touches: string;
  readonly contacts: string;
  readonly opportunities: string;
  readonly watermarks: string;
  readonly history: (contactId: string) => string;
  readonly accountContacts: (accountId: string) => string;
  readonly accountOpportunities: (accountId: string) => string;
  readonly pending: (source: string) => string;
  readonly pendingMarks: (source: string) => string;
  readonly pendingSeq: (source: string) => string;
  readonly fxRates: string;
  readonly fxVersion: string;
  readonly currencyOpportunities: (currency: string) => string;
  readonly pendingFx: string;
}

/** A generation id: letters, digits and dashes only (it is part of every key). */
export const GENERATION_ID = /^[a-z0-9-]{1,40}$/;

/** The one key naming the current generation of a deployment's state. */
export const generationKey = (prefix: string): string => `${prefix}{s}generation`;

/** The pattern matching every key of a deployment's state (all generations), for SCAN. */
export const deploymentPattern = (prefix: string): string =>
  `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}{s}*`;

/** The keys of one generation of a deployment's state. */
export function stateKeys(prefix: string, generation: string): StateKeys {
  if (!GENERATION_ID.test(generation)) throw new AppError('INTERNAL', `not a generation id: ${generation}`);
  const base = `${prefix}{s}${generation}:`;
  return {
    touches: `${base}touches`,
    contacts: `${base}contacts`,
    opportunities: `${base}opportunities`,
    watermarks: `${base}watermarks`,
    history: (contactId) => `${base}history:${contactId}`,
    accountContacts: (accountId) => `${base}account-contacts:${accountId}`,
    accountOpportunities: (accountId) => `${base}account-opps:${accountId}`,
    fxRates: `${base}fx-rates`,
    fxVersion: `${base}fx-rates-version`,
    currencyOpportunities: (currency) => `${base}currency-opps:${currency}`,
    pendingFx: `${base}pending-fx`,
    pending: (source) => `${base}pending:${source}`,
    pendingMarks: (source) => `${base}pending-marks:${source}`,
    pendingSeq: (source) => `${base}pending-seq:${source}`,
  };
}

// ---- Value codecs: the formats in the table above, and nothing else. ----

const corrupt = (what: string, text: string): Error =>
  new AppError('INTERNAL', `corrupt ${what} in Redis: ${text.slice(0, 200)}`, { retriable: false });

function parseArray(what: string, text: string, lengths: readonly number[]): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new AppError('INTERNAL', `corrupt ${what} in Redis: ${text.slice(0, 200)}`, { cause });
  }
  if (!Array.isArray(value) || !lengths.includes(value.length)) throw corrupt(what, text);
  return value as unknown[];
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isInstant = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isSource = (value: unknown): value is TouchSource => value === 'marketing' || value === 'sales';

/** The optional part X of a touch (see the table above), or undefined for a plain touch. */
function touchExtra(t: Touch): unknown[] | undefined {
  if (t.tags === undefined && t.channelText === undefined) return undefined;
  const tags = t.tags;
  return [
    t.channelText === undefined ? false : t.channelText,
    ...TAG_FIELDS.map((field) => tags?.[field] ?? null),
  ];
}

/** The touch with its optional part X read back; a plain touch stays as it was (no extra keys). */
function withExtra(touch: Touch, extra: unknown, what: string, text: string): Touch {
  if (extra === undefined) return touch;
  if (!Array.isArray(extra) || extra.length !== 1 + TAG_FIELDS.length) throw corrupt(what, text);
  const [channelText, ...values] = extra as unknown[];
  if (!(channelText === false || channelText === null || isString(channelText))) throw corrupt(what, text);
  if (!values.every((v) => v === null || isString(v))) throw corrupt(what, text);
  const fields = values;
  const present = fields.some((v) => v !== null);
  const tags: TouchTags | undefined = present
    ? {
        campaign_id: fields[0] ?? null,
        campaign_name: fields[1] ?? null,
        utm_source: fields[2] ?? null,
        utm_medium: fields[3] ?? null,
        utm_campaign: fields[4] ?? null,
      }
    : undefined;
  return {
    ...touch,
    ...(tags === undefined ? {} : { campaign: campaignOf(tags), tags }),
    ...(channelText === false ? {} : { channelText }),
  };
}

export const encodeTouch = (t: Touch): string => {
  const extra = touchExtra(t);
  return JSON.stringify(
    extra === undefined
      ? [t.contactId, t.channel, t.occurredAt, t.source]
      : [t.contactId, t.channel, t.occurredAt, t.source, extra],
  );
};

export function decodeTouch(id: string, text: string): Touch {
  const [contactId, channel, occurredAt, source, extra] = parseArray('touch', text, [4, 5]);
  if (!isString(contactId) || !isString(channel) || !isInstant(occurredAt) || !isSource(source))
    throw corrupt('touch', text);
  return withExtra({ id, contactId, channel, occurredAt, source }, extra, 'touch', text);
}

/** A history member: the touch without what its key (contact) and score (time) already say. */
export const encodeHistoryMember = (t: Touch): string => {
  const extra = touchExtra(t);
  return JSON.stringify(
    extra === undefined ? [t.id, t.channel, t.source] : [t.id, t.channel, t.source, extra],
  );
};

export function decodeHistoryMember(contactId: string, member: string, score: string): Touch {
  const [id, channel, source, extra] = parseArray('history member', member, [3, 4]);
  const occurredAt = Number(score);
  if (!isString(id) || !isString(channel) || !isSource(source) || !isInstant(occurredAt))
    throw corrupt('history member', member);
  return withExtra({ id, contactId, channel, occurredAt, source }, extra, 'history member', member);
}

export const encodeContact = (c: Contact): string => JSON.stringify([c.accountId, c.version]);

export function decodeContact(id: string, text: string): Contact {
  const [accountId, version] = parseArray('contact', text, [2]);
  if (!(accountId === null || isString(accountId)) || !isInstant(version)) throw corrupt('contact', text);
  return { id, accountId, version };
}

export function encodeOpportunity(record: OpportunityRecord): string {
  if (record.kind === 'deleted') return JSON.stringify(['deleted', record.version]);
  const o = record.opportunity;
  const fields = ['live', o.accountId, o.amount.toString(), o.createdAt, o.segment, o.version];
  return JSON.stringify(o.currency === undefined ? fields : [...fields, o.currency]);
}

export function decodeOpportunity(id: string, text: string): OpportunityRecord {
  const fields = parseArray('opportunity', text, [2, 6, 7]);
  if (fields[0] === 'deleted' && fields.length === 2 && isInstant(fields[1]))
    return { kind: 'deleted', id, version: fields[1] };
  const [kind, accountId, amount, createdAt, segment, version, currency] = fields;
  if (currency !== undefined && !isString(currency)) throw corrupt('opportunity', text);
  if (kind !== 'live' || !isString(accountId) || !isString(amount) || !/^-?\d+$/.test(amount))
    throw corrupt('opportunity', text);
  if (!isInstant(createdAt) || !isString(segment) || !isInstant(version)) throw corrupt('opportunity', text);
  return {
    kind: 'live',
    opportunity: {
      id,
      accountId,
      amount: BigInt(amount),
      createdAt,
      segment,
      version,
      ...(currency === undefined ? {} : { currency }),
    },
  };
}

export const encodeWatermark = (eventTime: Instant): string => String(eventTime);

/** What String() writes for a finite number: plain decimal, or with an exponent beyond 1e21. */
const DECIMAL = /^-?\d+(?:\.\d+)?(?:e[+-]\d+)?$/;

/** An HGETALL reply of the watermarks hash ([source, text, source, text, …]) as source → instant. */
export function decodeWatermarks(reply: unknown): Map<string, Instant> {
  if (!Array.isArray(reply) || reply.length % 2 !== 0)
    throw corrupt('watermarks', JSON.stringify(reply) ?? '');
  const found = new Map<string, Instant>();
  for (let i = 0; i < reply.length; i += 2) {
    const source: unknown = reply[i];
    const text: unknown = reply[i + 1];
    if (!isString(source) || !isString(text) || !DECIMAL.test(text))
      throw corrupt('watermark', JSON.stringify([source, text]));
    const instant = Number(text);
    if (!isInstant(instant)) throw corrupt('watermark', JSON.stringify([source, text]));
    found.set(source, instant);
  }
  return found;
}

/** An instant stored as decimal text (a score or a hash value). */
export function decodeInstant(what: string, text: string): Instant {
  const instant = DECIMAL.test(text) ? Number(text) : NaN;
  if (!isInstant(instant)) throw corrupt(what, text);
  return instant;
}

/** A CLAIM reply ([id, mark, id, mark, …]; mark = [seq, "markedAtMs", "reason"] or '') as claims. */
export function decodeClaims(reply: unknown): PendingClaim[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0)
    throw corrupt('pending claim', JSON.stringify(reply) ?? '');
  const claims: PendingClaim[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    const id: unknown = reply[i];
    const token: unknown = reply[i + 1];
    if (!isString(id) || !isString(token)) throw corrupt('pending claim', JSON.stringify([id, token]));
    let markedAt = 0;
    let reason = 'unknown';
    if (token !== '') {
      const [, at, why] = parseArray('pending mark', token, [3]);
      markedAt = typeof at === 'string' ? Number(at) : typeof at === 'number' ? at : 0;
      reason = isString(why) ? why : reason;
    }
    claims.push({ opportunityId: id, token, reason, markedAt: Number.isFinite(markedAt) ? markedAt : 0 });
  }
  return claims;
}

export const rateField = (currency: string, date: string): string => `${currency}|${date}`;

/** An HGETALL of the rates hash as rows of the wanted currencies (null: all). */
export function decodeRates(reply: unknown, currencies: ReadonlySet<string> | null): RateRow[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw corrupt('fx rates', JSON.stringify(reply) ?? '');
  const rows: RateRow[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    const field: unknown = reply[i];
    const text: unknown = reply[i + 1];
    if (!isString(field) || !isString(text)) throw corrupt('fx rate', JSON.stringify([field, text]));
    const [currency = '', date = ''] = field.split('|');
    if (currencies !== null && !currencies.has(currency)) continue;
    const rate = parseRate(text);
    if (rate.kind !== 'ok' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) throw corrupt('fx rate', `${field} ${text}`);
    rows.push({ currency, date, rate: rate.rate });
  }
  return rows;
}
