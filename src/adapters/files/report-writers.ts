import { closeSync, openSync, writeSync } from 'node:fs';
import { compareText, type Cell } from '../../domain/aggregate.js';
import type { OpportunityAttribution } from '../../domain/attribute.js';
import { formatCents, formatNanos } from '../../domain/money.js';
import type { RoiRow } from '../../domain/roi.js';
import { formatInstant } from '../../domain/time.js';
import { csvField } from './csv.js';

/**
 * A row of the channel × segment table as SPEC.md fixes it for JSON output; `period` and
 * `campaign` appear only when the table is broken down by them (`replay --by`).
 */
export interface TableRow {
  model: string;
  period?: string;
  channel: string;
  campaign?: string | null;
  sales_segment: string;
  pipeline_amount: string;
  opportunities: number;
}

/**
 * What a table's amounts are: attributed pipeline (the opportunities' creation), or revenue
 * (the closed-won opportunities' same credits, SPEC "Stage models"); the amount column is named
 * after it: pipeline_amount or revenue_amount.
 */
export type Measure = 'pipeline' | 'revenue';

export const toRows = (cells: readonly Cell[]): TableRow[] =>
  cells.map((cell) => ({
    model: cell.model,
    ...(cell.period === undefined ? {} : { period: cell.period }),
    channel: cell.channel,
    ...(cell.campaign === undefined ? {} : { campaign: cell.campaign }),
    sales_segment: cell.segment,
    pipeline_amount: formatCents(cell.amount),
    opportunities: cell.opportunities,
  }));

/** The rows with the amount column named after the measure. */
const rowsOf = (cells: readonly Cell[], measure: Measure): Record<string, unknown>[] =>
  toRows(cells).map(({ pipeline_amount, opportunities, ...rest }) => ({
    ...rest,
    [`${measure}_amount`]: pipeline_amount,
    opportunities,
  }));

export const renderJson = (cells: readonly Cell[], measure: Measure = 'pipeline'): string =>
  `${JSON.stringify(rowsOf(cells, measure), null, 2)}\n`;

/** Which breakdown columns a table has; by default, those its cells carry. */
export interface Columns {
  readonly period: boolean;
  readonly campaign: boolean;
}

const columnsOf = (cells: readonly Cell[]): Columns => ({
  period: cells.some((cell) => cell.period !== undefined),
  campaign: cells.some((cell) => cell.campaign !== undefined),
});

