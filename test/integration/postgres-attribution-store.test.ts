/**
 * The Postgres answer store against the real local Postgres, one schema per test: the shared
 * AnswerStore contract (driven through commitAnswers and through the transaction primitive), then
 * what only Postgres has — migrations, the SQL rows (answers,
 * credit rows), the totals table agreeing with them, many overlapping transactions, the guards
 * against writers that bypass the locks, error classification, numeric(38,9) text, and values
 * that must arrive exactly as given (nano-unit amounts, millisecond instants, odd text).
 * Expected totals are recomputed here from the attributions the tests build, by a plain loop
 * over their credits — not with the domain's aggregate or answerDelta code.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresAnswerStore } from '../../src/adapters/postgres/attribution-store.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { MIGRATIONS } from '../../src/adapters/postgres/migrations.js';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { lockKeys } from '../../src/adapters/postgres/statements.js';
import {
  readAnswers,
  readCredits,
  readPipelineTable,
  type PipelineRow,
} from '../../src/adapters/postgres/queries.js';
import { commitAnswers } from '../../src/app/commit-answers.js';
import type { AnswerStore, AttributionRevision } from '../../src/app/ports.js';
import { attributeOpportunity, type OpportunityAttribution } from '../../src/domain/attribute.js';
import type { Touch } from '../../src/domain/events.js';
import { AppError } from '../../src/errors.js';
import { days, nanosText, opportunity, settings, T0, touch, UNIT } from '../fakes/builders.js';
import { DATABASE_URL } from '../support/postgres.js';
import {
  answerStoreContract,
  commitChecked,
  live,
  type Entry,
} from '../contracts/attribution-store.contract.js';

let pool: pg.Pool;
let schemaCount = 0;
const schemas: string[] = [];
const newSchema = (): string => {
  const schema = `tl_store_${process.pid}_${Date.now() % 1_000_000}_${(schemaCount += 1)}`;
  schemas.push(schema);
  return schema;
};

beforeAll(() => {
  pool = createPool(DATABASE_URL, { max: 8 });
});
afterEach(async () => {
  for (const schema of schemas.splice(0)) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});
afterAll(() => closePool(pool));

// ---- building attributions by hand ---------------------------------------------------------

const adwords = touch({ id: 'T-adwords', channel: 'Adwords', occurredAt: T0 - days(1) });
const webinar = touch({ id: 'T-webinar', channel: 'Webinar', occurredAt: T0 - days(5) });
const lateEvent = touch({ id: 'T-event', channel: 'Event', occurredAt: T0 - days(10) });

function attribution(
  id: string,
  fields: { amount?: bigint; segment?: string; touches?: Touch[] } = {},
): OpportunityAttribution {
  const { touches = [], ...rest } = fields;
  return attributeOpportunity(opportunity({ id, accountId: `A-${id}`, ...rest }), touches, settings());
}

/** The table the attributions should produce: per (model, channel, segment) the credit sum and opportunities. */
function expectedTable(attributions: readonly OpportunityAttribution[]): PipelineRow[] {
  const cells = new Map<
    string,
    { model: string; channel: string; segment: string; amount: bigint; opportunities: Set<string> }
  >();
  for (const a of attributions) {
    for (const result of a.results) {
      for (const credit of result.credits) {
        const key = `${result.model}|${credit.channel}|${a.segment}`;
        const cell = cells.get(key) ?? {
          model: result.model,
          channel: credit.channel,
          segment: a.segment,
          amount: 0n,
          opportunities: new Set(),
        };
        cell.amount += credit.amount;
        cell.opportunities.add(a.opportunityId);
        cells.set(key, cell);
      }
    }
  }
  const byKey = (r: PipelineRow): string => `${r.model}\u0000${r.channel}\u0000${r.sales_segment}`;
  return [...cells.values()]
    .map((c) => ({
      model: c.model,
      channel: c.channel,
      sales_segment: c.segment,
      pipeline_amount: nanosText(c.amount),
      opportunity_count: c.opportunities.size,
    }))
    .sort((a, b) => (byKey(a) < byKey(b) ? -1 : 1));
}

