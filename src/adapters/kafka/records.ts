import type { SourcedRecord } from '../../app/ingest.js';
import type { RecordOrigin } from '../../app/quality.js';
import { formatRate } from '../../domain/fx.js';
import { formatNanos } from '../../domain/money.js';
import { formatInstant } from '../../domain/time.js';
import type { TopicNames } from './topics.js';

/**
 * Decoded Avro → the raw string fields every adapter hands to the one validation path, so a
 * record refused in batch is refused in streaming for the same reason.
 */
export function toSourcedRecord(
  topics: TopicNames,
  topic: string,
  key: Record<string, unknown> | null,
  value: Record<string, unknown> | null,
  origin: RecordOrigin,
  messageTimestamp: number,
): SourcedRecord {
  if (topic === topics.opportunities) {
    if (value === null) {
      // A tombstone carries no version of its own: the record's Kafka timestamp stands in.
      const id = text(key?.['opportunity_id']);
      return id === null
        ? { kind: 'malformed', origin, detail: 'tombstone without an opportunity_id key' }
        : {
            kind: 'opportunity',
            origin,
            raw: { opportunity_id: id, deleted: 'true', updated_at: instant(messageTimestamp) },
          };
    }
    return {
      kind: 'opportunity',
      origin,
      raw: {
        opportunity_id: text(value['opportunity_id']),
        deleted: value['op'] === 'DELETE' ? 'true' : 'false',
        account_id: text(value['account_id']),
        amount: typeof value['amount'] === 'bigint' ? formatNanos(value['amount']) : null,
        created_at: instant(value['created_at']),
        sales_segment: text(value['sales_segment']),
        updated_at: instant(value['updated_at']),
        // Null = the reporting currency; also null in values written before the field existed.
        currency: text(value['currency']),
      },
    };
  }
  if (value === null) return { kind: 'malformed', origin, detail: `unexpected tombstone on ${topic}` };
  if (topic === topics.fxRates) {
    const rate = value['rate'];
    return {
      kind: 'rate',
      origin,
      raw: {
        date: text(value['date']),
        currency: text(value['currency']),
        rate: typeof rate === 'bigint' ? formatRate(rate) : null,
      },
    };
  }
  if (topic === topics.contacts) {
    return {
      kind: 'contact',
      origin,
      raw: {
        contact_id: text(value['contact_id']),
        account_id: text(value['account_id']),
        updated_at: instant(value['updated_at']),
      },
    };
  }
  if (topic === topics.touchpoints) {
    const source = value['source'];
    if (source !== 'marketing' && source !== 'sales') {
      return {
        kind: 'malformed',
        origin,
        detail: `source must be "marketing" or "sales", got ${JSON.stringify(source)}`,
      };
    }
    return {
      kind: 'touch',
      touchSource: source,
      origin,
      raw: {
        touchpoint_id: text(value['touchpoint_id']),
        channel: text(value['channel']),
        contact_id: text(value['contact_id']),
        occurred_at: instant(value['occurred_at']),
        // Under the names the events files use; null in values written before these fields existed.
        campaign_id: text(value['campaign_id']),
        campaign_name: text(value['campaign_name']),
        utm_source: text(value['utm_source']),
        utm_medium: text(value['utm_medium']),
        utm_campaign: text(value['utm_campaign']),
      },
    };
  }
  return { kind: 'malformed', origin, detail: `topic ${topic} is not an input topic` };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Largest |epoch ms| a Date holds (±8.64e15, about ±275 760 years). */
const MAX_DATE_MS = 8.64e15;

/**
 * Epoch ms → ISO text for the validation path. A number beyond what a Date holds (a long of
 * microseconds or nanoseconds, random bytes) is handed on as its digits, which validation
 * refuses as invalid_date naming the field — it must not throw here and stall the partition.
 */
const instant = (value: unknown): string | null => {
  const ms = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : null;
  if (ms === null || Number.isNaN(ms)) return null;
  return Math.abs(ms) <= MAX_DATE_MS ? formatInstant(ms) : `${ms} ms since 1970 (beyond the range of a date)`;
};
