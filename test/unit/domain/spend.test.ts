import { describe, expect, it } from 'vitest';
import { createVocabulary, DEFAULT_CHANNELS } from '../../../src/domain/catalog.js';
import { createRateBook, parseRate, type RateBook } from '../../../src/domain/fx.js';
import {
  createSpendBook,
  spendTotals,
  validateSpend,
  type SpendOutcome,
  type SpendRow,
} from '../../../src/domain/spend.js';
import type { RawRecord, RejectReason } from '../../../src/domain/validate.js';

const channels = createVocabulary(DEFAULT_CHANNELS);
const channelOf = (text: string): string | null => channels.resolve(text);

// 2024-03-11T00:00:00Z by hand: 1970–2023 is 54 years with 13 leap days (1972 … 2020), so
// 2024-01-01 is day 54 × 365 + 13 = 19 723; + 31 (Jan) + 29 (Feb 2024) + 10 = day 19 793;
// 19 793 × 86 400 000 ms = 1 710 115 200 000.
const MARCH_11 = 1_710_115_200_000;

const good: RawRecord = {
  date: '2024-03-10',
  channel: 'adwords',
  campaign_id: 'spring-24',
  amount: '1234.5',
  currency: 'eur',
  updated_at: '2024-03-11T00:00:00Z',
};

describe('validateSpend', () => {
  it('reads every field: canonical channel and currency, exact nanos, the version as an instant', () => {
    expect(validateSpend(good, channelOf)).toEqual({
      ok: true,
      value: {
        date: '2024-03-10',
        channel: 'Adwords',
        campaign: 'spring-24',
        amount: 1_234_500_000_000n, // 1234.5 × 10^9
        currency: 'EUR',
        updatedAt: MARCH_11,
      },
    });
  });

  it.each<[string, RawRecord]>([
    ['absent', { campaign_id: undefined, updated_at: undefined }],
    ['empty', { campaign_id: '', updated_at: '' }],
    ['literal null', { campaign_id: 'null', updated_at: 'NULL' }],
    ['null', { campaign_id: null, updated_at: null }],
  ])('campaign_id and updated_at %s → no campaign, version 0', (_, fields) => {
    const result = validateSpend({ ...good, ...fields }, channelOf);
    expect(result).toMatchObject({ ok: true, value: { campaign: null, updatedAt: 0 } });
  });

  it.each([
    ['0', 0n],
    ['-0', 0n], // zero, not negative
    ['0.000000001', 1n],
    ['12', 12_000_000_000n],
  ])('amount %j is accepted as %s nanos', (amount, nanos) => {
    expect(validateSpend({ ...good, amount }, channelOf)).toMatchObject({
      ok: true,
      value: { amount: nanos },
    });
  });

  // Each rejection names its field and, where there is one, quotes the offending value.
  it.each<[string, RawRecord, RejectReason, string | undefined, string]>([
    ['date missing', { date: undefined }, 'missing_field', 'date', 'date is missing'],
    ['date empty', { date: ' ' }, 'missing_field', 'date', 'date is missing'],
    ['date not a real day', { date: '2024-02-30' }, 'invalid_date', 'date', 'date "2024-02-30"'],
    ['date not zero-padded', { date: '2024-3-1' }, 'invalid_date', 'date', 'date "2024-3-1"'],
    ['date an instant', { date: '2024-03-10T00:00:00Z' }, 'invalid_date', 'date', '"2024-03-10T00:00:00Z"'],
    ['channel missing', { channel: null }, 'missing_field', 'channel', 'channel is missing'],
    ['channel unknown', { channel: 'Billboard' }, 'unknown_channel', 'channel', 'channel "Billboard"'],
    [
      'campaign_id with NUL',
      { campaign_id: 'a\u0000b' },
      'malformed_record',
      'campaign_id',
      'campaign_id "a\\u0000b"',
    ],
    ['amount missing', { amount: 'null' }, 'missing_field', 'amount', 'amount is missing'],
    ['amount negative', { amount: '-5' }, 'negative_amount', 'amount', 'amount "-5"'],
    ['amount not a number', { amount: '12abc' }, 'invalid_amount', 'amount', 'amount "12abc"'],
    ['amount with a comma', { amount: '1,000' }, 'invalid_amount', 'amount', 'amount "1,000"'],
    ['amount with 10 decimals', { amount: '1.0000000001' }, 'invalid_amount', 'amount', '"1.0000000001"'],
    ['currency missing', { currency: '' }, 'missing_field', 'currency', 'currency is missing'],
    ['currency not ISO 4217', { currency: 'XYZ' }, 'unknown_currency', 'currency', 'currency "XYZ"'],
    ['currency a symbol', { currency: 'US$' }, 'unknown_currency', 'currency', 'currency "US$"'],
    ['updated_at not an instant', { updated_at: 'yesterday' }, 'invalid_date', 'updated_at', '"yesterday"'],
    [
      'updated_at without zone',
      { updated_at: '2024-03-11T00:00:00' },
      'invalid_date',
      'updated_at',
      'updated_at "2024-03-11T00:00:00"',
    ],
    [
      'a row the reader could not split',
      { problem: 'expected 6 fields' },
      'malformed_record',
      undefined,
      'expected 6 fields',
    ],
  ])('%s → %s', (_, fields, reason, field, detail) => {
    const result = validateSpend({ ...good, ...fields }, channelOf);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection.reason).toBe(reason);
    expect(result.rejection.field).toBe(field);
    expect(result.rejection.detail).toContain(detail);
  });

  it('asks channelOf with the text as given', () => {
    const seen: string[] = [];
    const result = validateSpend({ ...good, channel: ' Paid-Social ' }, (text) => {
      seen.push(text);
      return 'Paid Social';
    });
    expect(seen).toEqual(['Paid-Social']); // trimmed, as every field
    expect(result).toMatchObject({ ok: true, value: { channel: 'Paid Social' } });
  });
});

