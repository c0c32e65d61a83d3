/**
 * Decoded Avro → raw fields: instants beyond what a Date holds (found by test/fuzz) made
 * formatInstant throw, which rejected the whole batch and stalled its partition. The fields
 * added in schema version 2 (campaign and UTM fields, a nullable channel, currency) come through
 * under the events files' names, and as null in values written with version 1, which lack them.
 */
import { describe, expect, it } from 'vitest';
import { toSourcedRecord } from '../../../src/adapters/kafka/records.js';
import { DEFAULT_TOPICS } from '../../../src/adapters/kafka/topics.js';
import { validateRecord } from '../../../src/app/ingest.js';
import { buildVocabularies } from '../../../src/cli/settings.js';

const origin = { source: DEFAULT_TOPICS.touchpoints, location: 'p/0@7' };
const vocab = buildVocabularies();

describe('toSourcedRecord instants', () => {
  it.each([8.64e15 + 1, -8.64e15 - 1, Number.MAX_SAFE_INTEGER, 1.7e18])(
    'refuses occurred_at %d ms as invalid_date naming it',
    (ms) => {
      const value = {
        touchpoint_id: 'T1',
        source: 'marketing',
        channel: 'Webinar',
        contact_id: 'C1',
        occurred_at: ms,
        email: null,
      };
      const record = toSourcedRecord(DEFAULT_TOPICS, DEFAULT_TOPICS.touchpoints, null, value, origin, 0);
      const result = validateRecord(record, vocab);
      expect(result.ok ? null : result.rejection).toMatchObject({
        reason: 'invalid_date',
        field: 'occurred_at',
      });
      expect(result.ok ? '' : result.rejection.detail).toContain(
        `${ms} ms since 1970 (beyond the range of a date)`,
      );
    },
  );

  it('refuses a year beyond 9999 that a Date still holds (extended ISO text)', () => {
    const value = { contact_id: 'C1', account_id: 'A1', updated_at: 8.64e15 };
    const result = validateRecord(
      toSourcedRecord(DEFAULT_TOPICS, DEFAULT_TOPICS.contacts, null, value, origin, 0),
      vocab,
    );
    expect(result.ok ? null : result.rejection).toMatchObject({
      reason: 'invalid_date',
      detail: 'updated_at "+275760-09-13T00:00:00.000Z" is not an ISO-8601 UTC instant',
    });
  });

  it('refuses a tombstone whose Kafka timestamp is beyond a date, instead of throwing', () => {
    const record = toSourcedRecord(
      DEFAULT_TOPICS,
      DEFAULT_TOPICS.opportunities,
      { opportunity_id: 'O1' },
      null,
      origin,
      1.7e18,
    );
    expect(validateRecord(record, vocab)).toMatchObject({
      ok: false,
      rejection: { reason: 'invalid_date', field: 'updated_at' },
    });
  });
});

const touchV1 = {
  touchpoint_id: 'T1',
  source: 'marketing',
  channel: 'Webinar',
  contact_id: 'C1',
  occurred_at: Date.UTC(2024, 0, 2),
  email: null,
};
const opportunityV1 = {
  opportunity_id: 'O1',
  op: 'UPSERT',
  account_id: 'A1',
  amount: 1_500_000_000_000n,
  created_at: Date.UTC(2024, 0, 3),
  sales_segment: 'Enterprise',
  updated_at: Date.UTC(2024, 0, 4),
};
const NO_TAGS = {
  campaign_id: null,
  campaign_name: null,
  utm_source: null,
  utm_medium: null,
  utm_campaign: null,
};

const rawOf = (topic: string, value: Record<string, unknown>): unknown => {
  const record = toSourcedRecord(DEFAULT_TOPICS, topic, null, value, origin, 0);
  return record.kind === 'malformed' ? record.detail : record.raw;
};

describe('toSourcedRecord schema version 2 fields', () => {
  it.each([
    ['a version 1 value (fields absent)', touchV1, { channel: 'Webinar', ...NO_TAGS }],
    [
      'a version 2 value with the fields null',
      { ...touchV1, channel: null, ...NO_TAGS },
      { channel: null, ...NO_TAGS },
    ],
    [
      'a version 2 value with every field set',
      {
        ...touchV1,
        campaign_id: 'CMP-7',
        campaign_name: 'Spring launch',
        utm_source: 'google',
        utm_medium: 'cpc',
        utm_campaign: 'spring_24',
      },
      {
        channel: 'Webinar',
        campaign_id: 'CMP-7',
        campaign_name: 'Spring launch',
        utm_source: 'google',
        utm_medium: 'cpc',
        utm_campaign: 'spring_24',
      },
    ],
  ])('passes a touch on from %s', (_, value, expected) => {
    expect(rawOf(DEFAULT_TOPICS.touchpoints, value)).toEqual({
      touchpoint_id: 'T1',
      contact_id: 'C1',
      occurred_at: '2024-01-02T00:00:00.000Z',
      ...expected,
    });
  });

  it.each([
    ['a version 1 value (field absent)', opportunityV1, null],
    ['a version 2 value without currency', { ...opportunityV1, currency: null }, null],
    ['a version 2 value in EUR', { ...opportunityV1, currency: 'EUR' }, 'EUR'],
  ])('passes an opportunity on from %s', (_, value, currency) => {
    expect(rawOf(DEFAULT_TOPICS.opportunities, value)).toEqual({
      opportunity_id: 'O1',
      deleted: 'false',
      account_id: 'A1',
      amount: '1500',
      created_at: '2024-01-03T00:00:00.000Z',
      sales_segment: 'Enterprise',
      updated_at: '2024-01-04T00:00:00.000Z',
      currency,
    });
  });

  it('validates the passed-on fields: a touch without channel is placed, its campaign kept', () => {
    const value = { ...touchV1, channel: null, campaign_id: 'CMP-7', utm_source: 'google' };
    const record = toSourcedRecord(DEFAULT_TOPICS, DEFAULT_TOPICS.touchpoints, null, value, origin, 0);
    expect(validateRecord(record, vocab)).toMatchObject({
      ok: true,
      value: {
        kind: 'touch',
        touch: {
          channel: 'Unassigned',
          campaign: 'CMP-7',
          tags: { ...NO_TAGS, campaign_id: 'CMP-7', utm_source: 'google' },
        },
      },
    });
  });

  it('validates the passed-on currency: a code is kept, a non-code refused naming the field', () => {
    const validated = (currency: string): unknown =>
      validateRecord(
        toSourcedRecord(
          DEFAULT_TOPICS,
          DEFAULT_TOPICS.opportunities,
          null,
          { ...opportunityV1, currency },
          origin,
          0,
        ),
        vocab,
      );
    expect(validated('EUR')).toMatchObject({
      ok: true,
      value: { opportunity: { currency: 'EUR' } },
    });
    expect(validated('EURO')).toMatchObject({
      ok: false,
      rejection: { reason: 'unknown_currency', field: 'currency' },
    });
  });
});
