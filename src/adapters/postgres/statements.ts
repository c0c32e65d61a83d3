// One function per SQL statement of the attribution store. Every write is one multi-row statement
// over rows sent as ONE JSON text parameter, so a commit costs the same few round trips for 1 or
// 1,000 opportunities. Not arrays: `pg` turns a JS array into an array literal by escaping every
// element in JS, which dominated the Node-side cost of a commit; a string goes out as it is, and
// one JSON.stringify of compact rows is far cheaper. In the rows, amounts are exact decimal text
// (the numeric columns parse it, never a JS number) and instants are epoch milliseconds, turned
// into timestamptz in SQL by exact integer steps (see instantSql).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { CellDelta } from '../../domain/aggregate.js';
import type { DayCellDelta } from '../../domain/answer.js';
import { formatRate } from '../../domain/fx.js';
import { formatNanos } from '../../domain/money.js';
import { AppError } from '../../errors.js';
import { decodeAnswer, storedCredits, type AnswerRow } from './answer-codec.js';
import type { AnswerWrite, StoredAnswer } from '../../app/commit-plan.js';
import { quoteSchema } from './errors.js';

export interface Tables {
  readonly schema: string;
  readonly answer: string;
  readonly pipeline: string;
  readonly day: string;
  readonly campaignDay: string;
  readonly calendar: string;
}

export function tablesOf(schema: string): Tables {
  const quoted = quoteSchema(schema);
  return {
    schema,
    answer: `${quoted}.opportunity_answer`,
    pipeline: `${quoted}.pipeline_by_channel_segment`,
    day: `${quoted}.pipeline_by_day`,
    campaignDay: `${quoted}.pipeline_by_campaign_day`,
    calendar: `${quoted}.reporting_calendar`,
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
            (extract(epoch FROM opportunity_created_at) * 1000)::float8 AS created_at_ms, credits,
            original_amount::text AS original_amount, original_currency, fx_rate::text AS fx_rate,
            fx_rate_date::text AS fx_rate_date, channel_rules_version
       FROM ${t.answer} WHERE opportunity_id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))`,
    [jsonParam(opportunityIds)],
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
  const rows = writes.map((w) => {
    const a = w.answer;
    return {
      o: w.opportunityId,
      m: w.model,
      rev: w.revision,
      why: w.reason,
      del: a === null,
      acc: a?.accountId ?? null,
      seg: a?.segment ?? null,
      amt: a === null ? null : formatNanos(a.amount),
      at: a?.createdAt ?? null,
      cr: storedCredits(a?.credits ?? []),
      oa: a?.original === undefined ? null : formatNanos(a.original.amount),
      oc: a?.original?.currency ?? null,
      fx: a?.original === undefined ? null : formatRate(a.original.rate),
      fxd: a?.original?.rateDate ?? null,
      rv: a?.rulesVersion ?? null,
    };
  });
  const result = await client.query(
    `INSERT INTO ${t.answer} AS a (opportunity_id, model, revision, reason, deleted, account_id, sales_segment, amount,
                                   opportunity_created_at, credits, updated_at, original_amount, original_currency,
                                   fx_rate, fx_rate_date, channel_rules_version)
     SELECT r.o, r.m, r.rev, r.why, r.del, r.acc, r.seg, r.amt, ${instantSql('r.at')}, r.cr, $2::timestamptz,
            r.oa, r.oc, r.fx, r.fxd, r.rv
       FROM jsonb_to_recordset($1::jsonb)
            AS r(o text, m text, rev int, why text, del bool, acc text, seg text, amt numeric, at bigint, cr jsonb,
                 oa numeric, oc text, fx numeric, fxd date, rv text)
      -- A new row starts at revision 1: a later revision with no stored row is not written (and so refused below).
      WHERE r.rev = 1 OR EXISTS (SELECT 1 FROM ${t.answer} e WHERE e.opportunity_id = r.o AND e.model = r.m)
     ON CONFLICT (opportunity_id, model) DO UPDATE
        SET revision = EXCLUDED.revision, reason = EXCLUDED.reason, deleted = EXCLUDED.deleted,
            account_id = EXCLUDED.account_id, sales_segment = EXCLUDED.sales_segment, amount = EXCLUDED.amount,
            opportunity_created_at = EXCLUDED.opportunity_created_at, credits = EXCLUDED.credits,
            updated_at = EXCLUDED.updated_at, original_amount = EXCLUDED.original_amount,
            original_currency = EXCLUDED.original_currency, fx_rate = EXCLUDED.fx_rate,
            fx_rate_date = EXCLUDED.fx_rate_date, channel_rules_version = EXCLUDED.channel_rules_version
      WHERE a.revision = EXCLUDED.revision - 1`,
    [jsonParam(rows), now.toISOString()],
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
     SELECT d.m, d.ch, d.seg, d.amt, d.n, $2::timestamptz
       FROM jsonb_to_recordset($1::jsonb) AS d(m text, ch text, seg text, amt numeric, n bigint)
     ON CONFLICT (model, channel, sales_segment) DO UPDATE
        SET pipeline_amount = p.pipeline_amount + EXCLUDED.pipeline_amount,
            opportunity_count = p.opportunity_count + EXCLUDED.opportunity_count,
            updated_at = EXCLUDED.updated_at
     RETURNING p.model, p.channel, p.sales_segment AS segment,
               p.opportunity_count = 0 AND p.pipeline_amount = 0 AS empty,
               p.opportunity_count < 0 OR p.pipeline_amount < 0 AS negative`,
    [
      // In the given (sorted) order: jsonb_to_recordset returns its rows in array order.
      jsonParam(
        deltas.map((d) => ({
          m: d.model,
          ch: d.channel,
          seg: d.segment,
          amt: formatNanos(d.amount),
          n: d.opportunities,
        })),
      ),
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
    `DELETE FROM ${t.pipeline} p USING jsonb_to_recordset($1::jsonb) AS d(m text, ch text, seg text)
      WHERE p.model = d.m AND p.channel = d.ch AND p.sales_segment = d.seg
        AND p.opportunity_count = 0 AND p.pipeline_amount = 0`,
    [jsonParam(cells.map((c) => ({ m: c.model, ch: c.channel, seg: c.segment })))],
  );
}

