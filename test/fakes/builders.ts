// Builders for unit tests: fixed instants (no wall clock), small domain records with overridable
// fields, raw source records as adapters hand them over, and an async iterable over an array.
import type { SourcedRecord } from '../../src/app/ingest.js';
import type { AttributionSettings } from '../../src/domain/attribute.js';
import type { Contact, Opportunity, Touch } from '../../src/domain/events.js';
import { STREAMING_MODELS } from '../../src/domain/models/index.js';
import type { RawRecord } from '../../src/domain/validate.js';

export const MS_PER_DAY = 86_400_000;
/** Fixed reference instant: 2021-05-10T22:25:39Z, the first opportunity of the challenge data. */
export const T0 = Date.UTC(2021, 4, 10, 22, 25, 39);
export const DEFAULT_WINDOW_MS = 90 * MS_PER_DAY;
export const DEFAULT_HALF_LIFE_MS = 7 * MS_PER_DAY;

/** 1 unit of money in nano-units, written out rather than imported from the code under test. */
export const UNIT = 1_000_000_000n;

export const days = (n: number): number => n * MS_PER_DAY;

export function touch(overrides: Partial<Touch> & { id: string }): Touch {
  return { contactId: 'C1', channel: 'Adwords', occurredAt: T0 - days(1), source: 'marketing', ...overrides };
}

export function contact(overrides: Partial<Contact> & { id: string }): Contact {
  return { accountId: 'A1', version: 0, ...overrides };
}

export function opportunity(overrides: Partial<Opportunity> & { id: string } = { id: 'O1' }): Opportunity {
  return {
    accountId: 'A1',
    amount: 100n * UNIT,
    createdAt: T0,
    segment: 'Commercial',
    version: 0,
    ...overrides,
  };
}

export function settings(overrides: Partial<AttributionSettings> = {}): AttributionSettings {
  return {
    windowMs: DEFAULT_WINDOW_MS,
    halfLifeMs: DEFAULT_HALF_LIFE_MS,
    models: STREAMING_MODELS,
    ...overrides,
  };
}

/** ISO text of an instant, via the platform (independent of the code under test). */
export const iso = (instant: number): string => new Date(instant).toISOString();

let line = 0;
const origin = (source: string): { source: string; location: string } => {
  line += 1;
  return { source, location: `${source}:${line}` };
};

export function rawTouch(
  raw: RawRecord,
  source = 'marketing.csv',
  touchSource: 'marketing' | 'sales' = 'marketing',
): SourcedRecord {
  return { kind: 'touch', touchSource, raw, origin: origin(source) };
}

export function rawContact(raw: RawRecord, source = 'contacts.csv'): SourcedRecord {
  return { kind: 'contact', raw, origin: origin(source) };
}

export function rawOpportunity(raw: RawRecord, source = 'opportunities.csv'): SourcedRecord {
  return { kind: 'opportunity', raw, origin: origin(source) };
}

export async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

/** Decimal text of a nano amount with all 9 decimals, written independently of formatNanos. */
export function nanosText(nanos: bigint): string {
  return `${nanos / UNIT}.${(nanos % UNIT).toString().padStart(9, '0')}`;
}
