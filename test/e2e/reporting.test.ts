/**
 * The reporting dimensions end to end through the real services: generated events with
 * campaigns, UTM-only touches (placed by the shipped channel rules) and foreign currencies,
 * produced to Kafka, consumed by a service whose REPORTING_TIME_ZONE is America/New_York. The
 * per-day tables in Postgres must equal replay of the same files broken down by local creation
 * day (and campaign) cell by cell, to the nano; summed over days they must equal the all-time
 * table exactly; every answer records the rules version; a full redelivery changes nothing.
 * The same equality holds after a rules change and `touchline restate` (only the answers the
 * new rules change take their version), and after a late FX rate credits the opportunities
 * that waited for it.
 */
import { STREAMING_MODEL_NAMES } from '../../src/domain/models/index.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { quoteSchema } from '../../src/adapters/postgres/errors.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { runReplay } from '../../src/cli/replay.js';
import { runRestate } from '../../src/cli/restate.js';
import { loadRules } from '../../src/cli/settings.js';
import type { TableRow } from '../../src/adapters/files/report-writers.js';
import { startService, type RunningService } from '../../src/service.js';
import { captureIo, tempDir } from '../support/cli.js';
import { metricTotal, pipelineRows } from '../support/pipeline-rows.js';
import { roundCentsHalfEven } from '../support/postgres.js';
import {
  byDay,
  campaignDayTableLines,
  cellLines,
  dayTableLines,
  replayAsStreaming,
  replayedAnswers,
  storedAnswers,
  summedOverDays,
  tableSnapshot,
  withheldRates,
  writeRules,
} from '../support/reporting.js';
import {
  cleanupIsolated,
  configOf,
  eventually,
  groupCaughtUp,
  isolatedEnv,
  SERVICES,
} from '../support/services.js';

/** A zone with daylight saving, whose dates differ from UTC's for the evening hours. */
const ZONE = 'America/New_York';
const pool = createPool(SERVICES.DATABASE_URL);
const running: RunningService[] = [];
const used: Record<string, string>[] = [];

afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
  for (const env of used.splice(0)) await cleanupIsolated(env);
});
afterAll(async () => {
  await closePool(pool);
});

async function start(env: Record<string, string>): Promise<RunningService> {
  if (!used.some((e) => e['PG_SCHEMA'] === env['PG_SCHEMA'])) used.push(env);
  const file = process.env['E2E_LOG_FILE'];
  const service = await startService(configOf(env), (level, line) => {
    if (file !== undefined) appendFileSync(file, `${new Date().toISOString()} ${level} ${line}\n`);
  });
  running.push(service);
  return service;
}

async function generated(args: string[]): Promise<string> {
  const dir = tempDir('touchline-e2e-reporting-');
  expect(await runGenerate(['--out', dir, ...args], captureIo())).toBe(0);
  return join(dir, 'events');
}

async function produce(dir: string, env: Record<string, string>): Promise<void> {
  expect(await runProduce(['--data', dir, '--batch', '1000'], captureIo(), env)).toBe(0);
}

/** `touchline replay --format json` rows as `model|day|channel|[campaign|]segment|cents|count`. */
async function replayCli(dir: string, by: string, fxRates: string): Promise<string[]> {
  const io = captureIo();
  // The models the service computes (the stage models run in batch only so far).
  const argv = [
    '--data',
    dir,
    '--format',
    'json',
    '--by',
    by,
    '--time-zone',
    ZONE,
    '--models',
    STREAMING_MODEL_NAMES.join(','),
  ];
  expect(await runReplay([...argv, '--reporting-currency', 'USD', '--fx-rates', fxRates], io)).toBe(0);
  return (JSON.parse(io.out()) as TableRow[])
    .map((r) =>
      [r.model, r.period, r.channel, r.campaign === undefined ? undefined : (r.campaign ?? '')]
        .concat([r.sales_segment, r.pipeline_amount, String(r.opportunities)])
        .filter((cell) => cell !== undefined)
        .join('|'),
    )
    .sort();
}

