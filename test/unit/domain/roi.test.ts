import { describe, expect, it } from 'vitest';
import type { Cell } from '../../../src/domain/aggregate.js';
import { formatRatio, roiTable, type RoiRow } from '../../../src/domain/roi.js';
import type { SpendTotal } from '../../../src/domain/spend.js';

const U = 1_000_000_000n; // one currency unit in nanos

const cell = (
  model: string,
  channel: string,
  segment: string,
  period: string,
  amount: bigint,
  opportunities: number,
  campaign?: string | null,
): Cell => ({
  model,
  channel,
  segment,
  period,
  amount,
  opportunities,
  ...(campaign === undefined ? {} : { campaign }),
});

const spend = (channel: string, period: string, amount: bigint, campaign?: string | null): SpendTotal => ({
  channel,
  period,
  amount,
  rows: 1,
  ...(campaign === undefined ? {} : { campaign }),
});

describe('formatRatio', () => {
  it.each<[bigint, bigint, string | null]>([
    [1n, 8n, '0.1250'], // 0.125 exactly
    [2n, 3n, '0.6667'], // 0.66666… → up
    [1n, 3n, '0.3333'], // 0.33333… → down
    [1n, 16n, '0.0625'], // 0.0625 exactly, 4 places
    [1n, 20_000n, '0.0000'], // 0.00005: a tie, 0 is even
    [3n, 20_000n, '0.0002'], // 0.00015: a tie, 1 is odd → 2
    [5n, 20_000n, '0.0002'], // 0.00025: a tie, 2 is even
    [7n, 20_000n, '0.0004'], // 0.00035: a tie, 3 is odd → 4
    [1n, 15_000n, '0.0001'], // 0.0000666… → up
    [1n, 30_000n, '0.0000'], // 0.0000333… → down
    [0n, 5n, '0.0000'],
    [10n, 1n, '10.0000'],
    [1234n, 100n, '12.3400'],
    [12_345_678_901_234_567_890n, 1n, '12345678901234567890.0000'], // no float anywhere
    [-1n, 8n, '-0.1250'],
    [1n, -8n, '-0.1250'],
    [-1n, 20_000n, '0.0000'], // rounds to 0: no "-0.0000"
    [5n, 0n, null],
    [0n, 0n, null],
  ])('%s / %s → %s', (numerator, denominator, expected) => {
    expect(formatRatio(numerator, denominator)).toBe(expected);
  });
});

