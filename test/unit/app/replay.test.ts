import { describe, expect, it } from 'vitest';
import type { SourcedRecord } from '../../../src/app/ingest.js';
import { replay, type ReplayResult } from '../../../src/app/replay.js';
import type { OpportunityAttribution } from '../../../src/domain/attribute.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import { days, iso, rawContact, rawOpportunity, rawTouch, T0 } from '../../fakes/builders.js';

function run(
  records: readonly SourcedRecord[],
  models?: string,
): ReplayResult & { attributions: OpportunityAttribution[] } {
  const attributions: OpportunityAttribution[] = [];
  const result = replay(records, {
    settings: buildSettings(models === undefined ? {} : { models }),
    vocab: buildVocabularies(),
    onAttribution: (a) => attributions.push(a),
  });
  return { ...result, attributions };
}

const source = (result: ReplayResult, name: string): unknown =>
  result.quality.sources.find((s) => s.source === name);

const opp = (id: string, extra: Record<string, string> = {}): SourcedRecord =>
  rawOpportunity({
    opportunity_id: id,
    account_id: 'A1',
    amount: '1000.5',
    created_at: iso(T0),
    sales_segment: 'Commercial',
    ...extra,
  });

/** A small batch with one example of every way a record can end. */
function mixedBatch(): SourcedRecord[] {
  return [
    rawContact({ contact_id: 'C1', account_id: 'A1' }),
    rawContact({ contact_id: 'C2', account_id: 'A1' }),
    rawContact({ contact_id: 'null', account_id: 'null' }), // missing_contact
    rawContact({ contact_id: 'C1', account_id: 'A1' }), // duplicate
    rawTouch({ touchpoint_id: 'M1', contact_id: 'C1', channel: 'Adwords', occurred_at: iso(T0 - days(10)) }),
    rawTouch({ touchpoint_id: 'M1', contact_id: 'C1', channel: 'ADWORDS', occurred_at: iso(T0 - days(10)) }), // duplicate after canonicalisation
    rawTouch({ touchpoint_id: 'M2', contact_id: 'C404', channel: 'Webinar', occurred_at: iso(T0 - days(3)) }), // unknown contact
    rawTouch({ touchpoint_id: 'M3', contact_id: 'C404', channel: 'Event', occurred_at: iso(T0 - days(4)) }), // unknown contact
    rawTouch({
      touchpoint_id: 'M4',
      contact_id: 'C1',
      channel: 'Carrier Pigeon',
      occurred_at: iso(T0 - days(4)),
    }), // unknown_channel
    rawTouch({ touchpoint_id: 'M5', contact_id: 'null', channel: 'Event', occurred_at: iso(T0 - days(4)) }), // missing_contact
    rawTouch({
      touchpoint_id: 'M6',
      contact_id: 'C1',
      channel: 'Event',
      occurred_at: '2021-02-30T00:00:00Z',
    }), // invalid_date
    rawTouch(
      { touchpoint_id: 'S1', contact_id: 'C2', channel: 'Outbound', occurred_at: iso(T0 - days(5)) },
      'sales.csv',
      'sales',
    ),
    // Same id, later time: its key is larger, so the earlier S1 is kept; reported as a conflict.
    rawTouch(
      { touchpoint_id: 'S1', contact_id: 'C2', channel: 'Outbound', occurred_at: iso(T0 + days(1)) },
      'sales.csv',
      'sales',
    ),
    opp('O1'),
    opp('O2', { amount: 'lots' }), // invalid_amount
    opp('O3', { amount: '-1' }), // negative_amount
    opp('O4', { created_at: 'tomorrow' }), // invalid_date
    opp('O5', { sales_segment: 'SMB' }), // unknown_segment
    {
      kind: 'malformed',
      detail: 'not valid JSON',
      origin: { source: 'opportunities.csv', location: 'opportunities.csv:99' },
    },
  ];
}

