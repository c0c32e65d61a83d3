import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareText,
  contributions,
  createTotals,
  diffAttributions,
  sortCells,
  type Cell,
  type CellDelta,
} from '../../../src/domain/aggregate.js';
import type { Credit, OpportunityAttribution } from '../../../src/domain/attribute.js';
import { T0 } from '../../fakes/builders.js';

const credit = (channel: string, amount: bigint, touchpointId: string | null = `${channel}-t`): Credit => ({
  touchpointId,
  channel,
  occurredAt: touchpointId === null ? null : T0 - 1,
  amount,
});

function attribution(id: string, segment: string, results: Record<string, Credit[]>): OpportunityAttribution {
  const amounts = Object.values(results).map((credits) => credits.reduce((s, c) => s + c.amount, 0n));
  return {
    opportunityId: id,
    accountId: 'A1',
    segment,
    amount: amounts[0] ?? 0n,
    createdAt: T0,
    eligibleTouches: 0,
    results: Object.entries(results).map(([model, credits]) => ({ model, credits })),
  };
}

const byKey = (cells: Iterable<CellDelta>): Record<string, [bigint, number]> => {
  const out: Record<string, [bigint, number]> = {};
  for (const c of cells) out[`${c.model}|${c.channel}|${c.segment}`] = [c.amount, c.opportunities];
  return out;
};

describe('contributions', () => {
  it('gives one cell per model × channel × segment, summing credits of one channel, counting the opportunity once', () => {
    const a = attribution('O1', 'Commercial', {
      linear: [credit('Adwords', 30n, 'T1'), credit('Webinar', 40n, 'T2'), credit('Adwords', 30n, 'T3')],
      first_touch: [credit('Adwords', 100n, 'T1')],
    });
    expect(byKey(contributions(a).values())).toEqual({
      'linear|Adwords|Commercial': [60n, 1],
      'linear|Webinar|Commercial': [40n, 1],
      'first_touch|Adwords|Commercial': [100n, 1],
    });
  });

  it('includes the Unattributed credit', () => {
    const a = attribution('O1', 'Enterprise', { linear: [credit('Unattributed', 5n, null)] });
    expect(byKey(contributions(a).values())).toEqual({ 'linear|Unattributed|Enterprise': [5n, 1] });
  });
});

