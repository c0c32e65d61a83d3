/**
 * The ROI table (SPEC "Stage models, revenue and spend"): per model × channel × period (and
 * campaign, when the inputs carry one) the spend, pipeline and revenue, and their ratios as exact
 * decimals. Spend has no segment, so the segments of the pipeline and revenue cells are summed.
 */
import { compareText, type Cell } from './aggregate.js';
import { NANOS_PER_UNIT, type Nanos } from './money.js';
import { compareCampaign, type SpendTotal } from './spend.js';

export interface RoiInput {
  /** Pipeline cells, each with a period (the opportunity's creation). */
  readonly pipeline: readonly Cell[];
  /** Revenue cells, each with a period (the closing of the won opportunity). */
  readonly revenue: readonly Cell[];
  /** Spend per (channel, period[, campaign]) in the reporting currency (spendTotals). */
  readonly spend: readonly SpendTotal[];
  /** Models to list, in this order, even without any cell; models only in cells follow, by name. */
  readonly models?: readonly string[];
}

export interface RoiRow {
  readonly model: string;
  readonly channel: string;
  readonly period: string;
  /** Present when the inputs are broken down by campaign; null = none. */
  readonly campaign?: string | null;
  /** Null: no spend row at all for this channel and period (not the same as a spend of 0). */
  readonly spend: Nanos | null;
  readonly pipeline: Nanos;
  readonly revenue: Nanos;
  /** Opportunities credited in the pipeline cells (one opportunity is in one segment). */
  readonly opportunities: number;
  /** pipeline / spend, 4 decimals; null where spend is zero or absent. */
  readonly pipelinePerSpend: string | null;
  /** revenue / spend, 4 decimals; null where spend is zero or absent. */
  readonly roas: string | null;
  /** spend / opportunities, 4 decimals; null where spend is zero or absent or no opportunity. */
  readonly costPerOpportunity: string | null;
}

const RATIO_DECIMALS = 4;
const RATIO_SCALE = 10n ** BigInt(RATIO_DECIMALS);

/**
 * numerator / denominator as a decimal with exactly 4 places, rounded half to even, computed on
 * bigints (no floating point); null when the denominator is 0. 1/8 → "0.1250", 2/3 → "0.6667",
 * 1/20000 → "0.0000" (a tie, to even), 3/20000 → "0.0002". A result that rounds to 0 has no sign.
 */
export function formatRatio(numerator: bigint, denominator: bigint): string | null {
  if (denominator === 0n) return null;
  const negative = numerator < 0n !== denominator < 0n;
  const n = (numerator < 0n ? -numerator : numerator) * RATIO_SCALE;
  const d = denominator < 0n ? -denominator : denominator;
  let scaled = n / d;
  const twiceRemainder = (n % d) * 2n;
  if (twiceRemainder > d || (twiceRemainder === d && scaled % 2n === 1n)) scaled += 1n;
  const text = `${scaled / RATIO_SCALE}.${(scaled % RATIO_SCALE).toString().padStart(RATIO_DECIMALS, '0')}`;
  return negative && scaled !== 0n ? `-${text}` : text;
}

interface Place {
  readonly channel: string;
  readonly period: string;
  readonly campaign?: string | null | undefined;
}

interface Sums extends Place {
  pipeline: Nanos;
  revenue: Nanos;
  opportunities: number;
}

const SEP = '\u0000';
const placeKey = ({ channel, period, campaign }: Place): string =>
  campaign === undefined || campaign === null
    ? `${period}${SEP}${channel}`
    : `${period}${SEP}${channel}${SEP}${campaign}`;

/** Whether the inputs are broken down by campaign: all of them, or none (anything else is a bug). */
function byCampaignOf(input: RoiInput): boolean {
  const all = [...input.pipeline, ...input.revenue, ...input.spend];
  const carrying = all.filter((item) => item.campaign !== undefined).length;
  if (carrying !== 0 && carrying !== all.length)
    throw new RangeError('roiTable: some inputs are broken down by campaign and some are not');
  return carrying !== 0;
}

function placeOf(cell: Cell): Place {
  if (cell.period === undefined)
    throw new RangeError(`roiTable: a cell of model ${cell.model}, channel ${cell.channel} has no period`);
  return { channel: cell.channel, period: cell.period, campaign: cell.campaign };
}

/** Model order: the given ones first, as given; then the others by name. */
function modelsOf(input: RoiInput): string[] {
  const given = input.models ?? [];
  const others = new Set<string>();
  for (const cell of [...input.pipeline, ...input.revenue])
    if (!given.includes(cell.model)) others.add(cell.model);
  return [...new Set(given), ...[...others].sort(compareText)];
}

export function roiTable(input: RoiInput): RoiRow[] {
  const byCampaign = byCampaignOf(input);
  const models = modelsOf(input);
  const sums = new Map<string, Map<string, Sums>>(models.map((model) => [model, new Map()]));
  const sumsAt = (model: string, place: Place): Sums => {
    const byPlace = sums.get(model) as Map<string, Sums>;
    const key = placeKey(place);
    let entry = byPlace.get(key);
    if (entry === undefined) {
      const { channel, period, campaign } = place;
      entry = { channel, period, campaign, pipeline: 0n, revenue: 0n, opportunities: 0 };
      byPlace.set(key, entry);
    }
    return entry;
  };
  for (const cell of input.pipeline) {
    const entry = sumsAt(cell.model, placeOf(cell));
    entry.pipeline += cell.amount;
    entry.opportunities += cell.opportunities;
  }
  for (const cell of input.revenue) sumsAt(cell.model, placeOf(cell)).revenue += cell.amount;
  const spend = new Map<string, Nanos>();
  for (const total of input.spend) {
    const key = placeKey(total);
    spend.set(key, (spend.get(key) ?? 0n) + total.amount);
    // Spend belongs to the channel, not to a model: every model lists it, credited or not.
    for (const model of models) sumsAt(model, total);
  }
  const rows: RoiRow[] = [];
  for (const model of models) {
    const places = [...(sums.get(model) as Map<string, Sums>).values()].sort(
      (a, b) =>
        compareText(a.period, b.period) ||
        compareText(a.channel, b.channel) ||
        compareCampaign(a.campaign, b.campaign),
    );
    for (const entry of places)
      rows.push(rowOf(model, entry, spend.get(placeKey(entry)) ?? null, byCampaign));
  }
  return rows;
}

function rowOf(model: string, sums: Sums, spend: Nanos | null, byCampaign: boolean): RoiRow {
  const { channel, period, campaign, pipeline, revenue, opportunities } = sums;
  const perSpend = (amount: Nanos): string | null => (spend === null ? null : formatRatio(amount, spend));
  return {
    model,
    channel,
    period,
    ...(byCampaign ? { campaign: campaign ?? null } : {}),
    spend,
    pipeline,
    revenue,
    opportunities,
    pipelinePerSpend: perSpend(pipeline),
    roas: perSpend(revenue),
    costPerOpportunity:
      spend === null || spend === 0n || opportunities === 0
        ? null
        : formatRatio(spend, BigInt(opportunities) * NANOS_PER_UNIT),
  };
}
