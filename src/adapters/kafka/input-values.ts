import type { SourcedRecord } from '../../app/ingest.js';
import { textOf } from '../../domain/validate.js';
import { parseRate } from '../../domain/fx.js';
import { parseAmount } from '../../domain/money.js';
import { parseInstant } from '../../domain/time.js';
import type { TopicNames } from './topics.js';

/** One input record as a real producer would publish it: topic, Avro key and value, event time. */
export interface InputMessage {
  readonly topic: string;
  readonly key: Record<string, unknown>;
  readonly value: Record<string, unknown> | null;
  readonly eventTime: number;
  readonly origin: SourcedRecord['origin'];
}

export type ToMessage = { ok: true; message: InputMessage } | { ok: false; detail: string };

/**
 * Maps a file record onto the input topics' Avro shapes. Text that an Avro producer could not
 * even encode (a date that is no instant, an amount that is no number) is refused here, as the
 * producing system would refuse it; everything encodable is sent, bad or not, for the service
 * to judge — negative amounts, unknown channels and null contacts included.
 */
export function toInputMessage(record: SourcedRecord, topics: TopicNames): ToMessage {
  if (record.kind === 'malformed') return { ok: false, detail: record.detail };
  const raw = record.raw;
  const time = (field: string, required: boolean): number | null | 'bad' => {
    const text = textOf(raw, field);
    if (text === null) return required ? 'bad' : null;
    return parseInstant(text) ?? 'bad';
  };
  const origin = record.origin;
  switch (record.kind) {
    case 'touch': {
      const occurredAt = time('occurred_at', true);
      if (occurredAt === 'bad' || occurredAt === null)
        return {
          ok: false,
          detail: `occurred_at "${raw['occurred_at'] ?? ''}" cannot be encoded as timestamp-millis`,
        };
      const contactId = textOf(raw, 'contact_id');
      return {
        ok: true,
        message: {
          topic: topics.touchpoints,
          key: { contact_id: contactId ?? '' },
          value: {
            touchpoint_id: textOf(raw, 'touchpoint_id') ?? '',
            source: record.touchSource,
            // Absent when the source knows only UTM parameters: the channel rules place it.
            channel: textOf(raw, 'channel'),
            contact_id: contactId,
            occurred_at: occurredAt,
            email: null,
            campaign_id: textOf(raw, 'campaign_id'),
            campaign_name: textOf(raw, 'campaign_name'),
            utm_source: textOf(raw, 'utm_source'),
            utm_medium: textOf(raw, 'utm_medium'),
            utm_campaign: textOf(raw, 'utm_campaign'),
          },
          eventTime: occurredAt,
          origin,
        },
      };
    }
    case 'contact': {
      const updatedAt = time('updated_at', false);
      if (updatedAt === 'bad')
        return { ok: false, detail: 'updated_at cannot be encoded as timestamp-millis' };
      const contactId = textOf(raw, 'contact_id');
      if (contactId === null)
        return { ok: false, detail: 'contact_id is missing: a compacted topic cannot key it' };
      return {
        ok: true,
        message: {
          topic: topics.contacts,
          key: { contact_id: contactId },
          value: { contact_id: contactId, account_id: textOf(raw, 'account_id'), updated_at: updatedAt ?? 0 },
          eventTime: updatedAt ?? Number.MIN_SAFE_INTEGER,
          origin,
        },
      };
    }
    case 'opportunity': {
      const id = textOf(raw, 'opportunity_id');
      if (id === null)
        return { ok: false, detail: 'opportunity_id is missing: a compacted topic cannot key it' };
      const createdAt = time('created_at', false);
      const updatedAt = time('updated_at', false);
      if (createdAt === 'bad' || updatedAt === 'bad')
        return { ok: false, detail: 'created_at/updated_at cannot be encoded as timestamp-millis' };
      const amountText = textOf(raw, 'amount');
      const parsed = amountText === null ? null : parseAmount(amountText.replace(/^-/, ''));
      if (parsed !== null && parsed.kind !== 'ok')
        return { ok: false, detail: `amount "${amountText ?? ''}" cannot be encoded as decimal(38,9)` };
      const amount =
        parsed === null ? null : amountText?.startsWith('-') === true ? -parsed.nanos : parsed.nanos;
      const deleted = textOf(raw, 'deleted') === 'true';
      return {
        ok: true,
        message: {
          topic: topics.opportunities,
          key: { opportunity_id: id },
          value: {
            opportunity_id: id,
            op: deleted ? 'DELETE' : 'UPSERT',
            account_id: textOf(raw, 'account_id'),
            amount,
            created_at: createdAt,
            sales_segment: textOf(raw, 'sales_segment'),
            updated_at: updatedAt ?? createdAt ?? 0,
            currency: textOf(raw, 'currency'),
          },
          eventTime: Math.max(createdAt ?? Number.MIN_SAFE_INTEGER, updatedAt ?? Number.MIN_SAFE_INTEGER),
          origin,
        },
      };
    }
    case 'rate': {
      const date = textOf(raw, 'date');
      const currency = textOf(raw, 'currency')?.toUpperCase() ?? null;
      const rateText = textOf(raw, 'rate');
      const parsed = rateText === null ? null : parseRate(rateText);
      if (date === null || currency === null || parsed?.kind !== 'ok')
        return {
          ok: false,
          detail: `rate row ${JSON.stringify([date, currency, rateText])} cannot be encoded: it needs date, currency and a rate > 0`,
        };
      const day = Date.parse(`${date}T00:00:00Z`);
      return {
        ok: true,
        message: {
          topic: topics.fxRates,
          key: { currency, date },
          value: { date, currency, rate: parsed.rate },
          eventTime: Number.isNaN(day) ? Number.MIN_SAFE_INTEGER : day,
          origin,
        },
      };
    }
  }
}