describe('diffAttributions', () => {
  const before = attribution('O1', 'Commercial', {
    linear: [credit('Adwords', 50n), credit('Webinar', 50n)],
  });

  it.each([
    ['absent → absent', null, null, {}],
    [
      'absent → present',
      null,
      before,
      { 'linear|Adwords|Commercial': [50n, 1], 'linear|Webinar|Commercial': [50n, 1] },
    ],
    [
      'present → absent',
      before,
      null,
      { 'linear|Adwords|Commercial': [-50n, -1], 'linear|Webinar|Commercial': [-50n, -1] },
    ],
    ['unchanged', before, before, {}],
    [
      'amount moves between channels',
      before,
      attribution('O1', 'Commercial', { linear: [credit('Adwords', 70n), credit('Webinar', 30n)] }),
      { 'linear|Adwords|Commercial': [20n, 0], 'linear|Webinar|Commercial': [-20n, 0] },
    ],
    [
      'a channel is replaced by another',
      before,
      attribution('O1', 'Commercial', { linear: [credit('Adwords', 50n), credit('Event', 50n)] }),
      { 'linear|Event|Commercial': [50n, 1], 'linear|Webinar|Commercial': [-50n, -1] },
    ],
    [
      'the segment changes',
      before,
      attribution('O1', 'Enterprise', { linear: [credit('Adwords', 50n), credit('Webinar', 50n)] }),
      {
        'linear|Adwords|Enterprise': [50n, 1],
        'linear|Webinar|Enterprise': [50n, 1],
        'linear|Adwords|Commercial': [-50n, -1],
        'linear|Webinar|Commercial': [-50n, -1],
      },
    ],
    [
      'the amount grows',
      before,
      attribution('O1', 'Commercial', { linear: [credit('Adwords', 60n), credit('Webinar', 60n)] }),
      { 'linear|Adwords|Commercial': [10n, 0], 'linear|Webinar|Commercial': [10n, 0] },
    ],
  ] as const)('%s', (_label, from, to, expected) => {
    expect(byKey(diffAttributions(from, to))).toEqual(expected);
  });

  // Random attributions of a few opportunities; a sequence of revisions (null = deleted).
  const channels = ['Adwords', 'Webinar', 'Event', 'Unattributed'];
  const models = ['first_touch', 'linear'];
  const attributionArb = (id: string): fc.Arbitrary<OpportunityAttribution> =>
    fc
      .record({
        segment: fc.constantFrom('Commercial', 'Enterprise'),
        credits: fc.array(fc.tuple(fc.constantFrom(...channels), fc.bigInt({ min: 0n, max: 1_000n })), {
          minLength: 1,
          maxLength: 4,
        }),
      })
      .map(({ segment, credits }) =>
        attribution(
          id,
          segment,
          Object.fromEntries(models.map((m, i) => [m, credits.slice(i).map(([ch, a]) => credit(ch, a))])),
        ),
      );
  const revisionArb = fc
    .constantFrom('O1', 'O2', 'O3')
    .chain((id) => fc.tuple(fc.constant(id), fc.option(attributionArb(id), { nil: null })));

  it('applied to an empty total over any sequence of revisions, equals createTotals over the final attributions', () => {
    fc.assert(
      fc.property(fc.array(revisionArb, { maxLength: 25 }), (revisions) => {
        const current = new Map<string, OpportunityAttribution | null>();
        const applied = new Map<string, { amount: bigint; opportunities: number; cell: CellDelta }>();
        for (const [id, next] of revisions) {
          for (const delta of diffAttributions(current.get(id) ?? null, next)) {
            const key = `${delta.model}|${delta.channel}|${delta.segment}`;
            const entry = applied.get(key) ?? { amount: 0n, opportunities: 0, cell: delta };
            entry.amount += delta.amount;
            entry.opportunities += delta.opportunities;
            applied.set(key, entry);
          }
          current.set(id, next);
        }
        const totals = createTotals();
        for (const a of current.values()) if (a !== null) totals.add(a);
        const expected = byKey(totals.cells(models));
        const actual: Record<string, [bigint, number]> = {};
        for (const [key, entry] of applied) {
          expect(entry.opportunities).toBeGreaterThanOrEqual(0);
          if (entry.opportunities === 0) expect(entry.amount).toBe(0n);
          else actual[key] = [entry.amount, entry.opportunities];
        }
        expect(actual).toEqual(expected);
      }),
    );
  });
});

describe('createTotals', () => {
  it('adds amounts and counts opportunities per cell, computed by hand', () => {
    const totals = createTotals();
    totals.add(
      attribution('O1', 'Commercial', {
        linear: [credit('Adwords', 30n), credit('Webinar', 70n)],
        first_touch: [credit('Adwords', 100n)],
      }),
    );
    totals.add(
      attribution('O2', 'Commercial', {
        linear: [credit('Adwords', 5n)],
        first_touch: [credit('Adwords', 5n)],
      }),
    );
    totals.add(
      attribution('O3', 'Enterprise', {
        linear: [credit('Unattributed', 9n, null)],
        first_touch: [credit('Unattributed', 9n, null)],
      }),
    );
    expect(totals.cells(['first_touch', 'linear'])).toEqual([
      { model: 'first_touch', channel: 'Adwords', segment: 'Commercial', amount: 105n, opportunities: 2 },
      { model: 'first_touch', channel: 'Unattributed', segment: 'Enterprise', amount: 9n, opportunities: 1 },
      { model: 'linear', channel: 'Adwords', segment: 'Commercial', amount: 35n, opportunities: 2 },
      { model: 'linear', channel: 'Unattributed', segment: 'Enterprise', amount: 9n, opportunities: 1 },
      { model: 'linear', channel: 'Webinar', segment: 'Commercial', amount: 70n, opportunities: 1 },
    ]);
  });

  it('starts empty', () => {
    expect(createTotals().cells([])).toEqual([]);
  });
});

