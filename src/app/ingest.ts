import type { DomainEvent, TouchSource } from '../domain/events.js';
import {
  validateContact,
  validateOpportunity,
  validateRate,
  validateTouch,
  type RawRecord,
  type Validated,
  type Vocabularies,
} from '../domain/validate.js';
import type { RecordOrigin } from './quality.js';

/** A record as an adapter hands it over: raw fields plus where it came from. */
export type SourcedRecord =
  | {
      readonly kind: 'touch';
      readonly touchSource: TouchSource;
      readonly raw: RawRecord;
      readonly origin: RecordOrigin;
    }
  | { readonly kind: 'contact'; readonly raw: RawRecord; readonly origin: RecordOrigin }
  | { readonly kind: 'opportunity'; readonly raw: RawRecord; readonly origin: RecordOrigin }
  | { readonly kind: 'rate'; readonly raw: RawRecord; readonly origin: RecordOrigin }
  | { readonly kind: 'malformed'; readonly detail: string; readonly origin: RecordOrigin };

/** An FX rate row as an adapter hands it over (validated by domain/validate.ts validateRate). */
export interface RateRecord {
  readonly raw: RawRecord;
  readonly origin: RecordOrigin;
}

/** A spend row as an adapter hands it over (validated by domain/spend.ts validateSpend). */
export type SpendRecord = RateRecord;

/** One validation path for every adapter, so batch and streaming refuse exactly the same records. */
export function validateRecord(record: SourcedRecord, vocab: Vocabularies): Validated<DomainEvent> {
  switch (record.kind) {
    case 'malformed':
      return { ok: false, rejection: { reason: 'malformed_record', detail: record.detail } };
    case 'touch': {
      const touch = validateTouch(record.raw, record.touchSource, vocab);
      return touch.ok ? { ok: true, value: { kind: 'touch', touch: touch.value } } : touch;
    }
    case 'contact': {
      const contact = validateContact(record.raw);
      return contact.ok ? { ok: true, value: { kind: 'contact', contact: contact.value } } : contact;
    }
    case 'opportunity':
      return validateOpportunity(record.raw, vocab);
    case 'rate': {
      const rate = validateRate(record.raw);
      return rate.ok ? { ok: true, value: { kind: 'rate', rate: rate.value } } : rate;
    }
  }
}