const cell = (
  rows: readonly PipelineRow[],
  model: string,
  channel: string,
  segment = 'Commercial',
): PipelineRow | undefined =>
  rows.find((r) => r.model === model && r.channel === channel && r.sales_segment === segment);

// ---- committing ----------------------------------------------------------------------------

const commit = commitChecked;
const summary = (revisions: readonly AttributionRevision[]): string[] =>
  revisions.map(
    (r) => `${r.opportunityId}/${r.model}@${r.revision}${r.attribution === null ? ' tombstone' : ''}`,
  );
const ALL: readonly string[] = ['first_touch', 'last_touch', 'linear', 'u_shaped', 'time_decay'];

/** Aggregate vs credit rows vs live answers, each summed in SQL: all three must agree. */
async function consistency(schema: string) {
  const q = async (sql: string) => (await pool.query<{ model: string; total: string; n: string }>(sql)).rows;
  const byModel = `GROUP BY model ORDER BY model`;
  return {
    table: await q(
      `SELECT model, sum(pipeline_amount)::text AS total FROM ${schema}.pipeline_by_channel_segment ${byModel}`,
    ),
    answers: await q(
      `SELECT model, sum(amount)::text AS total FROM ${schema}.opportunity_answer WHERE NOT deleted ${byModel}`,
    ),
    cellsFromTable: await q(
      `SELECT model || '|' || channel || '|' || sales_segment AS model, pipeline_amount::text AS total, opportunity_count::text AS n
         FROM ${schema}.pipeline_by_channel_segment ORDER BY 1`,
    ),
    cellsFromCredits: await q(
      `SELECT model || '|' || channel || '|' || sales_segment AS model, sum(amount)::text AS total, count(DISTINCT opportunity_id)::text AS n
         FROM ${schema}.attribution_credit GROUP BY model, channel, sales_segment ORDER BY 1`,
    ),
  };
}

async function expectConsistent(schema: string): Promise<void> {
  const c = await consistency(schema);
  expect(c.table).toEqual(c.answers);
  expect(c.cellsFromTable).toEqual(c.cellsFromCredits);
}

// ---- migrations ----------------------------------------------------------------------------

