import { answerDelta, answersOf, type ModelAnswer } from './answer.js';
import type { OpportunityAttribution } from './attribute.js';
import type { Nanos } from './money.js';

/** One cell of the channel × sales-segment table of one model. */
export interface Cell {
  readonly model: string;
  readonly channel: string;
  readonly segment: string;
  /** The opportunities' period, when the table is broken down by one (see Breakdown). */
  readonly period?: string;
  /** The credited touches' campaign (null = none), when the table is broken down by campaign. */
  readonly campaign?: string | null;
  readonly amount: Nanos;
  /** Opportunities that gave this cell any credit. */
  readonly opportunities: number;
}

/** How one opportunity's attribution moves one cell; what streaming applies to the totals. */
export interface CellDelta {
  readonly model: string;
  readonly channel: string;
  readonly segment: string;
  readonly amount: Nanos;
  readonly opportunities: number;
}

const SEP = '\u0000';
const keyOf = (model: string, channel: string, segment: string): string =>
  `${model}${SEP}${channel}${SEP}${segment}`;

/** The cells one opportunity contributes to, with the amount it gives each. */
export function contributions(attribution: OpportunityAttribution): Map<string, CellDelta> {
  const cells = new Map<string, CellDelta>();
  for (const result of attribution.results) {
    for (const credit of result.credits) {
      const key = keyOf(result.model, credit.channel, attribution.segment);
      const previous = cells.get(key)?.amount ?? 0n;
      cells.set(key, {
        model: result.model,
        channel: credit.channel,
        segment: attribution.segment,
        amount: previous + credit.amount,
        opportunities: 1,
      });
    }
  }
  return cells;
}

/**
 * The exact change to the totals when an opportunity's attribution goes from `before` to `after`
 * (null = absent). Cells whose amount and count do not change are left out.
 */
export function diffAttributions(
  before: OpportunityAttribution | null,
  after: OpportunityAttribution | null,
): CellDelta[] {
  const byModel = (attribution: OpportunityAttribution | null): Map<string, ModelAnswer> =>
    new Map(
      attribution === null ? [] : answersOf(attribution).map((answer) => [answer.model, answer] as const),
    );
  const old = byModel(before);
  const next = byModel(after);
  const models = new Set([...old.keys(), ...next.keys()]);
  return [...models].flatMap((model) => answerDelta(old.get(model) ?? null, next.get(model) ?? null));
}

/**
 * What a table is broken down by beyond model × channel × segment: the opportunity's period
 * (a label from domain/period.ts) and the credited touch's campaign (null = none).
 */
export interface Breakdown {
  readonly periodOf?: (attribution: OpportunityAttribution) => string;
  readonly byCampaign?: boolean;
}

/**
 * Accumulates the channel × segment table over many opportunities. Same sums as adding up
 * `contributions` of each attribution, without a key string or a map per attribution: cells
 * are found by model, then period and segment, then channel (and campaign), and an opportunity
 * is counted once per cell. With a breakdown the cells carry `period` and/or `campaign`.
 */
export function createTotals(breakdown: Breakdown = {}): {
  add(attribution: OpportunityAttribution): void;
  cells(modelOrder: readonly string[]): Cell[];
} {
  interface Total {
    readonly model: string;
    readonly channel: string;
    readonly segment: string;
    readonly period: string | undefined;
    readonly campaign: string | null | undefined;
    amount: Nanos;
    opportunities: number;
    /** The last attribution counted in `opportunities`. */
    counted: number;
  }
  const { periodOf, byCampaign = false } = breakdown;
  const totals: Total[] = [];
  const byModel = new Map<string, Map<string, Map<string, Total>>>();
  let added = 0;
  return {
    add(attribution) {
      added += 1;
      const segment = attribution.segment;
      const period = periodOf?.(attribution);
      const rowKey = period === undefined ? segment : `${period}${SEP}${segment}`;
      for (const result of attribution.results) {
        let byRow = byModel.get(result.model);
        if (byRow === undefined) {
          byRow = new Map();
          byModel.set(result.model, byRow);
        }
        let byChannel = byRow.get(rowKey);
        if (byChannel === undefined) {
          byChannel = new Map();
          byRow.set(rowKey, byChannel);
        }
        for (const credit of result.credits) {
          const campaign = byCampaign ? (credit.campaign ?? null) : undefined;
          const columnKey = byCampaign ? `${credit.channel}${SEP}${campaign ?? ''}` : credit.channel;
          const total = byChannel.get(columnKey);
          if (total === undefined) {
            const created: Total = {
              model: result.model,
              channel: credit.channel,
              segment,
              period,
              campaign,
              amount: credit.amount,
              opportunities: 1,
              counted: added,
            };
            byChannel.set(columnKey, created);
            totals.push(created);
            continue;
          }
          total.amount += credit.amount;
          if (total.counted !== added) {
            total.opportunities += 1;
            total.counted = added;
          }
        }
      }
    },
    cells(modelOrder) {
      return sortCells(
        totals.map(({ model, channel, segment, period, campaign, amount, opportunities }) => ({
          model,
          ...(period === undefined ? {} : { period }),
          channel,
          ...(campaign === undefined ? {} : { campaign }),
          segment,
          amount,
          opportunities,
        })),
        modelOrder,
      );
    },
  };
}

/** Model in the given order, then period, channel, campaign (none first) and segment alphabetically. */
export function sortCells<
  T extends { model: string; channel: string; segment: string; period?: string; campaign?: string | null },
>(cells: T[], modelOrder: readonly string[]): T[] {
  const rank = (model: string): number => {
    const index = modelOrder.indexOf(model);
    return index === -1 ? modelOrder.length : index;
  };
  return cells.sort(
    (a, b) =>
      rank(a.model) - rank(b.model) ||
      compareText(a.model, b.model) ||
      compareText(a.period ?? '', b.period ?? '') ||
      compareText(a.channel, b.channel) ||
      compareText(a.campaign ?? '', b.campaign ?? '') ||
      compareText(a.segment, b.segment),
  );
}

/** Code-unit order: unlike localeCompare it is the same on every machine. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
