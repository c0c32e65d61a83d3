// One function per SQL statement of the attribution store. Every write is one multi-row statement
// over unnest() arrays, so a commit costs the same few round trips for 1 or 1,000 opportunities.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { CellDelta } from '../../domain/aggregate.js';
import type { ModelAnswer } from '../../domain/answer.js';
import { formatNanos } from '../../domain/money.js';
import { AppError } from '../../errors.js';
import { decodeAnswer, encodeCredits, type AnswerRow } from './answer-codec.js';
import type { AnswerWrite, StoredAnswer } from './commit-plan.js';
import { quoteSchema } from './errors.js';

export interface Tables {
  readonly schema: string;
  readonly answer: string;
  readonly credit: string;
  readonly pipeline: string;
}

export function tablesOf(schema: string): Tables {
  const quoted = quoteSchema(schema);
  return {
    schema,
    answer: `${quoted}.opportunity_answer`,
    credit: `${quoted}.attribution_credit`,
    pipeline: `${quoted}.pipeline_by_channel_segment`,
  };
}

/**
 * The advisory-lock key of an opportunity: 64 bits of SHA-256 over schema and id. Every instance
 * must compute it the same way (a change needs a stop-the-world deploy). Keys are locked in
 * ascending order without duplicates, so two commits never wait on each other in a cycle, even
 * when two ids share a key.
 */