describe('sortCells', () => {
  const cell = (model: string, channel: string, segment: string): Cell => ({
    model,
    channel,
    segment,
    amount: 0n,
    opportunities: 0,
  });
  const keys = (cells: Cell[]): string[] => cells.map((c) => `${c.model}/${c.channel}/${c.segment}`);

  it.each([
    [
      'models in the given order, not alphabetical',
      [cell('linear', 'A', 'x'), cell('first_touch', 'A', 'x'), cell('time_decay', 'A', 'x')],
      ['time_decay', 'first_touch', 'linear'],
      ['time_decay/A/x', 'first_touch/A/x', 'linear/A/x'],
    ],
    [
      'then channel, then segment, by code unit',
      [
        cell('m', 'Webinar', 'Enterprise'),
        cell('m', 'Adwords', 'Mid Market'),
        cell('m', 'Adwords', 'Commercial'),
        cell('m', 'Unattributed', 'Commercial'),
      ],
      ['m'],
      ['m/Adwords/Commercial', 'm/Adwords/Mid Market', 'm/Unattributed/Commercial', 'm/Webinar/Enterprise'],
    ],
    [
      'upper case before lower case (code-unit order, not locale)',
      [cell('m', 'adwords', 'x'), cell('m', 'Zebra', 'x'), cell('m', 'Apple', 'x')],
      ['m'],
      ['m/Apple/x', 'm/Zebra/x', 'm/adwords/x'],
    ],
    [
      'unknown models last, alphabetically',
      [cell('zeta', 'A', 'x'), cell('alpha', 'A', 'x'), cell('linear', 'A', 'x')],
      ['linear'],
      ['linear/A/x', 'alpha/A/x', 'zeta/A/x'],
    ],
  ])('sorts %s', (_label, cells, order, expected) => {
    expect(keys(sortCells([...cells], order))).toEqual(expected);
  });
});

describe('compareText', () => {
  it.each([
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['Z', 'a', -1],
    ['10', '9', -1],
    ['', 'a', -1],
  ])('compares %j with %j as %i', (a, b, sign) => {
    expect(Math.sign(compareText(a, b))).toBe(sign);
  });
});

describe('createTotals with a breakdown', () => {
  const at = (id: string, segment: string, createdAt: number, credits: Credit[]): OpportunityAttribution => ({
    ...attribution(id, segment, { linear: credits }),
    createdAt,
  });
  const campaigned = (channel: string, amount: bigint, campaign: string | null): Credit => ({
    ...credit(channel, amount, `${channel}-${campaign ?? 'none'}`),
    ...(campaign === null ? {} : { campaign }),
  });
  const byMonth = (a: OpportunityAttribution): string => new Date(a.createdAt).toISOString().slice(0, 7);

  it('keeps a cell per period and per campaign, and counts an opportunity once per cell, by hand', () => {
    const totals = createTotals({ periodOf: byMonth, byCampaign: true });
    // O1 (January): Adwords 30 under K1, Adwords 20 under K1 again (a second touch), Webinar 50 with none.
    totals.add(
      at('O1', 'Commercial', Date.UTC(2024, 0, 5), [
        campaigned('Adwords', 30n, 'K1'),
        { ...campaigned('Adwords', 20n, 'K1'), touchpointId: 'second' },
        campaigned('Webinar', 50n, null),
      ]),
    );
    // O2 (January): Adwords 7 under K2. O3 (February): Adwords 9 under K1.
    totals.add(at('O2', 'Commercial', Date.UTC(2024, 0, 31), [campaigned('Adwords', 7n, 'K2')]));
    totals.add(at('O3', 'Commercial', Date.UTC(2024, 1, 1), [campaigned('Adwords', 9n, 'K1')]));
    const cell = (period: string, channel: string, campaign: string | null, amount: bigint) => ({
      model: 'linear',
      period,
      channel,
      campaign,
      segment: 'Commercial',
      amount,
      opportunities: 1,
    });
    expect(totals.cells(['linear'])).toEqual([
      cell('2024-01', 'Adwords', 'K1', 50n),
      cell('2024-01', 'Adwords', 'K2', 7n),
      cell('2024-01', 'Webinar', null, 50n),
      cell('2024-02', 'Adwords', 'K1', 9n),
    ]);
  });

  it('by period alone, campaigns fold into their channel and cells carry no campaign key', () => {
    const totals = createTotals({ periodOf: byMonth });
    totals.add(at('O1', 'Commercial', Date.UTC(2024, 0, 5), [campaigned('Adwords', 30n, 'K1')]));
    totals.add(at('O2', 'Commercial', Date.UTC(2024, 0, 6), [campaigned('Adwords', 5n, null)]));
    expect(totals.cells(['linear'])).toEqual([
      {
        model: 'linear',
        period: '2024-01',
        channel: 'Adwords',
        segment: 'Commercial',
        amount: 35n,
        opportunities: 2,
      },
    ]);
  });
});