/**
 * SQL turning an expression of epoch milliseconds (bigint, NULL passes through) into timestamptz.
 * Whole seconds and the remaining milliseconds are added as separate intervals so every step is
 * exact integer microseconds for any instant the domain parses (years 0–9999), which
 * to_timestamp(ms / 1000.0) or one `ms * interval '1 millisecond'` (float8 arithmetic) do not
 * guarantee for far-future years. An interval without day or month parts does not depend on the
 * session time zone.
 */
function instantSql(ms: string): string {
  return `(timestamptz 'epoch' + (${ms} / 1000) * interval '1 second' + (${ms} % 1000) * interval '1 millisecond')`;
}

// A lone UTF-16 surrogate, as JSON.stringify escapes it (lower-case hex, not after an escaping backslash).
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * Rows as one JSON text parameter. Postgres refuses the \udXXX escape JSON.stringify writes for a
 * lone surrogate; the driver always sent strings as UTF-8, which replaces it with U+FFFD, so the
 * escape is replaced the same way and every string arrives exactly as it did before.
 */
function jsonParam(rows: readonly unknown[]): string {
  const json = JSON.stringify(rows);
  return json.includes('\\ud') ? json.replace(LONE_SURROGATE_ESCAPE, '$1\\ufffd') : json;
}

/**
 * Moves the per-day and the per-campaign-day totals by their deltas (each sorted by its key, so
 * concurrent commits lock rows in one order) in one statement, one round trip: two
 * data-modifying CTEs over one JSON parameter. Rows left without opportunities are removed
 * afterwards (rare: an opportunity left its day or campaign); a total going negative fails the
 * transaction, as for the all-time table.
 */
