// Read queries for tests, tools and reconciliation; the service itself only writes.
import type pg from 'pg';
import { quoteSchema } from './errors.js';

export interface PipelineRow {
  readonly model: string;
  readonly channel: string;
  readonly sales_segment: string;
  /** Exact decimal text with 9 places, as Postgres prints numeric(38,9). */
  readonly pipeline_amount: string;
  readonly opportunity_count: number;
}

/** The aggregate table, sorted by model, channel and segment in code-point order. */
export async function readPipelineTable(pool: pg.Pool, schema: string): Promise<PipelineRow[]> {
  const result = await pool.query<Omit<PipelineRow, 'opportunity_count'> & { opportunity_count: string }>(
    `SELECT model, channel, sales_segment, pipeline_amount::text AS pipeline_amount, opportunity_count::text AS opportunity_count
       FROM ${quoteSchema(schema)}.pipeline_by_channel_segment
      ORDER BY model COLLATE "C", channel COLLATE "C", sales_segment COLLATE "C"`,
  );
  return result.rows.map((row) => ({ ...row, opportunity_count: Number(row.opportunity_count) }));
}

export interface AnswerRow {
  readonly opportunity_id: string;
  readonly model: string;
  readonly revision: number;
  readonly reason: string;
  readonly deleted: boolean;
  readonly sales_segment: string | null;
  /** Exact decimal text, null for a tombstone. */
  readonly amount: string | null;
}

/** The stored (opportunity, model) answers, sorted by opportunity and model. */
export async function readAnswers(pool: pg.Pool, schema: string): Promise<AnswerRow[]> {
  const result = await pool.query<AnswerRow>(
    `SELECT opportunity_id, model, revision, reason, deleted, sales_segment, amount::text AS amount
       FROM ${quoteSchema(schema)}.opportunity_answer
      ORDER BY opportunity_id COLLATE "C", model COLLATE "C"`,
  );
  return result.rows;
}

export interface CreditRow {
  readonly opportunity_id: string;
  readonly model: string;
  readonly ordinal: number;
  readonly touchpoint_id: string | null;
  readonly channel: string;
  readonly sales_segment: string;
  readonly touch_occurred_at: Date | null;
  readonly amount: string;
}

/** The credit rows, in answer order. */
export async function readCredits(pool: pg.Pool, schema: string): Promise<CreditRow[]> {
  const result = await pool.query<CreditRow>(
    `SELECT opportunity_id, model, ordinal, touchpoint_id, channel, sales_segment, touch_occurred_at, amount::text AS amount
       FROM ${quoteSchema(schema)}.attribution_credit
      ORDER BY opportunity_id COLLATE "C", model COLLATE "C", ordinal`,
  );
  return result.rows;
}