describe('migrate', () => {
  it('applies every migration once, even when instances start together, and is idempotent', async () => {
    const schema = newSchema();
    const runs = await Promise.all([migrate(pool, schema), migrate(pool, schema), migrate(pool, schema)]);
    expect(runs.flat()).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrate(pool, schema)).toEqual([]);
    const applied = await pool.query<{ id: string }>(
      `SELECT id FROM ${schema}.schema_migrations ORDER BY id`,
    );
    expect(applied.rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
    const columns = await pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'pipeline_by_channel_segment' ORDER BY ordinal_position`,
      [schema],
    );
    expect(columns.rows.map((c) => `${c.column_name}:${c.data_type}`)).toEqual([
      'model:text',
      'channel:text',
      'sales_segment:text',
      'pipeline_amount:numeric',
      'opportunity_count:bigint',
      'updated_at:timestamp with time zone',
    ]);
  });

  it('creates nothing outside its schema and refuses a schema name that is not a plain identifier', async () => {
    const schema = newSchema();
    await migrate(pool, schema);
    const stray = await pool.query(
      `SELECT 1 FROM pg_tables WHERE tablename = 'opportunity_answer' AND schemaname = 'public'`,
    );
    expect(stray.rowCount).toBe(0);
    await expect(migrate(pool, 'x; DROP TABLE y')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

// ---- the contract, on Postgres -------------------------------------------------------------

/** numeric(38,9) text as nano-units, parsed here rather than with src/domain/money.ts. */
function nanosOf(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const nanos = BigInt(whole) * UNIT + BigInt(fraction.padEnd(9, '0').slice(0, 9));
  return negative ? -nanos : nanos;
}

answerStoreContract('postgres', async () => {
  const schema = newSchema();
  await migrate(pool, schema);
  return {
    store: createPostgresAnswerStore(pool, { schema, clock: () => new Date(T0 + days(30)) }),
    totals: async () =>
      (await readPipelineTable(pool, schema)).map((row) => ({
        model: row.model,
        channel: row.channel,
        segment: row.sales_segment,
        amount: nanosOf(row.pipeline_amount),
        opportunities: row.opportunity_count,
      })),
    dayTotals: async (campaign) =>
      (
        await pool.query<{
          model: string;
          day: string;
          channel: string;
          campaign: string;
          segment: string;
          amount: string;
          n: number;
        }>(
          `SELECT model, created_day::text AS day, channel, ${campaign ? 'campaign' : "''"} AS campaign,
                  sales_segment AS segment, pipeline_amount::text AS amount, opportunity_count::int AS n
             FROM ${schema}.${campaign ? 'pipeline_by_campaign_day' : 'pipeline_by_day'}`,
        )
      ).rows.map((r) => ({
        model: r.model,
        day: r.day,
        channel: r.channel,
        campaign: r.campaign,
        segment: r.segment,
        amount: nanosOf(r.amount),
        opportunities: r.n,
      })),
    revisionOf: async (opportunityId, model) => {
      const result = await pool.query<{ revision: number }>(
        `SELECT revision FROM ${schema}.opportunity_answer WHERE opportunity_id = $1 AND model = $2`,
        [opportunityId, model],
      );
      return result.rows[0]?.revision ?? 0;
    },
    cleanup: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
});

// ---- what only Postgres has ----------------------------------------------------------------

describe('Postgres answer store', () => {
  let schema: string;
  let store: AnswerStore;
  let now: number;

  beforeEach(async () => {
    schema = newSchema();
    await migrate(pool, schema);
    now = T0 + days(30);
    store = createPostgresAnswerStore(pool, { schema, clock: () => new Date(now) });
  });

  it('first commit writes one answer row per model and one credit row per credit, in answer order', async () => {
    const o1 = attribution('O1', { touches: [adwords, webinar] });
    const o2 = attribution('O2', { amount: 40n * UNIT, segment: 'Enterprise' });
    const written = await commit(store, live(o2, o1), 'created');
    expect(summary(written)).toEqual([...ALL.map((m) => `O1/${m}@1`), ...ALL.map((m) => `O2/${m}@1`)]);

    const table = await readPipelineTable(pool, schema);
    expect(table).toEqual(expectedTable([o1, o2]));
    expect(cell(table, 'first_touch', 'Webinar')).toMatchObject({
      pipeline_amount: '100.000000000',
      opportunity_count: 1,
    });
    expect(cell(table, 'linear', 'Unattributed', 'Enterprise')).toMatchObject({
      pipeline_amount: '40.000000000',
      opportunity_count: 1,
    });

    const credits = await readCredits(pool, schema);
    expect(credits).toHaveLength([o1, o2].flatMap((a) => a.results.flatMap((r) => r.credits)).length);
    expect(credits.find((c) => c.opportunity_id === 'O2' && c.model === 'first_touch')).toEqual({
      opportunity_id: 'O2',
      model: 'first_touch',
      ordinal: 0,
      touchpoint_id: null,
      channel: 'Unattributed',
      sales_segment: 'Enterprise',
      touch_occurred_at: null,
      amount: '40.000000000',
    });
    expect(credits.find((c) => c.opportunity_id === 'O1' && c.model === 'first_touch')).toMatchObject({
      touchpoint_id: 'T-webinar',
      touch_occurred_at: new Date(webinar.occurredAt),
      amount: '100.000000000',
    });
    expect(
      credits
        .filter((c) => c.opportunity_id === 'O1' && c.model === 'linear')
        .map((c) => [c.ordinal, c.touchpoint_id, c.amount]),
    ).toEqual([
      [0, 'T-webinar', '50.000000000'],
      [1, 'T-adwords', '50.000000000'],
    ]);
    const answers = await readAnswers(pool, schema);
    expect(
      answers.map((a) => [a.opportunity_id, a.model, a.revision, a.deleted, a.amount, a.reason]),
    ).toContainEqual(['O2', 'u_shaped', 1, false, '40.000000000', 'created']);
    await expectConsistent(schema);
  });

  it('an unchanged commit rewrites no row: totals, reasons and timestamps untouched', async () => {
    const o1 = attribution('O1', { touches: [adwords] });
    await commit(store, live(o1));
    const table = `SELECT * FROM ${schema}.pipeline_by_channel_segment ORDER BY 1, 2, 3`;
    const answerRows = `SELECT * FROM ${schema}.opportunity_answer ORDER BY 1, 2`;
    const before = [(await pool.query(table)).rows, (await pool.query(answerRows)).rows];
    now += days(1);
    expect(await commit(store, live(attribution('O1', { touches: [adwords] })), 'redelivered')).toEqual([]);
    expect([(await pool.query(table)).rows, (await pool.query(answerRows)).rows]).toEqual(before);
    expect((await readAnswers(pool, schema)).map((a) => `${a.model}@${a.revision}:${a.reason}`)).toEqual(
      ALL.slice()
        .sort()
        .map((m) => `${m}@1:test`),
    );
  });

  it('a revision replaces the credit rows of the revised models only', async () => {
    const o1 = attribution('O1', { touches: [adwords] });
    const o2 = attribution('O2', { touches: [webinar] });
    await commit(store, live(o1, o2));
    const lastTouchBefore = (await readCredits(pool, schema)).filter((c) => c.model === 'last_touch');
    const late = attribution('O1', { touches: [adwords, lateEvent] });
    expect(summary(await commit(store, live(late), 'late touch'))).toEqual([
      'O1/first_touch@2',
      'O1/linear@2',
      'O1/u_shaped@2',
      'O1/time_decay@2',
    ]);
    const credits = await readCredits(pool, schema);
    expect(
      credits
        .filter((c) => c.opportunity_id === 'O1' && c.model === 'linear')
        .map((c) => [c.ordinal, c.touchpoint_id]),
    ).toEqual([
      [0, 'T-event'],
      [1, 'T-adwords'],
    ]);
    expect(credits.filter((c) => c.model === 'last_touch')).toEqual(lastTouchBefore);
    const answers = await readAnswers(pool, schema);
    expect(
      answers.filter((a) => a.opportunity_id === 'O1').map((a) => `${a.model}@${a.revision}:${a.reason}`),
    ).toEqual([
      'first_touch@2:late touch',
      'last_touch@1:test',
      'linear@2:late touch',
      'time_decay@2:late touch',
      'u_shaped@2:late touch',
    ]);
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([late, o2]));
    await expectConsistent(schema);
  });

  it('amount and segment changes rewrite the credit rows with the new amount and segment', async () => {
    const o1 = attribution('O1', { touches: [adwords, webinar] });
    const o2 = attribution('O2', { touches: [adwords], amount: 7n * UNIT });
    await commit(store, live(o1, o2));
    const bigger = attribution('O1', { touches: [adwords, webinar], amount: 250n * UNIT + 500_000_000n });
    await commit(store, live(bigger));
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([bigger, o2]));
    expect(
      (await readCredits(pool, schema))
        .filter((c) => c.opportunity_id === 'O1' && c.model === 'first_touch')
        .map((c) => c.amount),
    ).toEqual(['250.500000000']);
    await expectConsistent(schema);

    const moved = attribution('O1', {
      touches: [adwords, webinar],
      amount: 250n * UNIT + 500_000_000n,
      segment: 'Mid Market',
    });
    await commit(store, live(moved), 'segment change');
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([moved, o2]));
    expect(
      new Set(
        (await readCredits(pool, schema))
          .filter((c) => c.opportunity_id === 'O1')
          .map((c) => c.sales_segment),
      ),
    ).toEqual(new Set(['Mid Market']));
    expect(
      new Set(
        (await readAnswers(pool, schema))
          .filter((a) => a.opportunity_id === 'O1')
          .map((a) => a.sales_segment),
      ),
    ).toEqual(new Set(['Mid Market']));
    await expectConsistent(schema);
  });

  it('a deletion keeps tombstone answer rows without credit rows; a return writes them again', async () => {
    const o1 = attribution('O1', { touches: [adwords] });
    const o2 = attribution('O2', { touches: [webinar, adwords], segment: 'Enterprise', amount: 33n * UNIT });
    await commit(store, live(o1, o2));
    await commit(store, [['O2', null]], 'deleted');
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([o1]));
    expect((await readCredits(pool, schema)).filter((c) => c.opportunity_id === 'O2')).toEqual([]);
    const stored = (await readAnswers(pool, schema)).filter((a) => a.opportunity_id === 'O2');
    expect(stored.map((a) => [a.revision, a.deleted, a.amount, a.sales_segment, a.reason])).toEqual(
      ALL.map(() => [2, true, null, null, 'deleted']),
    );
    await expectConsistent(schema);

    expect(await commit(store, [['O-never', null]], 'deleted')).toEqual([]);
    expect((await readAnswers(pool, schema)).some((a) => a.opportunity_id === 'O-never')).toBe(false);

    await commit(store, live(o2), 'restored');
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([o1, o2]));
    expect((await readCredits(pool, schema)).filter((c) => c.opportunity_id === 'O2')).toHaveLength(
      o2.results.flatMap((r) => r.credits).length,
    );
    await expectConsistent(schema);
  });

  it('passes an error of publish through unchanged, AppError or not, and rolls back every row', async () => {
    const o1 = attribution('O1', { touches: [adwords] });
    await commit(store, live(o1));
    const table = await readPipelineTable(pool, schema);
    const answers = await readAnswers(pool, schema);
    const credits = await readCredits(pool, schema);
    const changed = new Map([
      ['O1', { attribution: attribution('O1', { touches: [webinar], amount: 9n * UNIT }), reason: 'x' }],
    ]);
    const plain = new Error('boom');
    await expect(
      commitAnswers(
        store,
        [...changed.keys()],
        () => Promise.resolve(changed),
        () => Promise.reject(plain),
      ),
    ).rejects.toBe(plain);
    const brokerDown = new AppError('BROKER_UNAVAILABLE', 'publish failed', { retriable: true });
    await expect(
      commitAnswers(
        store,
        [...changed.keys()],
        () => Promise.resolve(changed),
        () => Promise.reject(brokerDown),
      ),
    ).rejects.toBe(brokerDown);
    expect(await readPipelineTable(pool, schema)).toEqual(table);
    expect(await readAnswers(pool, schema)).toEqual(answers);
    expect(await readCredits(pool, schema)).toEqual(credits);
  });

  it('concurrent commits of the same new opportunities serialise: revisions 1 then 2, consistent totals', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `O${String(i).padStart(2, '0')}`);
    const versionA = ids.map((id, i) =>
      attribution(id, { touches: i % 2 === 0 ? [adwords] : [webinar, lateEvent] }),
    );
    const versionB = ids.map((id, i) =>
      attribution(id, { touches: [adwords, webinar], amount: BigInt(i + 1) * UNIT, segment: 'Enterprise' }),
    );
    const [a, b] = await Promise.all([
      commit(store, live(...versionA)),
      commit(store, live(...versionB.slice().reverse())),
    ]);

    const revisions = [...a, ...b].map((r) => r.revision).sort();
    expect(revisions).toEqual([...Array<number>(150).fill(1), ...Array<number>(150).fill(2)]);
    const last = a.every((r) => r.revision === 2) ? versionA : versionB;
    expect(a.every((r) => r.revision === a[0]?.revision)).toBe(true);
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable(last));
    await expectConsistent(schema);
  });

  it('many concurrent overlapping commits never deadlock and keep table, credits and answers in agreement', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `O${i}`);
    const versions = [[adwords], [webinar], [adwords, lateEvent], []];
    const batches = Array.from({ length: 8 }, (_, b) =>
      ids
        .filter((_, i) => (i + b) % 3 !== 0)
        .map((id, i): Entry =>
          i % 7 === b
            ? [id, null]
            : [id, attribution(id, { touches: versions[(i + b) % 4], amount: BigInt(b + 1) * UNIT })],
        ),
    );
    await Promise.all(
      batches.map((batch, b) => commit(store, b % 2 === 0 ? batch : batch.slice().reverse())),
    );
    await expectConsistent(schema);
    const c = await consistency(schema);
    expect(c.table.length).toBe(5);
  });

  it('keeps amounts exact to the nano-unit', async () => {
    const amount = 123_456_789n * UNIT + 123_456_789n;
    const o1 = attribution('O1', { amount, touches: [adwords, webinar, lateEvent] });
    await commit(store, live(o1));
    const answers = await readAnswers(pool, schema);
    expect(new Set(answers.map((a) => a.amount))).toEqual(new Set(['123456789.123456789']));
    const table = await readPipelineTable(pool, schema);
    expect(table).toEqual(expectedTable([o1]));
    expect(cell(table, 'linear', 'Event')?.pipeline_amount).toBe('41152263.041152263');
    expect(cell(table, 'linear', 'Adwords')?.pipeline_amount).toBe('41152263.041152263');
    const c = await consistency(schema);
    expect(c.table.map((r) => r.total)).toEqual(ALL.map(() => '123456789.123456789'));
    // Re-reading the stored answer gives the same bigints: an equal commit is recognised as unchanged.
    expect(await commit(store, live(o1))).toEqual([]);
  });

  it('keeps amounts exact to the nano-unit at 20 integer digits and at one nano-unit, in every row and delta', async () => {
    const big = 12_345_678_901_234_567_890n * UNIT + 987_654_321n;
    const o1 = attribution('O1', { amount: big, touches: [adwords, webinar, lateEvent] });
    // One nano-unit split over two touches: credits of 0.000000001 and 0.
    const o2 = attribution('O2', { amount: 1n, touches: [adwords, webinar] });
    const creditAmounts = (attributions: readonly OpportunityAttribution[]) =>
      attributions
        .flatMap((a) =>
          a.results.flatMap((r) =>
            r.credits.map((c, ordinal) => [a.opportunityId, r.model, ordinal, nanosText(c.amount)] as const),
          ),
        )
        .sort(([a, m, i], [b, n, j]) => (a !== b ? (a < b ? -1 : 1) : m !== n ? (m < n ? -1 : 1) : i - j));
    const storedAmounts = async () =>
      (await readCredits(pool, schema)).map((c) => [c.opportunity_id, c.model, c.ordinal, c.amount]);
    await commit(store, live(o1, o2));
    expect(await storedAmounts()).toEqual(creditAmounts([o1, o2]));
    expect(new Set((await readAnswers(pool, schema)).map((a) => a.amount))).toEqual(
      new Set(['12345678901234567890.987654321', '0.000000001']),
    );
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([o1, o2]));

    // One nano-unit less: every cell of O1 moves by an exact (negative) delta.
    const smaller = attribution('O1', { amount: big - 1n, touches: [adwords, webinar, lateEvent] });
    expect(await commit(store, live(smaller))).toHaveLength(ALL.length);
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([smaller, o2]));
    expect(await storedAmounts()).toEqual(creditAmounts([smaller, o2]));
    await expectConsistent(schema);
    expect(await commit(store, live(smaller, o2))).toEqual([]);
  });

  it('keeps instants exact to the millisecond, before 1970 and in years 1 and 9999 too', async () => {
    const cases: [string, number][] = [
      ['O-2021', T0 + 123],
      ['O-1969', -1],
      ['O-0001', new Date(0).setUTCFullYear(1, 2, 1) + 1],
      ['O-9999', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
    ];
    const attributions = cases.map(([id, createdAt]) =>
      attributeOpportunity(
        opportunity({ id, accountId: `A-${id}`, createdAt }),
        [
          touch({ id: `T1-${id}`, channel: 'Adwords', occurredAt: createdAt - 1 }),
          touch({ id: `T2-${id}`, channel: 'Webinar', occurredAt: createdAt - days(3) - 999 }),
        ],
        settings(),
      ),
    );
    await commit(store, live(...attributions));
    // Whole microseconds since the epoch, computed by Postgres: a millisecond off by any fraction shows.
    const micros = (ms: number): string => String(BigInt(ms) * 1000n);
    const byId = (a: readonly string[], b: readonly string[]) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1);
    const answers = await pool.query<{ id: string; us: string }>(
      `SELECT DISTINCT opportunity_id COLLATE "C" AS id,
              (extract(epoch FROM opportunity_created_at) * 1000000)::bigint::text AS us
         FROM ${schema}.opportunity_answer ORDER BY 1`,
    );
    expect(answers.rows.map((r) => [r.id, r.us])).toEqual(
      cases.map(([id, at]) => [id, micros(at)]).sort(byId),
    );
    const touches = await pool.query<{ id: string; us: string }>(
      `SELECT DISTINCT touchpoint_id COLLATE "C" AS id,
              (extract(epoch FROM touch_occurred_at) * 1000000)::bigint::text AS us
         FROM ${schema}.attribution_credit ORDER BY 1`,
    );
    expect(touches.rows.map((r) => [r.id, r.us])).toEqual(
      cases
        .flatMap(([id, at]) => [
          [`T1-${id}`, micros(at - 1)],
          [`T2-${id}`, micros(at - days(3) - 999)],
        ])
        .sort(byId),
    );
    // Read back as the same epoch milliseconds: the same attributions are recognised as unchanged.
    expect(await commit(store, live(...attributions))).toEqual([]);
  });

  it('stores text exactly as given (quotes, backslashes, braces, newlines, non-BMP); a lone surrogate as U+FFFD', async () => {
    const id = 'O "q" \\ {a,b} \\ud800 NULL \u{1F600}';
    const odd = touch({ id: 'T-"x"\\y', channel: 'Ad{words},"\\', occurredAt: T0 - days(1) });
    const a1 = attributeOpportunity(
      opportunity({ id, accountId: 'A\t"\\', segment: 'Mid\nMarket' }),
      [odd],
      settings(),
    );
    // The driver always sent strings as UTF-8, which turns a lone surrogate into U+FFFD.
    const a2 = attribution('O-lone\ud800x');
    await commit(store, live(a1, a2), 'reason "with" \\ quotes');
    const answers = await readAnswers(pool, schema);
    expect(new Set(answers.map((a) => a.opportunity_id))).toEqual(new Set([id, 'O-lone\ufffdx']));
    expect(new Set(answers.map((a) => a.reason))).toEqual(new Set(['reason "with" \\ quotes']));
    expect(answers.filter((a) => a.opportunity_id === id).map((a) => a.sales_segment)).toEqual(
      ALL.map(() => 'Mid\nMarket'),
    );
    const credits = (await readCredits(pool, schema)).filter((c) => c.opportunity_id === id);
    expect(credits.map((c) => [c.touchpoint_id, c.channel, c.sales_segment])).toEqual(
      ALL.map(() => ['T-"x"\\y', 'Ad{words},"\\', 'Mid\nMarket']),
    );
    expect(await readPipelineTable(pool, schema)).toEqual(expectedTable([a1, a2]));
    // Found again by its id and decoded equal (account id included): nothing to write.
    expect(await commit(store, live(a1))).toEqual([]);
  });

  it('refuses a delta that would drive a cell negative, without retry, and changes nothing', async () => {
    await commit(store, live(attribution('O1', { touches: [adwords] })));
    await pool.query(
      `UPDATE ${schema}.pipeline_by_channel_segment SET opportunity_count = 0 WHERE model = 'linear'`,
    );
    const error = await commit(store, [['O1', null]]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: false });
    expect((error as AppError).message).toMatch(/\(linear, Adwords, Commercial\) would go negative/);
    expect((await readAnswers(pool, schema)).every((a) => a.revision === 1 && !a.deleted)).toBe(true);
  });

  it('fails retriably when a stored revision changes under the locks (a writer that bypassed them)', async () => {
    await commit(store, live(attribution('O1', { touches: [adwords] })));
    const intruder = new pg.Client({ connectionString: DATABASE_URL });
    await intruder.connect();
    try {
      await intruder.query('BEGIN');
      await intruder.query(`UPDATE ${schema}.opportunity_answer SET revision = 7 WHERE model = 'linear'`);
      const pending = commit(store, live(attribution('O1', { touches: [adwords], amount: 5n * UNIT }))).catch(
        (e: unknown) => e,
      );
      await waitUntilBlocked(`"${schema}".opportunity_answer`);
      await intruder.query('COMMIT');
      expect(await pending).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retriable: true,
        message: expect.stringMatching(/revisions changed/) as unknown,
      });
    } finally {
      await intruder.end();
    }
    expect((await readAnswers(pool, schema)).map((a) => a.revision)).toEqual([1, 1, 7, 1, 1]);
  });

  it('a transaction holds one pooled client and its advisory locks until it ends, then gives both back', async () => {
    // Only this schema's keys of O1 and O2 count: other test files may hold advisory locks meanwhile.
    const ours = new Set(lockKeys(schema, ['O1', 'O2']).map((k) => BigInt.asUintN(64, k)));
    const advisoryLocks = async (): Promise<number> => {
      const rows = await pool.query<{ hi: string; lo: string }>(
        `SELECT classid::text AS hi, objid::text AS lo FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1`,
      );
      return rows.rows.filter((r) => ours.has((BigInt(r.hi) << 32n) | BigInt(r.lo))).length;
    };
    expect(await advisoryLocks()).toBe(0);
    for (const end of ['commit', 'rollback'] as const) {
      const tx = await store.begin();
      await tx.lock(['O1', 'O2', 'O2']);
      expect(await advisoryLocks()).toBe(2);
      expect(pool.totalCount - pool.idleCount).toBe(1);
      await tx[end]();
      expect(await advisoryLocks()).toBe(0);
      expect(pool.idleCount).toBe(pool.totalCount);
      // Used after it ended, it refuses rather than run on a client that is back in the pool.
      await expect(tx.load(['O1'])).rejects.toMatchObject({ code: 'INTERNAL', retriable: false });
    }
  });

  it('refuses a later revision for an answer never stored (an insert starts at revision 1)', async () => {
    const tx = await store.begin();
    try {
      const answer = attribution('O1', { touches: [adwords] });
      const [first] = answer.results;
      await expect(
        tx.writeAnswers([
          {
            opportunityId: 'O1',
            model: first?.model ?? 'first_touch',
            revision: 4,
            reason: 'x',
            answer: {
              opportunityId: 'O1',
              model: first?.model ?? 'first_touch',
              accountId: answer.accountId,
              segment: answer.segment,
              amount: answer.amount,
              createdAt: answer.createdAt,
              credits: first?.credits ?? [],
            },
            replaces: true,
          },
        ]),
      ).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/0\/1 written/) as unknown,
      });
    } finally {
      await tx.rollback();
    }
    expect(await readAnswers(pool, schema)).toEqual([]);
  });

  it('reports an unreachable server as retriable', async () => {
    const nowhere = createPool('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 2_000 });
    try {
      const unreachable = createPostgresAnswerStore(nowhere, { schema, clock: () => new Date(now) });
      await expect(commit(unreachable, live(attribution('O1')))).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retriable: true,
      });
    } finally {
      await closePool(nowhere);
      await closePool(nowhere);
    }
  });
});

async function waitUntilBlocked(table: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const waiting = await pool.query(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
      [table],
    );
    if (waiting.rowCount !== null && waiting.rowCount > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no statement on ${table} ever waited for a lock`);
}