describe('roiTable', () => {
  // Pipeline: linear has Adwords in two segments in 2024-03, Webinar (spend 0) and Unattributed
  // (never any spend); first_touch has Adwords only; w_shaped, asked for, has no cell at all.
  const pipeline = [
    cell('first_touch', 'Adwords', 'Commercial', '2024-03', 1000n * U, 3),
    cell('linear', 'Adwords', 'Commercial', '2024-03', 300n * U, 2),
    cell('linear', 'Adwords', 'Enterprise', '2024-03', 700n * U, 1),
    cell('linear', 'Webinar', 'Commercial', '2024-03', 50n * U, 1),
    cell('linear', 'Unattributed', 'Commercial', '2024-03', 25n * U, 1),
  ];
  // Revenue in its closing period: Adwords won 400 in 2024-03 and 30 in 2024-04 (an opportunity
  // created in March, closed in April).
  const revenue = [
    cell('linear', 'Adwords', 'Enterprise', '2024-03', 400n * U, 1),
    cell('linear', 'Adwords', 'Commercial', '2024-04', 30n * U, 1),
  ];
  const spendTotals = [
    spend('Adwords', '2024-03', 800n * U),
    spend('Webinar', '2024-03', 0n),
    spend('Email', '2024-03', 120n * U),
    spend('Adwords', '2024-04', 40n * U),
  ];

  const noPipeline = (model: string, channel: string, period: string, amount: bigint): RoiRow => ({
    model,
    channel,
    period,
    spend: amount,
    pipeline: 0n,
    revenue: 0n,
    opportunities: 0,
    // 0 / spend = 0; no opportunity, no cost per opportunity.
    pipelinePerSpend: '0.0000',
    roas: '0.0000',
    costPerOpportunity: null,
  });
  const webinarNothing = (model: string): RoiRow => ({
    model,
    channel: 'Webinar',
    period: '2024-03',
    spend: 0n,
    pipeline: 0n,
    revenue: 0n,
    opportunities: 0,
    pipelinePerSpend: null,
    roas: null,
    costPerOpportunity: null,
  });

  it('per model × channel × period: segments summed, every model lists every spend row', () => {
    const rows = roiTable({
      pipeline,
      revenue,
      spend: spendTotals,
      models: ['linear', 'first_touch', 'w_shaped'],
    });
    expect(rows).toEqual<RoiRow[]>([
      {
        model: 'linear',
        channel: 'Adwords',
        period: '2024-03',
        spend: 800n * U,
        pipeline: 1000n * U, // 300 Commercial + 700 Enterprise
        revenue: 400n * U,
        opportunities: 3, // 2 + 1: one opportunity is in one segment only
        pipelinePerSpend: '1.2500', // 1000 / 800
        roas: '0.5000', // 400 / 800
        costPerOpportunity: '266.6667', // 800 / 3 = 266.66666… → up at the 4th place
      },
      noPipeline('linear', 'Email', '2024-03', 120n * U),
      {
        model: 'linear',
        channel: 'Unattributed',
        period: '2024-03',
        spend: null, // no spend row at all: null, never 0
        pipeline: 25n * U,
        revenue: 0n,
        opportunities: 1,
        pipelinePerSpend: null,
        roas: null,
        costPerOpportunity: null,
      },
      {
        model: 'linear',
        channel: 'Webinar',
        period: '2024-03',
        spend: 0n, // a spend row of 0: shown as 0, its ratios null (never Infinity)
        pipeline: 50n * U,
        revenue: 0n,
        opportunities: 1,
        pipelinePerSpend: null,
        roas: null,
        costPerOpportunity: null,
      },
      {
        model: 'linear',
        channel: 'Adwords',
        period: '2024-04',
        spend: 40n * U,
        pipeline: 0n,
        revenue: 30n * U,
        opportunities: 0, // won opportunities are not created ones: the count is the pipeline's
        pipelinePerSpend: '0.0000',
        roas: '0.7500', // 30 / 40
        costPerOpportunity: null, // 0 opportunities
      },
      {
        model: 'first_touch',
        channel: 'Adwords',
        period: '2024-03',
        spend: 800n * U,
        pipeline: 1000n * U,
        revenue: 0n,
        opportunities: 3,
        pipelinePerSpend: '1.2500',
        roas: '0.0000',
        costPerOpportunity: '266.6667',
      },
      noPipeline('first_touch', 'Email', '2024-03', 120n * U),
      webinarNothing('first_touch'),
      noPipeline('first_touch', 'Adwords', '2024-04', 40n * U),
      noPipeline('w_shaped', 'Adwords', '2024-03', 800n * U),
      noPipeline('w_shaped', 'Email', '2024-03', 120n * U),
      webinarNothing('w_shaped'),
      noPipeline('w_shaped', 'Adwords', '2024-04', 40n * U),
    ]);
  });

  it('the result does not depend on the order of the input cells', () => {
    const forward = roiTable({ pipeline, revenue, spend: spendTotals, models: ['linear'] });
    const backward = roiTable({
      pipeline: [...pipeline].reverse(),
      revenue: [...revenue].reverse(),
      spend: [...spendTotals].reverse(),
      models: ['linear'],
    });
    expect(backward).toEqual(forward);
  });

  const ratios = (pipelineNanos: bigint, spendNanos: bigint, opportunities: number) => {
    const [row] = roiTable({
      pipeline: [cell('linear', 'Adwords', 'Commercial', '2024-03', pipelineNanos, opportunities)],
      revenue: [cell('linear', 'Adwords', 'Commercial', '2024-03', pipelineNanos, 1)],
      spend: [spend('Adwords', '2024-03', spendNanos)],
    });
    return [row?.pipelinePerSpend, row?.roas, row?.costPerOpportunity];
  };

  it.each<[string, bigint, bigint, number, (string | null)[]]>([
    // [pipeline = revenue, spend, opportunities] → [pipeline/spend, revenue/spend, spend/opportunities]
    ['1/8 exactly', 1n * U, 8n * U, 8, ['0.1250', '0.1250', '1.0000']], // 8 / 8 opportunities = 1
    ['2/3 and 3/2', 2n * U, 3n * U, 2, ['0.6667', '0.6667', '1.5000']],
    ['1/16, cost 16/3', 1n * U, 16n * U, 3, ['0.0625', '0.0625', '5.3333']], // 16/3 = 5.3333…
    ['0.00005 tie to even 0', 1n, 20_000n, 1, ['0.0000', '0.0000', '0.0000']], // 20 000 nanos = 0.00002
    ['0.00015 tie to even 2', 3n, 20_000n, 1, ['0.0002', '0.0002', '0.0000']],
    // spend 0.00025 (250 000 nanos) for 1 opportunity: a tie at the 4th place, 2 is even
    ['cost 0.00025 tie to even', 1n * U, 250_000n, 1, ['4000.0000', '4000.0000', '0.0002']],
    // spend 0.00035 for 1 opportunity: a tie, 3 is odd → 4; 1 / 0.00035 = 2857.142857… → up
    ['cost 0.00035 tie to odd', 1n * U, 350_000n, 1, ['2857.1429', '2857.1429', '0.0004']],
  ])('%s', (_, pipelineNanos, spendNanos, opportunities, expected) => {
    expect(ratios(pipelineNanos, spendNanos, opportunities)).toEqual(expected);
  });

  it('by campaign when the inputs carry one: campaigns apart, none first', () => {
    const rows = roiTable({
      pipeline: [
        cell('linear', 'Adwords', 'Commercial', '2024-03', 200n * U, 1, 'c-1'),
        cell('linear', 'Adwords', 'Enterprise', '2024-03', 300n * U, 1, 'c-1'),
        cell('linear', 'Adwords', 'Commercial', '2024-03', 100n * U, 1, null),
      ],
      revenue: [],
      spend: [
        spend('Adwords', '2024-03', 250n * U, 'c-1'),
        spend('Adwords', '2024-03', 10n * U, 'c-2'),
        spend('Adwords', '2024-03', 50n * U, null),
      ],
    });
    expect(
      rows.map((r) => [
        r.campaign,
        r.spend,
        r.pipeline,
        r.opportunities,
        r.pipelinePerSpend,
        r.costPerOpportunity,
      ]),
    ).toEqual([
      [null, 50n * U, 100n * U, 1, '2.0000', '50.0000'], // 100 / 50; 50 / 1
      ['c-1', 250n * U, 500n * U, 2, '2.0000', '125.0000'], // (200 + 300) / 250; 250 / 2
      ['c-2', 10n * U, 0n, 0, '0.0000', null],
    ]);
  });

  it('without campaign in the inputs the rows carry none', () => {
    const [row] = roiTable({ pipeline: pipeline.slice(0, 1), revenue: [], spend: [] });
    expect(row).not.toHaveProperty('campaign');
  });

  it('models: the given order first, then models only in cells by name', () => {
    const rows = roiTable({
      pipeline: [
        cell('z_model', 'Adwords', 'Commercial', '2024-03', 1n, 1),
        cell('a_model', 'Adwords', 'Commercial', '2024-03', 1n, 1),
        cell('b_model', 'Adwords', 'Commercial', '2024-03', 1n, 1),
      ],
      revenue: [],
      spend: [],
      models: ['b_model', 'empty_model'],
    });
    // empty_model has no cell and there is no spend: it has no row.
    expect(rows.map((r) => r.model)).toEqual(['b_model', 'a_model', 'z_model']);
  });

  it('nothing in, nothing out', () => {
    expect(roiTable({ pipeline: [], revenue: [], spend: [], models: ['linear'] })).toEqual([]);
  });

  it('refuses inputs broken down by campaign only in part, and cells without a period', () => {
    expect(() =>
      roiTable({
        pipeline: [cell('linear', 'Adwords', 'Commercial', '2024-03', 1n, 1, 'c-1')],
        revenue: [],
        spend: [spend('Adwords', '2024-03', 1n)],
      }),
    ).toThrow(RangeError);
    const withoutPeriod: Cell = {
      model: 'linear',
      channel: 'Adwords',
      segment: 'Commercial',
      amount: 1n,
      opportunities: 1,
    };
    expect(() => roiTable({ pipeline: [withoutPeriod], revenue: [], spend: [] })).toThrow(/no period/);
  });
});
