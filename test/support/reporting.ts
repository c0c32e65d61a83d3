import type pg from 'pg';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { quoteSchema } from '../../src/adapters/postgres/errors.js';
import type { Breakdown } from '../../src/domain/aggregate.js';
import { replay, type ReplayResult } from '../../src/app/replay.js';
import { serveDefaults } from '../../src/cli/settings.js';
import { formatNanos } from '../../src/domain/money.js';
import { localDate } from '../../src/domain/period.js';

/**
 * The per-day reporting tables (SPEC "Reporting dimensions") read from Postgres and computed by
 * replay in-process, both as sorted `|`-joined lines with exact amounts, so a difference shows
 * as the cells that differ.
 */

/** numeric(38,9) text → the canonical form formatNanos gives ("12.5", "3", "0"). */
export const canonicalDecimal = (text: string): string =>
  text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;

/** `model|day|channel|segment|amount|count` per pipeline_by_day row ([] before the table exists). */
export async function dayTableLines(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool
    .query<Record<string, string>>(
      `SELECT model, created_day::text AS day, channel, sales_segment,
              pipeline_amount::text AS amount, opportunity_count::text AS count
         FROM ${quoteSchema(schema)}.pipeline_by_day`,
    )
    .catch(() => ({ rows: [] }));
  return rows
    .map((r) => [r.model, r.day, r.channel, r.sales_segment, canonicalDecimal(r.amount ?? ''), r.count])
    .map((cells) => cells.join('|'))
    .sort();
}

/** `model|day|channel|campaign|segment|amount|count` per pipeline_by_campaign_day row ('' = no campaign). */
export async function campaignDayTableLines(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool
    .query<Record<string, string>>(
      `SELECT model, created_day::text AS day, channel, campaign, sales_segment,
              pipeline_amount::text AS amount, opportunity_count::text AS count
         FROM ${quoteSchema(schema)}.pipeline_by_campaign_day`,
    )
    .catch(() => ({ rows: [] }));
  return rows
    .map((r) => [
      r.model,
      r.day,
      r.channel,
      r.campaign,
      r.sales_segment,
      canonicalDecimal(r.amount ?? ''),
      r.count,
    ])
    .map((cells) => cells.join('|'))
    .sort();
}

/**
 * `model|channel|segment|amount[|count]` of a per-day table summed over its days (and campaigns)
 * by Postgres' exact numeric sum. Counts are summed only for the day table: an opportunity has
 * one day, but may credit several campaigns of one channel.
 */
export async function summedOverDays(
  pool: pg.Pool,
  schema: string,
  table: 'pipeline_by_day' | 'pipeline_by_campaign_day',
): Promise<string[]> {
  const count = table === 'pipeline_by_day' ? `, sum(opportunity_count)::text AS count` : '';
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT model, channel, sales_segment, sum(pipeline_amount)::text AS amount${count}
       FROM ${quoteSchema(schema)}.${table}
      GROUP BY model, channel, sales_segment`,
  );
  return rows
    .map((r) => [r.model, r.channel, r.sales_segment, canonicalDecimal(r.amount ?? ''), r.count])
    .map((cells) => cells.filter((c) => c !== undefined).join('|'))
    .sort();
}

/** Every row of a table as text, updated_at included: equal snapshots mean nothing was rewritten. */
export async function tableSnapshot(pool: pg.Pool, schema: string, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ line: string }>(
    `SELECT t::text AS line FROM ${quoteSchema(schema)}.${table} t`,
  );
  return rows.map((r) => r.line).sort();
}

/**
 * Replay of the events in `dir` as the service runs: the shipped channel rules, and the dataset's
 * fx_rates.csv (which `touchline produce` publishes to the rates topic), in `timeZone`.
 */
export function replayAsStreaming(dir: string, timeZone: string, breakdown?: Breakdown): ReplayResult {
  return replay(openDataset(dir).records, {
    ...serveDefaults(dir, timeZone),
    ...(breakdown === undefined ? {} : { breakdown }),
  });
}

/** The breakdown by local creation day in `timeZone`, optionally by campaign too. */
export const byDay = (timeZone: string, byCampaign = false): Breakdown => ({
  periodOf: (attribution) => localDate(attribution.createdAt, timeZone),
  byCampaign,
});

/** Replay cells as the lines the readers above give. */
export const cellLines = (result: ReplayResult): string[] =>
  result.cells
    .map((c) =>
      [
        c.model,
        c.period,
        c.channel,
        c.campaign === undefined ? undefined : (c.campaign ?? ''),
        c.segment,
        formatNanos(c.amount),
        String(c.opportunities),
      ]
        .filter((cell) => cell !== undefined)
        .join('|'),
    )
    .sort();