const row = (fields: Partial<SpendRow>): SpendRow => ({
  date: '2024-03-10',
  channel: 'Adwords',
  campaign: null,
  amount: 100_000_000_000n, // 100
  currency: 'USD',
  updatedAt: 1,
  ...fields,
});

const permutations = <T>(items: readonly T[]): T[][] =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) =>
        permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
      );

const addAll = (rows: readonly SpendRow[]): { outcomes: SpendOutcome[]; kept: SpendRow[] } => {
  const book = createSpendBook();
  const outcomes = rows.map((r) => book.add(r));
  return { outcomes, kept: book.rows() };
};

describe('SpendBook', () => {
  const v1 = row({ updatedAt: 1, amount: 100_000_000_000n });
  const v2 = row({ updatedAt: 2, amount: 150_000_000_000n });

  it('last writer wins by updated_at, in either arrival order', () => {
    expect(addAll([v1, v2])).toEqual({ outcomes: ['apply', 'apply'], kept: [v2] });
    expect(addAll([v2, v1])).toEqual({ outcomes: ['apply', 'stale'], kept: [v2] });
  });

  it('an identical row is a duplicate and changes nothing', () => {
    expect(addAll([v1, { ...v1 }])).toEqual({ outcomes: ['apply', 'duplicate'], kept: [v1] });
  });

  it('keys by date, channel and campaign: no campaign and a campaign are different rows', () => {
    const other = [row({ campaign: 'c-1' }), row({ date: '2024-03-11' }), row({ channel: 'Webinar' })];
    const { outcomes, kept } = addAll([v1, ...other]);
    expect(outcomes).toEqual(['apply', 'apply', 'apply', 'apply']);
    // Sorted by date, then channel, then campaign with none first.
    expect(kept).toEqual([v1, other[0], other[2], other[1]]);
  });

  it('two rows of one version that differ: a conflict, the smaller amount stays, in either order', () => {
    const a = row({ updatedAt: 5, amount: 100_000_000_000n }); // 100
    const b = row({ updatedAt: 5, amount: 90_000_000_000n }); // 90 < 100: kept
    expect(addAll([a, b])).toEqual({ outcomes: ['apply', 'conflict'], kept: [b] });
    expect(addAll([b, a])).toEqual({ outcomes: ['apply', 'conflict'], kept: [b] });
  });

  it('same amount in another currency: the smaller code stays (EUR < USD), in either order', () => {
    const usd = row({ updatedAt: 5, currency: 'USD' });
    const eur = row({ updatedAt: 5, currency: 'EUR' });
    expect(addAll([usd, eur]).kept).toEqual([eur]);
    expect(addAll([eur, usd]).kept).toEqual([eur]);
  });

  it('whatever the order, the same rows stay: newest version, smallest rival, duplicates ignored', () => {
    const rivals = [
      row({ updatedAt: 5, amount: 100_000_000_000n, currency: 'USD' }),
      row({ updatedAt: 5, amount: 90_000_000_000n, currency: 'USD' }),
      row({ updatedAt: 5, amount: 90_000_000_000n, currency: 'EUR' }), // smallest: 90, then EUR < USD
      row({ updatedAt: 4, amount: 1n }), // older: loses although smallest
    ];
    const otherKey = row({ campaign: 'c-9', updatedAt: 3 });
    const input = [...rivals, rivals[0] as SpendRow, otherKey];
    for (const order of permutations(input)) expect(addAll(order).kept).toEqual([rivals[2], otherKey]);
    const newer = row({ updatedAt: 6, amount: 500_000_000_000n });
    for (const order of permutations([...rivals, newer])) expect(addAll(order).kept).toEqual([newer]);
  });

  it('get finds a row by its key', () => {
    const book = createSpendBook();
    book.add(v1);
    expect(book.get('2024-03-10', 'Adwords', null)).toEqual(v1);
    expect(book.get('2024-03-10', 'Adwords', 'c-1')).toBeUndefined();
    expect(book.size).toBe(1);
  });
});

