/**
 * File record → Avro value for `touchline produce`: the fields of schema version 2 (campaign and
 * UTM fields, currency) are sent as the file gives them, and an absent channel is sent as null
 * (not ''), so the service's channel rules place the touch instead of refusing an empty channel.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { readSchema } from '../../../src/adapters/kafka/avro-codec.js';
import { DecimalType } from '../../../src/adapters/kafka/decimal-type.js';
import { toInputMessage } from '../../../src/adapters/kafka/input-values.js';
import { DEFAULT_TOPICS } from '../../../src/adapters/kafka/topics.js';
import type { SourcedRecord } from '../../../src/app/ingest.js';
import type { RawRecord } from '../../../src/domain/validate.js';

const origin = { source: 'touchpoints.csv', location: 'line 2' };
const TAG_FIELDS = ['campaign_id', 'campaign_name', 'utm_source', 'utm_medium', 'utm_campaign'] as const;
const NO_TAGS = Object.fromEntries(TAG_FIELDS.map((field) => [field, null]));

const touch = (raw: RawRecord): SourcedRecord => ({
  kind: 'touch',
  touchSource: 'marketing',
  raw: { touchpoint_id: 'T1', contact_id: 'C1', occurred_at: '2024-01-02T00:00:00Z', ...raw },
  origin,
});
const opportunity = (raw: RawRecord): SourcedRecord => ({
  kind: 'opportunity',
  raw: {
    opportunity_id: 'O1',
    account_id: 'A1',
    amount: '1500.25',
    created_at: '2024-01-03T00:00:00Z',
    sales_segment: 'Enterprise',
    ...raw,
  },
  origin,
});

const typeOf = (name: string): avro.Type =>
  avro.Type.forSchema(JSON.parse(readSchema(name)) as avro.Schema, {
    logicalTypes: { decimal: DecimalType },
  });

const valueOf = (record: SourcedRecord): unknown => {
  const result = toInputMessage(record, DEFAULT_TOPICS);
  return result.ok ? result.message.value : result.detail;
};

describe('toInputMessage schema version 2 fields', () => {
  it.each<[string, RawRecord, Record<string, unknown>]>([
    ['a challenge-CSV touch (no new columns)', { channel: 'Webinar' }, { channel: 'Webinar', ...NO_TAGS }],
    [
      'a touch with every new column',
      {
        channel: 'Paid Search',
        campaign_id: 'CMP-7',
        campaign_name: 'Spring launch',
        utm_source: 'google',
        utm_medium: 'cpc',
        utm_campaign: 'spring_24',
      },
      {
        channel: 'Paid Search',
        campaign_id: 'CMP-7',
        campaign_name: 'Spring launch',
        utm_source: 'google',
        utm_medium: 'cpc',
        utm_campaign: 'spring_24',
      },
    ],
    [
      'a touch with UTM parameters only (channel column absent)',
      { utm_source: 'google', utm_medium: 'cpc' },
      { channel: null, ...NO_TAGS, utm_source: 'google', utm_medium: 'cpc' },
    ],
    [
      'a touch whose channel and campaign cells are empty or "null"',
      { channel: '', campaign_id: '  ', campaign_name: 'NULL', utm_source: null },
      { channel: null, ...NO_TAGS },
    ],
    [
      'a touch whose texts carry spaces (trimmed, as every field)',
      { channel: ' Webinar ', campaign_name: ' Spring launch ' },
      { channel: 'Webinar', ...NO_TAGS, campaign_name: 'Spring launch' },
    ],
  ])('maps %s', (_, raw, expected) => {
    expect(valueOf(touch(raw))).toEqual({
      touchpoint_id: 'T1',
      source: 'marketing',
      contact_id: 'C1',
      occurred_at: Date.UTC(2024, 0, 2),
      email: null,
      ...expected,
    });
  });

  it.each<[string, RawRecord, string | null]>([
    ['no currency column (the reporting currency)', {}, null],
    ['an empty currency cell', { currency: '' }, null],
    ['a currency code', { currency: 'EUR' }, 'EUR'],
    // The service judges codes (unknown_currency); produce sends what a CRM would.
    ['a text that is no code, sent for the service to refuse', { currency: 'euro' }, 'euro'],
  ])('maps an opportunity with %s', (_, raw, currency) => {
    expect(valueOf(opportunity(raw))).toEqual({
      opportunity_id: 'O1',
      op: 'UPSERT',
      account_id: 'A1',
      amount: 1_500_250_000_000n,
      created_at: Date.UTC(2024, 0, 3),
      sales_segment: 'Enterprise',
      updated_at: Date.UTC(2024, 0, 3),
      currency,
    });
  });

  it('sends values that avro/touchpoint.avsc and avro/opportunity.avsc encode, null channel included', () => {
    const problems: string[] = [];
    const check = (type: avro.Type, value: unknown): void =>
      void type.isValid(value, { errorHook: (path) => problems.push(path.join('.')) });
    check(typeOf('touchpoint'), valueOf(touch({ utm_source: 'google' })));
    check(typeOf('touchpoint'), valueOf(touch({ channel: 'Webinar', campaign_id: 'CMP-7' })));
    check(typeOf('opportunity'), valueOf(opportunity({ currency: 'EUR' })));
    check(typeOf('opportunity'), valueOf(opportunity({})));
    expect(problems).toEqual([]);
  });
});
