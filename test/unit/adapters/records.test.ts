/**
 * Decoded Avro → raw fields: instants beyond what a Date holds (found by test/fuzz) made
 * formatInstant throw, which rejected the whole batch and stalled its partition.
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
