/**
 * Fuzzing the one validation path (batch and streaming share it) and the parsers under it:
 * for any raw fields, a record is either a valid event or a rejection with a known reason and a
 * detail that names the field — never an exception — and what is accepted is exact (money a
 * non-negative bigint that fits decimal(38,9), time an instant a Date can hold).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateRecord, type SourcedRecord } from '../../src/app/ingest.js';
import { buildVocabularies } from '../../src/cli/settings.js';
import { formatNanos, parseAmount } from '../../src/domain/money.js';
import { formatInstant, parseInstant } from '../../src/domain/time.js';
import { REJECT_REASONS } from '../../src/domain/validate.js';
import { channelText, hostileAmountText, hostileDateText, idText, segmentText } from './support/hostile.js';

const vocab = buildVocabularies();
/** The largest amount a decimal(38,9) (Avro and Postgres) holds, in nano-units. */
const MAX_NANOS = 10n ** 38n - 1n;
/** A rejection's detail quotes the offending text, but never a megabyte of it. */
const MAX_DETAIL = 1000;
const origin = { source: 'fuzz', location: 'fuzz:1' };

/** A field present, absent, null or the literal "null". */
const field = (value: fc.Arbitrary<string>): fc.Arbitrary<string | null | undefined> =>
  fc.oneof(
    { arbitrary: value, weight: 6 },
    { arbitrary: fc.constantFrom(undefined, null, 'null', ''), weight: 1 },
  );

const touchRaw = fc.record({
  touchpoint_id: field(idText('T')),
  contact_id: field(idText('C')),
  channel: field(channelText),
  occurred_at: field(hostileDateText),
});
const contactRaw = fc.record({
  contact_id: field(idText('C')),
  account_id: field(idText('A')),
  updated_at: field(hostileDateText),
});
const opportunityRaw = fc.record({
  opportunity_id: field(idText('O')),
  account_id: field(idText('A')),
  amount: field(hostileAmountText),
  created_at: field(hostileDateText),
  sales_segment: field(segmentText),
  updated_at: field(hostileDateText),
  deleted: field(fc.constantFrom('true', 'false', 'TRUE', ' true ')),
});

const recordArb: fc.Arbitrary<SourcedRecord> = fc.oneof(
  touchRaw.map((raw): SourcedRecord => ({ kind: 'touch', touchSource: 'marketing', raw: raw, origin })),
  contactRaw.map((raw): SourcedRecord => ({ kind: 'contact', raw: raw, origin })),
  opportunityRaw.map((raw): SourcedRecord => ({ kind: 'opportunity', raw: raw, origin })),
);

const inDateRange = (ms: number): boolean => Number.isInteger(ms) && Math.abs(ms) <= 8.64e15;
const noNul = (text: string): boolean => !text.includes('\u0000');

describe('fuzz: validation', () => {
  it('refuses with a known reason and a bounded detail naming the field, or accepts exact values', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const result = validateRecord(record, vocab);
        if (!result.ok) {
          const { reason, detail, field: named } = result.rejection;
          expect(REJECT_REASONS).toContain(reason);
          expect(detail.length).toBeGreaterThan(0);
          expect(detail.length).toBeLessThanOrEqual(MAX_DETAIL);
          if (named !== undefined) expect(detail).toContain(named);
          return;
        }
        const event = result.value;
        if (event.kind === 'touch') {
          expect(inDateRange(event.touch.occurredAt)).toBe(true);
          expect([event.touch.id, event.touch.contactId].every(noNul)).toBe(true);
        } else if (event.kind === 'contact') {
          expect(inDateRange(event.contact.version)).toBe(true);
          expect([event.contact.id, event.contact.accountId ?? ''].every(noNul)).toBe(true);
        } else if (event.kind === 'opportunity') {
          const o = event.opportunity;
          expect(o.amount >= 0n && o.amount <= MAX_NANOS).toBe(true);
          expect(inDateRange(o.createdAt) && inDateRange(o.version)).toBe(true);
          expect([o.id, o.accountId].every(noNul)).toBe(true);
        } else if (event.kind === 'opportunity-deleted') {
          expect(inDateRange(event.deletion.version)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseAmount never throws; what it accepts is a plain decimal that formatNanos gives back exactly', () => {
    fc.assert(
      fc.property(hostileAmountText, (text) => {
        const parsed = parseAmount(text);
        if (parsed.kind === 'invalid') expect(parsed.detail.length).toBeGreaterThan(0);
        if (parsed.kind !== 'ok') return;
        expect(parsed.nanos >= 0n && parsed.nanos <= MAX_NANOS).toBe(true);
        expect(text.trim()).toMatch(/^-?\d+(\.\d{1,9})?$/);
        const again = parseAmount(formatNanos(parsed.nanos));
        expect(again).toEqual(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseInstant never throws; what it accepts is an integer instant a Date can hold and format', () => {
    fc.assert(
      fc.property(hostileDateText, (text) => {
        const instant = parseInstant(text);
        if (instant === null) return;
        expect(inDateRange(instant)).toBe(true);
        expect(() => formatInstant(instant)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});