/** Exact lines with the amount (second to last field) rounded half-even to cents, as replay's JSON has it. */
const inCents = (lines: readonly string[]): string[] =>
  lines
    .map((line) => {
      const cells = line.split('|');
      cells[cells.length - 2] = roundCentsHalfEven(cells[cells.length - 2] ?? '');
      return cells.join('|');
    })
    .sort();

/** Stops a service `start` gave, before the end of its test. */
async function stop(service: RunningService): Promise<void> {
  running.splice(running.indexOf(service), 1);
  await service.stop();
}

/**
 * Waits until both per-day tables equal `expected` (lines of replay by day, and by day and
 * campaign) and every input is committed, then returns what the tables hold: equal, or the
 * cells that differ when the wait timed out.
 */
async function settledDays(
  env: Record<string, string>,
  expected: { days: string[]; campaignDays: string[] },
): Promise<{ days: string[]; campaignDays: string[] }> {
  const schema = env['PG_SCHEMA'] ?? '';
  const read = async (): Promise<{ days: string[]; campaignDays: string[] }> => ({
    days: await dayTableLines(pool, schema),
    campaignDays: await campaignDayTableLines(pool, schema),
  });
  await eventually(
    async () => JSON.stringify(await read()) === JSON.stringify(expected) && (await groupCaughtUp(env)),
    (done) => done,
    60_000,
  );
  return read();
}

const expectedDaysOf = (dir: string, rulesFile?: string): { days: string[]; campaignDays: string[] } => ({
  days: cellLines(replayAsStreaming(dir, ZONE, byDay(ZONE), rulesFile)),
  campaignDays: cellLines(replayAsStreaming(dir, ZONE, byDay(ZONE, true), rulesFile)),
});

const withoutCount = (lines: readonly string[]): string[] =>
  lines.map((line) => line.slice(0, line.lastIndexOf('|'))).sort();