export async function applyDayDeltas(
  client: pg.ClientBase,
  t: Tables,
  days: readonly DayCellDelta[],
  campaignDays: readonly DayCellDelta[],
  now: Date,
): Promise<void> {
  if (days.length + campaignDays.length === 0) return;
  const row = (table: 0 | 1) => (d: DayCellDelta) => ({
    t: table,
    m: d.model,
    day: d.day,
    ch: d.channel,
    cmp: d.campaign,
    seg: d.segment,
    amt: formatNanos(d.amount),
    n: d.opportunities,
  });
  const upsert = (table: string, campaign: boolean, which: 0 | 1): string => {
    const keys = campaign
      ? 'model, created_day, channel, campaign, sales_segment'
      : 'model, created_day, channel, sales_segment';
    const values = campaign ? 'd.m, d.day, d.ch, d.cmp, d.seg' : 'd.m, d.day, d.ch, d.seg';
    return `INSERT INTO ${table} AS p (${keys}, pipeline_amount, opportunity_count, updated_at)
       SELECT ${values}, d.amt, d.n, $2::timestamptz FROM d WHERE d.t = ${which} ORDER BY d.i
       ON CONFLICT (${keys}) DO UPDATE
          SET pipeline_amount = p.pipeline_amount + EXCLUDED.pipeline_amount,
              opportunity_count = p.opportunity_count + EXCLUDED.opportunity_count,
              updated_at = EXCLUDED.updated_at
       RETURNING ${which} AS t, p.opportunity_count < 0 OR p.pipeline_amount < 0 AS negative,
                 p.opportunity_count = 0 AND p.pipeline_amount = 0 AS empty,
                 p.model AS m, p.created_day::text AS day, p.channel AS ch,
                 ${campaign ? 'p.campaign' : "''"} AS cmp, p.sales_segment AS seg`;
  };
  const result = await client.query<{
    t: number;
    negative: boolean;
    empty: boolean;
    m: string;
    day: string;
    ch: string;
    cmp: string;
    seg: string;
  }>(
    `WITH d AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
                AS d(i int, t int, m text, day date, ch text, cmp text, seg text, amt numeric, n bigint)),
     days AS (${upsert(t.day, false, 0)}),
     campaigns AS (${upsert(t.campaignDay, true, 1)})
     SELECT * FROM days UNION ALL SELECT * FROM campaigns`,
    [
      jsonParam([...days.map(row(0)), ...campaignDays.map(row(1))].map((r, i) => ({ i, ...r }))),
      now.toISOString(),
    ],
  );
  const negative = result.rows.find((r) => r.negative);
  if (negative !== undefined)
    throw new AppError(
      'STORE_UNAVAILABLE',
      `a total of ${negative.t === 0 ? t.day : t.campaignDay} would go negative`,
      { retriable: false },
    );
  for (const [which, table, campaign] of [
    [0, t.day, false],
    [1, t.campaignDay, true],
  ] as const) {
    const empty = result.rows.filter((r) => r.empty && r.t === which);
    if (empty.length === 0) continue;
    // Only the rows this transaction emptied (and holds locked), found by their key.
    await client.query(
      `DELETE FROM ${table} p USING jsonb_to_recordset($1::jsonb) AS d(m text, day date, ch text, cmp text, seg text)
        WHERE p.model = d.m AND p.created_day = d.day AND p.channel = d.ch AND p.sales_segment = d.seg
          ${campaign ? 'AND p.campaign = d.cmp' : ''}
          AND p.opportunity_count = 0 AND p.pipeline_amount = 0`,
      [jsonParam(empty.map(({ m, day, ch, cmp, seg }) => ({ m, day, ch, cmp, seg })))],
    );
  }
}

/**
 * Refills the per-day tables from the stored answers, with creation days in `timeZone`, and
 * records the zone. Runs in the migration transaction, under its lock.
 */
export async function rebuildDayTotals(client: pg.ClientBase, t: Tables, timeZone: string): Promise<void> {
  await client.query(`LOCK TABLE ${t.day}, ${t.campaignDay} IN EXCLUSIVE MODE`);
  await client.query(`DELETE FROM ${t.day}`);
  await client.query(`DELETE FROM ${t.campaignDay}`);
  const credits = `FROM ${t.answer} a CROSS JOIN LATERAL jsonb_array_elements(a.credits) AS c(v) WHERE NOT a.deleted`;
  await client.query(
    `INSERT INTO ${t.day} (model, created_day, channel, sales_segment, pipeline_amount, opportunity_count, updated_at)
     SELECT a.model, (a.opportunity_created_at AT TIME ZONE $1)::date, c.v ->> 'channel', a.sales_segment,
            sum((c.v ->> 'amount')::numeric), count(DISTINCT a.opportunity_id), now()
       ${credits}
      GROUP BY 1, 2, 3, 4`,
    [timeZone],
  );
  await client.query(
    `INSERT INTO ${t.campaignDay} (model, created_day, channel, campaign, sales_segment, pipeline_amount, opportunity_count, updated_at)
     SELECT a.model, (a.opportunity_created_at AT TIME ZONE $1)::date, c.v ->> 'channel', coalesce(c.v ->> 'campaign', ''),
            a.sales_segment, sum((c.v ->> 'amount')::numeric), count(DISTINCT a.opportunity_id), now()
       ${credits}
      GROUP BY 1, 2, 3, 4, 5`,
    [timeZone],
  );
  await client.query(
    `INSERT INTO ${t.calendar} (singleton, time_zone, updated_at) VALUES (true, $1, now())
     ON CONFLICT (singleton) DO UPDATE SET time_zone = EXCLUDED.time_zone, updated_at = EXCLUDED.updated_at`,
    [timeZone],
  );
}