describe('replay', () => {
  it('counts every record read per source: accepted, duplicates, rejected by reason', () => {
    const result = run(mixedBatch());
    expect(source(result, 'contacts.csv')).toEqual({
      source: 'contacts.csv',
      read: 4,
      accepted: 2,
      duplicates: 1,
      stale: 0,
      rejected: { missing_contact: 1 },
    });
    expect(source(result, 'marketing.csv')).toEqual({
      source: 'marketing.csv',
      read: 7,
      accepted: 1,
      duplicates: 1,
      stale: 0,
      rejected: { unknown_contact: 2, unknown_channel: 1, missing_contact: 1, invalid_date: 1 },
    });
    expect(source(result, 'sales.csv')).toEqual({
      source: 'sales.csv',
      read: 2,
      accepted: 1,
      duplicates: 0,
      stale: 0,
      rejected: { conflicting_duplicate: 1 },
    });
    expect(source(result, 'opportunities.csv')).toEqual({
      source: 'opportunities.csv',
      read: 6,
      accepted: 1,
      duplicates: 0,
      stale: 0,
      rejected: {
        invalid_amount: 1,
        negative_amount: 1,
        invalid_date: 1,
        unknown_segment: 1,
        malformed_record: 1,
      },
    });
    expect(result.quality.totals).toEqual({ read: 19, accepted: 5, duplicates: 2, stale: 0, rejected: 12 });
    expect(result.quality.rejectedByReason).toEqual({
      missing_contact: 2,
      unknown_contact: 2,
      unknown_channel: 1,
      invalid_date: 2,
      conflicting_duplicate: 1,
      invalid_amount: 1,
      negative_amount: 1,
      unknown_segment: 1,
      malformed_record: 1,
    });
  });

  it('reports touches of contacts that never arrived as unknown_contact, with the contact field', () => {
    const result = run(mixedBatch());
    const example = result.quality.examples.find((e) => e.reason === 'unknown_contact');
    expect(example).toMatchObject({
      reason: 'unknown_contact',
      field: 'contact_id',
      source: 'marketing.csv',
    });
    expect(example?.detail).toContain('C404');
  });

  it('attributes the valid rows: the cells, computed by hand', () => {
    const result = run(mixedBatch(), 'first_touch,last_touch,linear');
    expect(result.opportunities).toBe(1);
    expect(result.totalAmount).toBe(1_000_500_000_000n);
    expect(result.cells).toEqual([
      {
        model: 'first_touch',
        channel: 'Adwords',
        segment: 'Commercial',
        amount: 1_000_500_000_000n,
        opportunities: 1,
      },
      {
        model: 'last_touch',
        channel: 'Outbound',
        segment: 'Commercial',
        amount: 1_000_500_000_000n,
        opportunities: 1,
      },
      {
        model: 'linear',
        channel: 'Adwords',
        segment: 'Commercial',
        amount: 500_250_000_000n,
        opportunities: 1,
      },
      {
        model: 'linear',
        channel: 'Outbound',
        segment: 'Commercial',
        amount: 500_250_000_000n,
        opportunities: 1,
      },
    ]);
    expect(result.attributions.map((a) => a.opportunityId)).toEqual(['O1']);
  });

  it('accepts a touch that arrives before its contact', () => {
    const result = run(
      [
        rawTouch({
          touchpoint_id: 'M1',
          contact_id: 'C1',
          channel: 'Webinar',
          occurred_at: iso(T0 - days(1)),
        }),
        opp('O1'),
        rawContact({ contact_id: 'C1', account_id: 'A1' }),
      ],
      'first_touch',
    );
    expect(result.quality.totals).toEqual({ read: 3, accepted: 3, duplicates: 0, stale: 0, rejected: 0 });
    expect(result.cells.map((c) => c.channel)).toEqual(['Webinar']);
  });

  it('counts stale contact versions and uses the latest', () => {
    const result = run(
      [
        rawContact({ contact_id: 'C1', account_id: 'A2', updated_at: iso(T0 + 2000) }),
        rawContact({ contact_id: 'C1', account_id: 'A1', updated_at: iso(T0 + 1000) }),
        rawTouch({
          touchpoint_id: 'M1',
          contact_id: 'C1',
          channel: 'Webinar',
          occurred_at: iso(T0 - days(1)),
        }),
        opp('O1'),
      ],
      'first_touch',
    );
    expect(source(result, 'contacts.csv')).toMatchObject({ read: 2, accepted: 1, stale: 1 });
    expect(result.cells.map((c) => c.channel)).toEqual(['Unattributed']);
  });

  it('drops a deleted opportunity from the table', () => {
    const result = run([
      opp('O1', { updated_at: iso(T0) }),
      opp('O2'),
      rawOpportunity({ opportunity_id: 'O1', deleted: 'true', updated_at: iso(T0 + 1) }),
    ]);
    expect(result.opportunities).toBe(1);
    expect(result.totalAmount).toBe(1_000_500_000_000n);
  });

  it('credits an opportunity without touches to Unattributed under every model', () => {
    const result = run([opp('O1')]);
    expect(result.cells.map((c) => [c.model, c.channel, c.amount])).toEqual([
      ['first_touch', 'Unattributed', 1_000_500_000_000n],
      ['last_touch', 'Unattributed', 1_000_500_000_000n],
      ['linear', 'Unattributed', 1_000_500_000_000n],
      ['u_shaped', 'Unattributed', 1_000_500_000_000n],
      ['time_decay', 'Unattributed', 1_000_500_000_000n],
      ['w_shaped', 'Unattributed', 1_000_500_000_000n],
      ['full_path', 'Unattributed', 1_000_500_000_000n],
    ]);
  });

  it('keeps every source balanced when touches of one kind come from several sources', () => {
    // Two marketing files; only the first one holds a touch of an unknown contact.
    const result = run([
      rawContact({ contact_id: 'C1', account_id: 'A1' }),
      rawTouch(
        { touchpoint_id: 'M1', contact_id: 'C404', channel: 'Webinar', occurred_at: iso(T0 - days(1)) },
        'marketing-a.csv',
      ),
      rawTouch(
        { touchpoint_id: 'M2', contact_id: 'C1', channel: 'Webinar', occurred_at: iso(T0 - days(1)) },
        'marketing-b.csv',
      ),
    ]);
    expect(source(result, 'marketing-a.csv')).toMatchObject({
      read: 1,
      accepted: 0,
      rejected: { unknown_contact: 1 },
    });
    expect(source(result, 'marketing-b.csv')).toMatchObject({ read: 1, accepted: 1, rejected: {} });
  });

  it('keeps every source balanced when a conflicting duplicate moves a touch of an unknown contact to another source', () => {
    // M1 is accepted from marketing; a sales record under the same id with a smaller content key
    // replaces it (reported as conflicting_duplicate). The contact C404 never arrives.
    const result = run([
      rawTouch(
        { touchpoint_id: 'M1', contact_id: 'C404', channel: 'Adwords', occurred_at: iso(T0) },
        'marketing.csv',
        'marketing',
      ),
      rawTouch(
        { touchpoint_id: 'M1', contact_id: 'C404', channel: 'Adwords', occurred_at: iso(T0 - 3_600_000) },
        'sales.csv',
        'sales',
      ),
    ]);
    for (const name of ['marketing.csv', 'sales.csv']) {
      const s = result.quality.sources.find((q) => q.source === name);
      expect(s).toBeDefined();
      if (s === undefined) continue;
      const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
      expect(s.accepted).toBeGreaterThanOrEqual(0);
      expect(s.read).toBe(s.accepted + s.duplicates + s.stale + rejected);
    }
    // The touch kept under M1 belongs to a contact that never came: it must be counted as such.
    expect(result.quality.rejectedByReason.unknown_contact).toBe(1);
    expect(result.quality.totals.accepted).toBe(0);
  });

  it('reads an empty input as an empty table', () => {
    const result = run([]);
    expect(result).toMatchObject({ cells: [], opportunities: 0, totalAmount: 0n });
    expect(result.quality.totals).toEqual({ read: 0, accepted: 0, duplicates: 0, stale: 0, rejected: 0 });
  });
});