export function renderCsv(
  cells: readonly Cell[],
  columns: Columns = columnsOf(cells),
  measure: Measure = 'pipeline',
): string {
  const { period: byPeriod, campaign: byCampaign } = columns;
  const header = [
    'model',
    ...(byPeriod ? ['period'] : []),
    'channel',
    ...(byCampaign ? ['campaign'] : []),
    'sales_segment',
    `${measure}_amount`,
    'opportunities',
  ];
  const lines = [header.join(',')];
  for (const row of toRows(cells)) {
    lines.push(
      [
        row.model,
        ...(byPeriod ? [row.period ?? ''] : []),
        row.channel,
        ...(byCampaign ? [row.campaign ?? ''] : []),
        row.sales_segment,
        row.pipeline_amount,
        String(row.opportunities),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** How a campaign-less credit is shown in the text table. */
export const NO_CAMPAIGN = '(no campaign)';

/**
 * One readable block per model: channels (or channel / campaign) down; sales segments across,
 * or periods across when the table is broken down by period (all segments together then: the
 * "what did each channel source per quarter" view); totals right and below.
 */
export function renderText(
  cells: readonly Cell[],
  models: readonly string[],
  columns: Columns = columnsOf(cells),
  measure: Measure = 'pipeline',
): string {
  const { period: byPeriod, campaign: byCampaign } = columns;
  const rowOf = (c: Cell): string => (byCampaign ? `${c.channel} / ${c.campaign ?? NO_CAMPAIGN}` : c.channel);
  const columnOf = (c: Cell): string => (byPeriod ? (c.period ?? '') : c.segment);
  const blocks: string[] = [];
  for (const model of models) {
    const own = cells.filter((cell) => cell.model === model);
    const columns = [...new Set(own.map(columnOf))].sort(compareText);
    const rowNames = [...new Set(own.map(rowOf))].sort(compareText);
    const sums = new Map<string, bigint>();
    const add = (key: string, amount: bigint): void => {
      sums.set(key, (sums.get(key) ?? 0n) + amount);
    };
    for (const c of own) {
      const row = rowOf(c);
      const column = columnOf(c);
      add(`${row}\u0000${column}`, c.amount);
      add(`${row}\u0000`, c.amount);
      add(`\u0000${column}`, c.amount);
      add('\u0000', c.amount);
    }
    const amountOf = (row: string | null, column: string | null): bigint =>
      sums.get(`${row ?? ''}\u0000${column ?? ''}`) ?? 0n;
    const header = [byCampaign ? 'channel / campaign' : 'channel', ...columns, 'Total'];
    const body = [...rowNames, null].map((row) => [
      row ?? 'Total',
      ...[...columns, null].map((column) => formatCents(amountOf(row, column))),
    ]);
    const rows = [header, ...body];
    const widths = header.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
    const line = (row: string[]): string =>
      row
        .map((text, i) => (i === 0 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0)))
        .join('  ');
    const rule = widths.map((w) => '-'.repeat(w)).join('  ');
    blocks.push(
      [
        measure === 'pipeline' ? `model: ${model}` : `model: ${model} (${measure})`,
        line(header),
        rule,
        ...body.slice(0, -1).map(line),
        rule,
        line(body.at(-1) ?? []),
      ].join('\n'),
    );
  }
  return `${blocks.join('\n\n')}\n`;
}

const TOUCH_HEADER =
  'model,opportunity_id,account_id,sales_segment,opportunity_created_at,opportunity_amount,touchpoint_id,channel,touch_occurred_at,credited_amount';

/** Bytes of rows gathered before one write(2). */
const FLUSH_AT = 1 << 20;

/**
 * The touch-level table: one row per credited touch and model (an Unattributed row when nothing
 * was eligible). Amounts are exact (up to 9 decimals) so the rows of an opportunity sum to it.
 * Written synchronously, a megabyte at a time: replay is synchronous, so a stream would hold
 * the whole table in memory until replay returned.
 */
export function createTouchCreditsWriter(path: string): {
  write(attribution: OpportunityAttribution): void;
  close(): void;
} {
  const fd = openSync(path, 'w');
  let pending = `${TOUCH_HEADER}\n`;
  const flush = (): void => {
    if (pending.length > 0) writeSync(fd, pending);
    pending = '';
  };
  return {
    write(attribution) {
      const opportunity = `${csvField(attribution.opportunityId)},${csvField(attribution.accountId)},${csvField(attribution.segment)},${formatInstant(attribution.createdAt)},${formatNanos(attribution.amount)}`;
      for (const result of attribution.results) {
        const model = csvField(result.model);
        for (const credit of result.credits) {
          pending += `${model},${opportunity},${csvField(credit.touchpointId ?? '')},${csvField(credit.channel)},${
            credit.occurredAt === null ? '' : formatInstant(credit.occurredAt)
          },${formatNanos(credit.amount)}\n`;
        }
      }
      if (pending.length >= FLUSH_AT) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

/** A row of the ROI table (SPEC "Stage models, revenue and spend") as JSON and CSV give it. */
export interface RoiTableRow {
  model: string;
  period: string;
  channel: string;
  campaign?: string | null;
  /** null = no spend row at all for the channel and period (not zero). */
  spend: string | null;
  pipeline_amount: string;
  revenue_amount: string;
  opportunities: number;
  pipeline_per_spend: string | null;
  roas: string | null;
  cost_per_opportunity: string | null;
}

export const toRoiRows = (rows: readonly RoiRow[]): RoiTableRow[] =>
  rows.map((r) => ({
    model: r.model,
    period: r.period,
    channel: r.channel,
    ...(r.campaign === undefined ? {} : { campaign: r.campaign }),
    spend: r.spend === null ? null : formatCents(r.spend),
    pipeline_amount: formatCents(r.pipeline),
    revenue_amount: formatCents(r.revenue),
    opportunities: r.opportunities,
    pipeline_per_spend: r.pipelinePerSpend,
    roas: r.roas,
    cost_per_opportunity: r.costPerOpportunity,
  }));

const ROI_COLUMNS = [
  'spend',
  'pipeline_amount',
  'revenue_amount',
  'opportunities',
  'pipeline_per_spend',
  'roas',
  'cost_per_opportunity',
] as const;

export const renderRoiJson = (rows: readonly RoiRow[]): string =>
  `${JSON.stringify(toRoiRows(rows), null, 2)}\n`;

/** CSV: "no spend" and the ratios it leaves undefined are empty fields, never 0. */
export function renderRoiCsv(rows: readonly RoiRow[]): string {
  const byCampaign = rows.some((r) => r.campaign !== undefined);
  const header = ['model', 'period', 'channel', ...(byCampaign ? ['campaign'] : []), ...ROI_COLUMNS];
  const lines = [header.join(',')];
  for (const row of toRoiRows(rows))
    lines.push(
      [
        row.model,
        row.period,
        row.channel,
        ...(byCampaign ? [row.campaign ?? ''] : []),
        ...ROI_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c]))),
      ]
        .map(csvField)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}

/** One block per model: a line per period and channel; "no spend" shows as "-", not 0. */
export function renderRoiText(rows: readonly RoiRow[], models: readonly string[]): string {
  const byCampaign = rows.some((r) => r.campaign !== undefined);
  const header = [
    'period',
    byCampaign ? 'channel / campaign' : 'channel',
    'spend',
    'pipeline',
    'revenue',
    'opps',
    'pipeline/spend',
    'ROAS',
    'cost/opp',
  ];
  const blocks: string[] = [];
  for (const model of models) {
    const own = toRoiRows(rows.filter((r) => r.model === model));
    if (own.length === 0) continue;
    const body = own.map((r) => [
      r.period,
      byCampaign ? `${r.channel} / ${r.campaign ?? NO_CAMPAIGN}` : r.channel,
      r.spend ?? '-',
      r.pipeline_amount,
      r.revenue_amount,
      String(r.opportunities),
      r.pipeline_per_spend ?? '-',
      r.roas ?? '-',
      r.cost_per_opportunity ?? '-',
    ]);
    const all = [header, ...body];
    const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
    const line = (row: string[]): string =>
      row.map((text, i) => (i < 2 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0))).join('  ');
    blocks.push(
      [
        `model: ${model} (ROI)`,
        line(header),
        widths.map((w) => '-'.repeat(w)).join('  '),
        ...body.map(line),
      ].join('\n'),
    );
  }
  return `${blocks.join('\n\n')}\n`;
}
