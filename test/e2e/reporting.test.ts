/**
 * The reporting dimensions end to end through the real services: generated events with
 * campaigns, UTM-only touches (placed by the shipped channel rules) and foreign currencies,
 * produced to Kafka, consumed by a service whose REPORTING_TIME_ZONE is America/New_York. The
 * per-day tables in Postgres must equal replay of the same files broken down by local creation
 * day (and campaign) cell by cell, to the nano; summed over days they must equal the all-time
 * table exactly; every answer records the rules version; a full redelivery changes nothing.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { quoteSchema } from '../../src/adapters/postgres/errors.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { runReplay } from '../../src/cli/replay.js';
import { buildSettings, loadRules } from '../../src/cli/settings.js';
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
  summedOverDays,
  tableSnapshot,
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
  used.push(env);
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
  const argv = ['--data', dir, '--format', 'json', '--by', by, '--time-zone', ZONE];
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
          answers: allTime.opportunities * buildSettings({}).models.length,
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
  },
);
