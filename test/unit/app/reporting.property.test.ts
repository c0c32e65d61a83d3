/**
 * Properties of replay with the reporting dimensions (SPEC "Reporting dimensions") on random
 * messy worlds whose touches carry campaign and UTM fields (some without a channel) and whose
 * opportunities carry currencies:
 * - conservation per period and per campaign: per model and local creation day, the cells sum
 *   to the opportunities' converted amounts, worked out here with plain bigint arithmetic;
 * - order and duplicate independence of the broken-down table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SourcedRecord } from '../../../src/app/ingest.js';
import { FileLine } from '../../../src/app/quality.js';
import { replay } from '../../../src/app/replay.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import type { ChannelRules } from '../../../src/domain/channel-rules.js';
import { ALL_MODELS } from '../../../src/domain/models/index.js';
import { localDate } from '../../../src/domain/period.js';
import { messyWorldArb, shuffled, withRepeats } from '../../fakes/world.js';

const ZONE = 'America/New_York';
const RULES: ChannelRules = {
  version: 'p1',
  channels: [],
  rules: [
    {
      name: 'google cpc',
      channel: 'Adwords',
      when: {
        utm_source: [{ kind: 'exact', value: 'google' }],
        utm_medium: [{ kind: 'wildcard', value: '*cpc' }],
      },
    },
  ],
};
const vocab = buildVocabularies(undefined, undefined, RULES);
const settings = {
  ...buildSettings({}),
  timeZone: ZONE,
  ...(vocab.channelRules === undefined ? {} : { channelRules: vocab.channelRules }),
};
/** EUR is 1.5 and GBP 0.25 from long before any creation; JPY has no rate (pending_fx). */
const RATES = [
  { raw: { date: '2000-01-01', currency: 'EUR', rate: '1.5' }, origin: new FileLine('fx_rates.csv', 2) },
  { raw: { date: '2000-01-01', currency: 'GBP', rate: '0.25' }, origin: new FileLine('fx_rates.csv', 3) },
];
const CURRENCIES = [null, 'USD', 'EUR', 'GBP', 'JPY'] as const;

/** Adds campaign/UTM fields (and sometimes drops the channel) to touches, currencies to opportunities. */
const dimensioned = (records: readonly SourcedRecord[]): fc.Arbitrary<SourcedRecord[]> =>
  fc
    .array(
      fc.record({
        campaign: fc.constantFrom(null, 'K1', 'K2'),
        utm: fc.constantFrom(null, 'google|cpc', 'google|ppc-cpc', 'bing|cpc'),
        dropChannel: fc.boolean(),
        currency: fc.constantFrom(...CURRENCIES),
      }),
      { minLength: records.length, maxLength: records.length },
    )
    .map((extras) =>
      records.map((record, i) => {
        const extra = extras[i];
        if (extra === undefined || (record.kind !== 'touch' && record.kind !== 'opportunity')) return record;
        if (record.kind === 'opportunity')
          return extra.currency === null
            ? record
            : { ...record, raw: { ...record.raw, currency: extra.currency } };
        const [source, medium] = extra.utm?.split('|') ?? [null, null];
        return {
          ...record,
          raw: {
            ...record.raw,
            ...(extra.dropChannel ? { channel: null } : {}),
            campaign_id: extra.campaign,
            utm_source: source ?? null,
            utm_medium: medium ?? null,
          },
        };
      }),
    );

const worldArb = messyWorldArb.chain(dimensioned);

const run = (records: readonly SourcedRecord[], byCampaign: boolean) =>
  replay(records, {
    settings,
    vocab,
    breakdown: { periodOf: (a) => localDate(a.createdAt, ZONE), byCampaign },
    fx: { reportingCurrency: 'USD', timeZone: ZONE, rates: RATES },
  });

/** amount × rate, rate = p/q exactly, rounded half to even at the nano: a second method. */
function converted(amount: bigint, currency: string | undefined): bigint | null {
  if (currency === undefined || currency === 'USD') return amount;
  const [p, q] = currency === 'EUR' ? [3n, 2n] : currency === 'GBP' ? [1n, 4n] : [0n, 0n];
  if (q === 0n) return null;
  const whole = (amount * p) / q;
  const twiceRest = 2n * ((amount * p) % q);
  if (twiceRest > q || (twiceRest === q && whole % 2n === 1n)) return whole + 1n;
  return whole;
}

const nonZero = (sums: ReadonlyMap<string, bigint>): Map<string, bigint> =>
  new Map([...sums].filter(([, amount]) => amount !== 0n).sort(([a], [b]) => (a < b ? -1 : 1)));

describe('replay with periods, campaigns, channel rules and currencies', () => {
  it('conserves every period: per model and day, the cells (by campaign too) sum to the converted amounts', () => {
    fc.assert(
      fc.property(worldArb, (records) => {
        const expected = new Map<string, bigint>();
        let pending = 0;
        const result = replay(records, {
          settings,
          vocab,
          breakdown: { periodOf: (a) => localDate(a.createdAt, ZONE), byCampaign: true },
          fx: { reportingCurrency: 'USD', timeZone: ZONE, rates: RATES },
          onAttribution: (a) => {
            const amount = converted(a.original?.amount ?? a.amount, a.original?.currency);
            expect(amount).toBe(a.amount);
            const day = localDate(a.createdAt, ZONE);
            expected.set(day, (expected.get(day) ?? 0n) + (amount ?? 0n));
          },
        });
        pending = result.pendingFx;
        for (const model of ALL_MODELS.map((m) => m.name)) {
          const sums = new Map<string, bigint>();
          for (const cell of result.cells)
            if (cell.model === model)
              sums.set(cell.period ?? '', (sums.get(cell.period ?? '') ?? 0n) + cell.amount);
          expect(nonZero(sums)).toEqual(nonZero(expected));
        }
        // JPY has no rate: exactly its live opportunities wait, and they are in no cell.
        expect(pending).toBe(result.quality.notices?.pending_fx ?? 0);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same broken-down table whatever the delivery order and however often records repeat', () => {
    fc.assert(
      fc.property(
        worldArb.chain((records) => fc.tuple(fc.constant(records), shuffled(records), withRepeats(records))),
        ([records, reordered, repeated]) => {
          const first = run(records, true).cells;
          expect(run(reordered, true).cells).toEqual(first);
          expect(run(repeated, true).cells).toEqual(first);
        },
      ),
      { numRuns: 150 },
    );
  });
});
