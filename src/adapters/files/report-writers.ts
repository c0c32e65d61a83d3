import { closeSync, openSync, writeSync } from 'node:fs';
import { compareText, type Cell } from '../../domain/aggregate.js';
import type { OpportunityAttribution } from '../../domain/attribute.js';
import { formatCents, formatNanos } from '../../domain/money.js';
import { formatInstant } from '../../domain/time.js';
import { csvField } from './csv.js';

/** A row of the channel × segment table as SPEC.md fixes it for JSON output. */
export interface TableRow {
  model: string;
  channel: string;
  sales_segment: string;
  pipeline_amount: string;
  opportunities: number;
}

export const toRows = (cells: readonly Cell[]): TableRow[] =>
  cells.map((cell) => ({
    model: cell.model,
    channel: cell.channel,
    sales_segment: cell.segment,
    pipeline_amount: formatCents(cell.amount),
    opportunities: cell.opportunities,
  }));

export const renderJson = (cells: readonly Cell[]): string => `${JSON.stringify(toRows(cells), null, 2)}\n`;

export function renderCsv(cells: readonly Cell[]): string {
  const lines = ['model,channel,sales_segment,pipeline_amount,opportunities'];
  for (const row of toRows(cells)) {
    lines.push(
      [row.model, row.channel, row.sales_segment, row.pipeline_amount, String(row.opportunities)]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One readable block per model: channels down, segments across, totals right and below. */
export function renderText(cells: readonly Cell[], models: readonly string[]): string {
  const blocks: string[] = [];
  for (const model of models) {
    const own = cells.filter((cell) => cell.model === model);
    const segments = [...new Set(own.map((c) => c.segment))].sort(compareText);
    const channels = [...new Set(own.map((c) => c.channel))].sort(compareText);
    const amountOf = (channel: string | null, segment: string | null): bigint =>
      own
        .filter(
          (c) => (channel === null || c.channel === channel) && (segment === null || c.segment === segment),
        )
        .reduce((sum, c) => sum + c.amount, 0n);
    const header = ['channel', ...segments, 'Total'];
    const body = [...channels, null].map((channel) => [
      channel ?? 'Total',
      ...[...segments, null].map((segment) => formatCents(amountOf(channel, segment))),
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
        `model: ${model}`,
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