export function lockKeys(schema: string, opportunityIds: Iterable<string>): bigint[] {
  const keys = new Set<bigint>();
  for (const id of opportunityIds)
    keys.add(createHash('sha256').update(`${schema}\u0000${id}`).digest().readBigInt64BE(0));
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function lockOpportunities(client: pg.ClientBase, keys: readonly bigint[]): Promise<void> {
  if (keys.length === 0) return;
  // A nested loop over unnest() takes the locks in array order.
  await client.query(
    'SELECT count(*) FROM unnest($1::bigint[]) AS l(k), LATERAL pg_advisory_xact_lock(l.k)',
    [keys.map(String)],
  );
}

export async function loadAnswers(
  client: pg.ClientBase,
  t: Tables,
  opportunityIds: readonly string[],
): Promise<Map<string, Map<string, StoredAnswer>>> {
  const stored = new Map<string, Map<string, StoredAnswer>>();
  if (opportunityIds.length === 0) return stored;
  const result = await client.query<AnswerRow>(
    `SELECT opportunity_id, model, revision, deleted, account_id, sales_segment, amount::text AS amount,
            (extract(epoch FROM opportunity_created_at) * 1000)::float8 AS created_at_ms, credits
       FROM ${t.answer} WHERE opportunity_id = ANY($1::text[])`,
    [opportunityIds],
  );
  for (const row of result.rows) {
    const models = stored.get(row.opportunity_id) ?? new Map<string, StoredAnswer>();
    models.set(row.model, { revision: row.revision, answer: decodeAnswer(row) });
    stored.set(row.opportunity_id, models);
  }
  return stored;
}

export async function upsertAnswers(
  client: pg.ClientBase,
  t: Tables,
  writes: readonly AnswerWrite[],
  now: Date,
): Promise<void> {
  if (writes.length === 0) return;
  const result = await client.query(
    `INSERT INTO ${t.answer} AS a (opportunity_id, model, revision, reason, deleted, account_id, sales_segment, amount,
                                   opportunity_created_at, credits, updated_at)
     SELECT r.*, $11::timestamptz
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::numeric[],
                   $9::timestamptz[], $10::jsonb[]) AS r
     ON CONFLICT (opportunity_id, model) DO UPDATE
        SET revision = EXCLUDED.revision, reason = EXCLUDED.reason, deleted = EXCLUDED.deleted,
            account_id = EXCLUDED.account_id, sales_segment = EXCLUDED.sales_segment, amount = EXCLUDED.amount,
            opportunity_created_at = EXCLUDED.opportunity_created_at, credits = EXCLUDED.credits,
            updated_at = EXCLUDED.updated_at
      WHERE a.revision = EXCLUDED.revision - 1`,
    [
      writes.map((w) => w.opportunityId),
      writes.map((w) => w.model),
      writes.map((w) => w.revision),
      writes.map((w) => w.reason),
      writes.map((w) => w.answer === null),
      writes.map((w) => w.answer?.accountId ?? null),
      writes.map((w) => w.answer?.segment ?? null),
      writes.map((w) => mapOrNull(w.answer, (a) => formatNanos(a.amount))),
      writes.map((w) => mapOrNull(w.answer, (a) => new Date(a.createdAt).toISOString())),
      writes.map((w) => encodeCredits(w.answer?.credits ?? [])),
      now.toISOString(),
    ],
  );
  // The advisory locks make this impossible unless something writes without them (an instance
  // with another lock-key function, a manual fix): fail rather than overwrite a newer revision.
  if (result.rowCount !== writes.length) {
    throw new AppError(
      'STORE_UNAVAILABLE',
      `stored revisions changed under the opportunity locks (${result.rowCount}/${writes.length} written)`,
      {
        retriable: true,
      },
    );
  }
}

/** Deletes the credit rows of the given (opportunity, model) pairs. */
export async function deleteCredits(
  client: pg.ClientBase,
  t: Tables,
  pairs: readonly { opportunityId: string; model: string }[],
): Promise<void> {
  if (pairs.length === 0) return;
  await client.query(
    `DELETE FROM ${t.credit} c USING unnest($1::text[], $2::text[]) AS d(opportunity_id, model)
      WHERE c.opportunity_id = d.opportunity_id AND c.model = d.model`,
    [pairs.map((p) => p.opportunityId), pairs.map((p) => p.model)],
  );
}

export async function insertCredits(
  client: pg.ClientBase,
  t: Tables,
  answers: readonly ModelAnswer[],
): Promise<void> {
  const rows = answers.flatMap((answer) =>
    answer.credits.map((credit, ordinal) => ({ answer, credit, ordinal })),
  );
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO ${t.credit} (opportunity_id, model, ordinal, touchpoint_id, channel, sales_segment, touch_occurred_at, amount)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::numeric[])`,
    [
      rows.map((r) => r.answer.opportunityId),
      rows.map((r) => r.answer.model),
      rows.map((r) => r.ordinal),
      rows.map((r) => r.credit.touchpointId),
      rows.map((r) => r.credit.channel),
      rows.map((r) => r.answer.segment),
      rows.map((r) => mapOrNull(r.credit.occurredAt, (at) => new Date(at).toISOString())),
      rows.map((r) => formatNanos(r.credit.amount)),
    ],
  );
}

export interface CellKey {
  readonly model: string;
  readonly channel: string;
  readonly segment: string;
}

/**
 * Adds the deltas to the totals; `deltas` must be sorted by key so concurrent commits lock cells
 * in one order. Returns the cells left without opportunities. The totals cannot carry CHECK
 * constraints against going negative: Postgres checks them on the proposed INSERT row — here the
 * negative delta itself — before it looks for the conflict. So the check is done on RETURNING.
 */
export async function applyCellDeltas(
  client: pg.ClientBase,
  t: Tables,
  deltas: readonly CellDelta[],
  now: Date,
): Promise<CellKey[]> {
  if (deltas.length === 0) return [];
  const result = await client.query<{
    model: string;
    channel: string;
    segment: string;
    empty: boolean;
    negative: boolean;
  }>(
    `INSERT INTO ${t.pipeline} AS p (model, channel, sales_segment, pipeline_amount, opportunity_count, updated_at)
     SELECT d.model, d.channel, d.sales_segment, d.amount, d.opportunities, $6::timestamptz
       FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::bigint[]) AS d(model, channel, sales_segment, amount, opportunities)
     ON CONFLICT (model, channel, sales_segment) DO UPDATE
        SET pipeline_amount = p.pipeline_amount + EXCLUDED.pipeline_amount,
            opportunity_count = p.opportunity_count + EXCLUDED.opportunity_count,
            updated_at = EXCLUDED.updated_at
     RETURNING p.model, p.channel, p.sales_segment AS segment,
               p.opportunity_count = 0 AND p.pipeline_amount = 0 AS empty,
               p.opportunity_count < 0 OR p.pipeline_amount < 0 AS negative`,
    [
      deltas.map((d) => d.model),
      deltas.map((d) => d.channel),
      deltas.map((d) => d.segment),
      deltas.map((d) => formatNanos(d.amount)),
      deltas.map((d) => d.opportunities),
      now.toISOString(),
    ],
  );
  const negative = result.rows.find((row) => row.negative);
  if (negative !== undefined) {
    // Only a lost or doubled write can get here; retrying would not help.
    throw new AppError(
      'STORE_UNAVAILABLE',
      `pipeline total of (${negative.model}, ${negative.channel}, ${negative.segment}) would go negative`,
      {
        retriable: false,
      },
    );
  }
  return result.rows.filter((row) => row.empty);
}

/** Removes cells left without opportunities (which this transaction has locked), so the table equals the batch report. */
export async function deleteEmptyCells(
  client: pg.ClientBase,
  t: Tables,
  cells: readonly CellKey[],
): Promise<void> {
  if (cells.length === 0) return;
  await client.query(
    `DELETE FROM ${t.pipeline} p USING unnest($1::text[], $2::text[], $3::text[]) AS d(model, channel, sales_segment)
      WHERE p.model = d.model AND p.channel = d.channel AND p.sales_segment = d.sales_segment
        AND p.opportunity_count = 0 AND p.pipeline_amount = 0`,
    [cells.map((c) => c.model), cells.map((c) => c.channel), cells.map((c) => c.segment)],
  );
}

const mapOrNull = <T, R>(value: T | null, map: (value: T) => R): R | null =>
  value === null ? null : map(value);
