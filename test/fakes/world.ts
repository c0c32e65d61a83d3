// fast-check arbitraries for small random worlds: contacts on accounts, touches, opportunities,
// as the raw records an adapter hands to replay(). Ids come from small pools on purpose, so that
// ties, redeliveries, conflicting duplicates, version races and deletions all happen often.
import fc from 'fast-check';
import type { SourcedRecord } from '../../src/app/ingest.js';
import { iso, nanosText, T0 } from './builders.js';

const HOUR = 3_600_000;

export const ACCOUNTS = ['A0', 'A1', 'A2', 'A3'] as const;
/** C6 never gets a contact record: its touches must be rejected as unknown_contact. */
export const CONTACT_IDS = ['C0', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6'] as const;
const KNOWN_CONTACTS = CONTACT_IDS.slice(0, 6);
/** Spellings of known channels (canonicalised by the vocabulary) plus one unknown. */
const CHANNEL_TEXTS = [
  'Adwords',
  'ADWORDS',
  'Webinar',
  'Event',
  'Outbound',
  'paid-social',
  'Website',
  'Fax',
] as const;
const SEGMENT_TEXTS = ['Commercial', 'Mid Market', 'mid-market', 'Enterprise'] as const;

/** Largest amount generated: 10^6 units, in nanos. */
export const MAX_AMOUNT = 1_000_000_000_000_000n;

export interface GeneratedOpportunity {
  readonly id: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly createdAt: number;
  readonly segment: (typeof SEGMENT_TEXTS)[number];
  readonly version: number | null;
}

const versionText = (version: number | null): Record<string, string> =>
  version === null ? {} : { updated_at: iso(T0 + version * 1000) };

const contactArb: fc.Arbitrary<SourcedRecord> = fc
  .record({
    id: fc.constantFrom(...KNOWN_CONTACTS),
    account: fc.option(fc.constantFrom(...ACCOUNTS), { nil: null }),
    version: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  })
  .map(({ id, account, version }) => ({
    kind: 'contact',
    raw: { contact_id: id, account_id: account ?? 'null', ...versionText(version) },
    origin: { source: 'contacts', location: 'generated' },
  }));

const touchArb: fc.Arbitrary<SourcedRecord> = fc
  .record({
    id: fc.integer({ min: 0, max: 24 }),
    contact: fc.constantFrom(...CONTACT_IDS),
    channel: fc.constantFrom(...CHANNEL_TEXTS),
    // From 125 days before the first possible creation to 40 days after the last (hour grain, so ties happen).
    hours: fc.integer({ min: -3000, max: 1700 }),
    touchSource: fc.constantFrom('marketing' as const, 'sales' as const),
  })
  .map(({ id, contact, channel, hours, touchSource }) => ({
    kind: 'touch',
    touchSource,
    raw: { touchpoint_id: `T${id}`, contact_id: contact, channel, occurred_at: iso(T0 + hours * HOUR) },
    origin: { source: `touches-${touchSource}`, location: 'generated' },
  }));

export const generatedOpportunityArb = (id: fc.Arbitrary<string>): fc.Arbitrary<GeneratedOpportunity> =>
  fc.record({
    id,
    // A4 has no contacts: its opportunities are always Unattributed.
    accountId: fc.constantFrom(...ACCOUNTS, 'A4'),
    amount: fc.oneof(fc.bigInt({ min: 0n, max: MAX_AMOUNT }), fc.constantFrom(0n, 1n, 2n, 100_000_000_000n)),
    createdAt: fc.integer({ min: 0, max: 720 }).map((h) => T0 + h * HOUR),
    segment: fc.constantFrom(...SEGMENT_TEXTS),
    version: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  });

export const opportunityRecord = (o: GeneratedOpportunity): SourcedRecord => ({
  kind: 'opportunity',
  raw: {
    opportunity_id: o.id,
    account_id: o.accountId,
    amount: nanosText(o.amount),
    created_at: iso(o.createdAt),
    sales_segment: o.segment,
    ...versionText(o.version),
  },
  origin: { source: 'opportunities', location: 'generated' },
});

export const deletionRecord = (id: string, version: number): SourcedRecord => ({
  kind: 'opportunity',
  raw: { opportunity_id: id, deleted: 'true', ...versionText(version) },
  origin: { source: 'opportunities', location: 'generated' },
});

const deletionArb: fc.Arbitrary<SourcedRecord> = fc
  .record({ id: fc.integer({ min: 0, max: 5 }), version: fc.integer({ min: 0, max: 3 }) })
  .map(({ id, version }) => deletionRecord(`O${id}`, version));

/**
 * A messy world: contacts with competing versions, touches whose ids collide, opportunities with
 * several versions and deletions. Good for order and duplicate independence; its final state is
 * whatever the decision rules make of it.
 */
export const messyWorldArb: fc.Arbitrary<SourcedRecord[]> = fc
  .tuple(
    fc.array(contactArb, { maxLength: 12 }),
    fc.array(touchArb, { maxLength: 30 }),
    fc.array(
      generatedOpportunityArb(fc.integer({ min: 0, max: 5 }).map((i) => `O${i}`)).map(opportunityRecord),
      { maxLength: 10 },
    ),
    fc.array(deletionArb, { maxLength: 3 }),
  )
  .map(([contacts, touches, opportunities, deletions]) => [
    ...contacts,
    ...touches,
    ...opportunities,
    ...deletions,
  ]);

export interface CleanWorld {
  readonly records: SourcedRecord[];
  /** Σ of the amounts of the opportunities that are live at the end, known by construction. */
  readonly expectedTotal: bigint;
  readonly liveIds: readonly string[];
}

/**
 * A world whose final set of opportunities is known by construction: each opportunity id has one
 * record at version 1, and some are deleted by a tombstone at version 2. Contacts and touches are
 * as messy as above.
 */
export const cleanWorldArb: fc.Arbitrary<CleanWorld> = fc
  .tuple(
    fc.array(contactArb, { maxLength: 12 }),
    fc.array(touchArb, { maxLength: 30 }),
    fc.uniqueArray(
      fc.tuple(generatedOpportunityArb(fc.integer({ min: 0, max: 99 }).map((i) => `O${i}`)), fc.boolean()),
      { maxLength: 12, selector: ([o]) => o.id },
    ),
  )
  .map(([contacts, touches, opportunities]) => {
    const records: SourcedRecord[] = [...contacts, ...touches];
    let expectedTotal = 0n;
    const liveIds: string[] = [];
    for (const [o, isDeleted] of opportunities) {
      records.push(opportunityRecord({ ...o, version: 1 }));
      if (isDeleted) records.push(deletionRecord(o.id, 2));
      else {
        expectedTotal += o.amount;
        liveIds.push(o.id);
      }
    }
    return { records, expectedTotal, liveIds };
  });

/** The records in a random order. */
export const shuffled = <T>(items: readonly T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

/** The records plus random repeats of some of them, all in a random order. */
export const withRepeats = <T>(items: readonly T[]): fc.Arbitrary<T[]> =>
  fc
    .array(fc.nat({ max: Math.max(0, items.length - 1) }), {
      maxLength: items.length === 0 ? 0 : 2 * items.length,
    })
    .chain((picks) => shuffled([...items, ...picks.map((i) => items[i] as T)]));