describe(
  'reporting dimensions end to end on real Kafka, Schema Registry, Redis and Postgres',
  { timeout: 120_000 },
  () => {
    it('keeps pipeline_by_day and pipeline_by_campaign_day in REPORTING_TIME_ZONE equal to replay, exactly, through a redelivery', async () => {
      const dir = await generated([
        '--contacts',
        '300',
        '--opportunities',
        '120',
        '--touches',
        '3000',
        '--seed',
        '31',
      ]);
      // The rates stream: `produce` publishes the dataset's fx_rates.csv, which the CLI reads too.
      const rates = join(dir, 'fx_rates.csv');

      const allTime = replayAsStreaming(dir, ZONE);
      const expectedAllTime = cellLines(allTime);
      const expectedDays = cellLines(replayAsStreaming(dir, ZONE, byDay(ZONE)));
      const expectedCampaignDays = cellLines(replayAsStreaming(dir, ZONE, byDay(ZONE, true)));
      // The data exercises what is tested: UTM-only touches placed by the rules and some left
      // Unassigned, campaigns, and days that differ from UTC's (foreign currencies: below).
      expect(allTime.quality.notices?.['unmapped_channel'] ?? 0).toBeGreaterThan(0);
      expect(expectedDays.some((line) => line.split('|')[2] === 'Unassigned')).toBe(true);
      expect(expectedCampaignDays.some((line) => line.split('|')[3] !== '')).toBe(true);
      expect(expectedDays).not.toEqual(cellLines(replayAsStreaming(dir, ZONE, byDay('UTC'))));

      const env = isolatedEnv('reporting', { REPORTING_TIME_ZONE: ZONE });
      const schema = env.PG_SCHEMA ?? '';
      const service = await start(env);
      await produce(dir, env);
      // The all-time table does not depend on the zone: once it is complete and every offset is
      // committed, every answer (and the per-day totals written in its transaction) is in.
      expect(
        await eventually(
          () => pipelineRows(pool, schema),
          (rows) => JSON.stringify(rows) === JSON.stringify(expectedAllTime),
          60_000,
        ),
      ).toEqual(expectedAllTime);
      expect(
        await eventually(
          () => groupCaughtUp(env),
          (done) => done,
        ),
      ).toBe(true);

      // Cell by cell, to the nano, against replay in-process.
      const days = await dayTableLines(pool, schema);
      const campaignDays = await campaignDayTableLines(pool, schema);
      expect(days).toEqual(expectedDays);
      expect(campaignDays).toEqual(expectedCampaignDays);
      // Exact sums in SQL: the days add up to the all-time table (amounts and counts), and the
      // campaigns of a day add up to that day (amounts; an opportunity can credit two campaigns).
      expect(await summedOverDays(pool, schema, 'pipeline_by_day')).toEqual(await pipelineRows(pool, schema));
      expect(await summedOverDays(pool, schema, 'pipeline_by_campaign_day')).toEqual(
        withoutCount(await summedOverDays(pool, schema, 'pipeline_by_day')),
      );
      // And the CLI a user runs: its JSON has cents, so Postgres' exact amounts are rounded half-even.
      expect(await replayCli(dir, 'day', rates)).toEqual(inCents(days));
      expect(await replayCli(dir, 'day,campaign', rates)).toEqual(inCents(campaignDays));

      // Every live answer records the version of the shipped rules it was computed with.
      // (The pending_fx opportunities have no answer: counted, not credited.)
      const { rows: versions } = await pool.query<{
        version: string | null;
        answers: number;
        opportunities: number;
      }>(
        `SELECT channel_rules_version AS version, count(*)::int AS answers,
              count(DISTINCT opportunity_id)::int AS opportunities
         FROM ${quoteSchema(schema)}.opportunity_answer WHERE NOT deleted GROUP BY 1`,
      );
      expect(versions).toEqual([
        {
          version: loadRules(undefined).version,
          answers: allTime.opportunities * STREAMING_MODEL_NAMES.length,
          opportunities: allTime.opportunities,
        },
      ]);

      // Foreign currencies were converted with the streamed rates: the answers keep the original.
      const { rows: converted } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${quoteSchema(schema)}.opportunity_answer
          WHERE NOT deleted AND original_currency IS NOT NULL AND original_currency <> 'USD'`,
      );
      expect(converted[0]?.n ?? 0).toBeGreaterThan(0);

      // Redelivery: everything consumed a second time, and not a row rewritten.
      const tables = ['pipeline_by_day', 'pipeline_by_campaign_day', 'pipeline_by_channel_segment'];
      const snapshot = async (): Promise<string[][]> =>
        Promise.all(tables.map((table) => tableSnapshot(pool, schema, table)));
      const before = await snapshot();
      const seen = await metricTotal(service.metrics.eventsIn);
      await produce(dir, env);
      expect(
        await eventually(
          async () =>
            (await groupCaughtUp(env)) && (await metricTotal(service.metrics.eventsIn)) === 2 * seen,
          (done) => done,
        ),
      ).toBe(true);
      expect(await snapshot()).toEqual(before);
    });

    it('follows a rules change through restate: changed answers take the new version, the rest keep theirs', async () => {
      const dir = await generated([
        '--contacts',
        '200',
        '--opportunities',
        '100',
        '--touches',
        '2000',
        '--seed',
        '47',
      ]);
      const rulesDir = tempDir('touchline-e2e-rules-');
      const v1 = writeRules(join(rulesDir, 'v1.yaml'), 'test-v1');
      // Google's paid search becomes Paid Search (a channel the shipped file declares) instead of Adwords.
      const v2 = writeRules(join(rulesDir, 'v2.yaml'), 'test-v2', (yaml) =>
        yaml.replace('channel: Adwords', 'channel: Paid Search'),
      );
      const before = replayedAnswers(dir, ZONE, v1);
      const after = replayedAnswers(dir, ZONE, v2);
      expect([...after.keys()]).toEqual([...before.keys()]);
      const changed = [...after].filter(([key, answer]) => before.get(key)?.credits !== answer.credits);
      const changedKeys = new Set(changed.map(([key]) => key));
      // v2 moves some answers and leaves others (all of whose credits are explicit channels) alone.
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.length).toBeLessThan(after.size);
      const expectedV1 = expectedDaysOf(dir, v1);
      const expectedV2 = expectedDaysOf(dir, v2);
      expect(expectedV2.days).not.toEqual(expectedV1.days);
      expect(expectedV2.days.some((line) => line.split('|')[2] === 'Paid Search')).toBe(true);

      const env = isolatedEnv('reporting_rules', { REPORTING_TIME_ZONE: ZONE });
      const schema = env.PG_SCHEMA ?? '';
      const first = await start({ ...env, CHANNEL_RULES_FILE: v1 });
      await produce(dir, env);
      expect(await settledDays(env, expectedV1)).toEqual(expectedV1);
      expect(new Set((await storedAnswers(pool, schema)).map((a) => a.version))).toEqual(
        new Set(['test-v1']),
      );

      // Step 1 of docs/reporting.md: restart with the new file; step 2: restate.
      await stop(first);
      const envV2 = { ...env, CHANNEL_RULES_FILE: v2 };
      await start(envV2);
      const io = captureIo();
      expect(await runRestate([], io, envV2), io.err()).toBe(0);
      expect(io.out()).toMatch(/^marked [1-9]\d* opportunities/);
      expect(await settledDays(env, expectedV2)).toEqual(expectedV2);
      expect(await summedOverDays(pool, schema, 'pipeline_by_day')).toEqual(
        cellLines(replayAsStreaming(dir, ZONE, undefined, v2)),
      );

      // A revision for each changed answer, none for the others.
      const stored = await storedAnswers(pool, schema);
      expect(stored.map((a) => a.key)).toEqual([...after.keys()].sort());
      const restated = stored.filter((a) => changedKeys.has(a.key));
      const kept = stored.filter((a) => !changedKeys.has(a.key));
      expect(
        restated.filter((a) => a.version !== 'test-v2' || a.reason !== 'restate' || a.revision < 2),
      ).toEqual([]);
      expect(kept.filter((a) => a.version !== 'test-v1')).toEqual([]);
      expect(kept.length).toBeGreaterThan(0);
    });

    it('credits the opportunities waiting for a late FX rate once it arrives', async () => {
      const dir = await generated([
        '--contacts',
        '200',
        '--opportunities',
        '120',
        '--touches',
        '2000',
        '--seed',
        '53',
      ]);
      const base = tempDir('touchline-e2e-late-fx-');
      const early = join(base, 'early');
      const late = join(base, 'late');
      withheldRates(dir, 'GBP', early, late);
      const all = replayAsStreaming(dir, ZONE);
      const withoutGbp = replayAsStreaming(early, ZONE);
      const gbpAnswers = [...replayedAnswers(dir, ZONE)].filter(([, a]) => a.currency === 'GBP');
      // The withheld rates matter: GBP opportunities wait for them, and some have one in the full set.
      expect(gbpAnswers.length).toBeGreaterThan(0);
      expect(withoutGbp.pendingFx).toBeGreaterThan(all.pendingFx);
      const expectedEarly = expectedDaysOf(early);
      const expectedAll = expectedDaysOf(dir);
      expect(expectedAll.days).not.toEqual(expectedEarly.days);

      const env = isolatedEnv('reporting_fx', { REPORTING_TIME_ZONE: ZONE });
      const schema = env.PG_SCHEMA ?? '';
      const service = await start(env);
      const gbpStored = async (): Promise<string[]> =>
        (await storedAnswers(pool, schema)).filter((a) => a.currency === 'GBP').map((a) => a.key);
      await produce(early, env);
      expect(await settledDays(env, expectedEarly)).toEqual(expectedEarly);
      expect(await gbpStored()).toEqual([]);
      // The gauge is set just after the drain that committed: it may lag the tables by a moment.
      const pendingFx = (): Promise<number> => metricTotal(service.metrics.pendingFx);
      expect(await eventually(pendingFx, (n) => n === withoutGbp.pendingFx)).toBe(withoutGbp.pendingFx);

      // The late rates alone, as `touchline produce` publishes a dataset's fx_rates.csv.
      const io = captureIo();
      expect(await runProduce(['--data', late], io, env), io.err()).toBe(0);
      expect(io.out()).toMatch(/fx\.rates\.v1 \d+/);
      expect(await settledDays(env, expectedAll)).toEqual(expectedAll);
      expect(await gbpStored()).toEqual(gbpAnswers.map(([key]) => key).sort());
      expect(await eventually(pendingFx, (n) => n === all.pendingFx)).toBe(all.pendingFx);
    });
  },
);