const rate = (text: string) => {
  const parsed = parseRate(text);
  if (parsed.kind !== 'ok') throw new Error(text);
  return parsed.rate;
};

function rates(): RateBook {
  const book = createRateBook('USD');
  book.add({ date: '2024-03-01', currency: 'EUR', rate: rate('1.1') });
  book.add({ date: '2024-03-15', currency: 'EUR', rate: rate('1.2') });
  book.add({ date: '2024-04-01', currency: 'EUR', rate: rate('1.5') });
  book.add({ date: '2024-03-20', currency: 'GBP', rate: rate('1.25') });
  return book;
}

const byMonth = (date: string): string => date.slice(0, 7);

describe('spend totals', () => {
  const eurAfterRate = row({ date: '2024-03-10', amount: 100_000_000_000n, currency: 'EUR' });
  const eurOnRateDay = row({ date: '2024-03-15', amount: 100_000_000_000n, currency: 'EUR' });
  const usdCampaign = row({ date: '2024-03-20', campaign: 'c-1', amount: 10_000_000_000n });
  const gbpBeforeRate = row({
    date: '2024-03-05',
    channel: 'Webinar',
    amount: 40_000_000_000n,
    currency: 'GBP',
  });
  const eurBeforeAnyRate = row({ date: '2024-02-29', amount: 50_000_000_000n, currency: 'EUR' });
  const eurOneNano = row({ date: '2024-04-02', amount: 1n, currency: 'EUR' });
  const all = [eurAfterRate, eurOnRateDay, usdCampaign, gbpBeforeRate, eurBeforeAnyRate, eurOneNano];

  it('converts each row on its date with the latest rate on or before it; rows without one are pending', () => {
    // 2024-03 Adwords: 100 EUR × 1.1 (rate of 03-01, the latest ≤ 03-10) = 110
    //                + 100 EUR × 1.2 (rate dated 03-15, the day itself) = 120
    //                + 10 USD                                            =  10 → 240, 3 rows.
    // 2024-04 Adwords: 1 nano EUR × 1.5 (rate of 04-01) = 1.5 nanos → half to even → 2 nanos.
    // Pending: GBP on 03-05 (first GBP rate is 03-20), EUR on 02-29 (first EUR rate is 03-01),
    // sorted by date: 02-29 first.
    expect(spendTotals(all, { periodOf: byMonth, reportingCurrency: 'USD', rates: rates() })).toEqual({
      totals: [
        { channel: 'Adwords', period: '2024-03', amount: 240_000_000_000n, rows: 3 },
        { channel: 'Adwords', period: '2024-04', amount: 2n, rows: 1 },
      ],
      pending: [eurBeforeAnyRate, gbpBeforeRate],
    });
  });

  it('by campaign keeps campaigns apart, none first', () => {
    // 2024-03 Adwords none: 110 + 120 = 230 (2 rows); c-1: 10 USD; 2024-04 Adwords none: 2 nanos.
    const result = spendTotals(all, {
      periodOf: byMonth,
      reportingCurrency: 'USD',
      rates: rates(),
      byCampaign: true,
    });
    expect(result.totals).toEqual([
      { channel: 'Adwords', period: '2024-03', campaign: null, amount: 230_000_000_000n, rows: 2 },
      { channel: 'Adwords', period: '2024-03', campaign: 'c-1', amount: 10_000_000_000n, rows: 1 },
      { channel: 'Adwords', period: '2024-04', campaign: null, amount: 2n, rows: 1 },
    ]);
    expect(result.pending).toHaveLength(2);
  });

  it('without a rate book only reporting-currency rows count; every other row is pending', () => {
    // Only usdCampaign (10 USD) is in USD; the five others, sorted by date, wait.
    expect(spendTotals(all, { periodOf: byMonth, reportingCurrency: 'USD', rates: undefined })).toEqual({
      totals: [{ channel: 'Adwords', period: '2024-03', amount: 10_000_000_000n, rows: 1 }],
      pending: [eurBeforeAnyRate, gbpBeforeRate, eurAfterRate, eurOnRateDay, eurOneNano],
    });
  });

  it('the book totals the rows it kept (the newest version of each key)', () => {
    const book = createSpendBook();
    book.add(row({ updatedAt: 1, amount: 70_000_000_000n }));
    book.add(row({ updatedAt: 2, amount: 30_000_000_000n })); // replaces 70
    book.add(row({ date: '2024-03-31', amount: 5_000_000_000n }));
    // 2024-03 Adwords: 30 + 5 = 35, 2 rows; the replaced 70 is not counted.
    expect(book.totals({ periodOf: byMonth, reportingCurrency: 'USD', rates: undefined })).toEqual({
      totals: [{ channel: 'Adwords', period: '2024-03', amount: 35_000_000_000n, rows: 2 }],
      pending: [],
    });
  });

  it('refuses a rate book for another reporting currency', () => {
    expect(() => spendTotals([], { periodOf: byMonth, reportingCurrency: 'EUR', rates: rates() })).toThrow(
      RangeError,
    );
  });
});
