/**
 * The dashboard and the alert rules against a real run: the service started in-process on the
 * real Kafka, Schema Registry, Redis and Postgres, fed generated data with dirty rows and
 * updates, scraped by a real Prometheus (the scrape job of deploy/prometheus/prometheus.yml,
 * deploy/prometheus/alerts.yml loaded as rule file). Every PromQL expression of the dashboard and
 * the alerts runs without error, the dashboard's ones return series, every rule evaluates with
 * health "ok"; every SQL query of the dashboard runs on the run's Postgres schema and the pipeline
 * panels show what `touchline replay` computes from the same files, rounded to cents half to even:
 * over all time the replay table, over a narrower range `replay --by day` summed over its days.
 *
 * The SQL time macros are expanded as Grafana's Postgres data source does
 * (test/deploy/support/dashboard.ts): `$__timeFilter(col)` becomes
 * `col BETWEEN '<from>' AND '<to>'`, both instants RFC 3339 in UTC; on the date column
 * created_day Postgres reads each bound as its calendar date. Local dates [from, to) reach the
 * query as from 00:00:00Z to the millisecond before to (what the UTC dashboard's picker sends).
 */
import { STREAMING_MODEL_NAMES } from '../../src/domain/models/index.js';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { replay, type ReplayResult } from '../../src/app/replay.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { runReplay } from '../../src/cli/replay.js';
import { breakdownOf, parseReportingOptions } from '../../src/cli/reporting.js';
import { buildSettings, buildVocabularies, loadRules, serveDefaults } from '../../src/cli/settings.js';
import type { Breakdown, Cell } from '../../src/domain/aggregate.js';
import type { OpportunityAttribution } from '../../src/domain/attribute.js';
import { formatNanos, type Nanos } from '../../src/domain/money.js';
import { localDate, periodOfDate, periodStartDate } from '../../src/domain/period.js';
import { startService, type RunningService } from '../../src/service.js';
import {
  dashboardQueries,
  dateRange,
  expandQuery,
  loadDashboard,
  type TimeRange,
} from '../deploy/support/dashboard.js';
import { PATHS, findTool } from '../deploy/support/files.js';
import {
  alertRules,
  allPromQueries,
  deployedScrapeJob,
  startPrometheus,
  type PromAnswer,
  type RunningPrometheus,
} from '../deploy/support/prometheus.js';
import { captureIo, tempDir } from '../support/cli.js';
import { roundCentsHalfEven } from '../support/postgres.js';
import {
  SERVICES,
  cleanupIsolated,
  configOf,
  eventually,
  groupCaughtUp,
  isolatedEnv,
} from '../support/services.js';

const hasPrometheus = findTool('prometheus') !== undefined;
/** The model the SQL panels are checked under (the $model variable). */
const MODEL = 'first_touch';
/** The service's REPORTING_TIME_ZONE: not UTC, so days kept in the wrong zone would show. */
const TIME_ZONE = 'America/New_York';
/** Local dates, `to` excluded; Mondays, so that the weekly series has whole weeks only. */
interface LocalDates {
  readonly from: string;
  readonly to: string;
}
/** About half of the generated opportunities (created from April 2024 to June 2025). */
const NARROW: LocalDates = { from: '2024-09-02', to: '2025-03-03' };
/** A time range holding every creation day of the data. */
const ALL_TIME = dateRange('2000-01-01', '2100-01-01');
/** The SQL panels the checks below compare; a new panel needs a check before it is added here. */
const CHECKED_PANELS = [
  'Live pipeline by channel',
  'Opportunities sourced',
  'Model comparison',
  'Total pipeline per model',
  'Top touchpoints',
  'Latest restatements',
  'Pipeline sourced per week by channel',
  'Pipeline by campaign',
  'variable $model',
];

type Row = Record<string, unknown>;
interface SqlRun {
  readonly panel: string;
  readonly sql: string;
  readonly rows?: Row[];
  readonly error?: string;
}
interface RuleState {
  readonly name: string;
  readonly health: string;
  readonly lastError?: string;
  readonly lastEvaluation?: string;
}

const seriesOf = (answer: PromAnswer): number => answer.data?.result.length ?? 0;
const scalarOf = (answer: PromAnswer): number => {
  const [first] = (answer.data?.result ?? []) as { value?: [number, string] }[];
  return first?.value === undefined ? Number.NaN : Number(first.value[1]);
};
const sum = (values: readonly Nanos[]): Nanos => values.reduce((a, b) => a + b, 0n);
const cents = (nanos: Nanos): string => roundCentsHalfEven(formatNanos(nanos));
/** Order-independent comparison: rows sorted by their JSON (ORDER BY follows the database collation). */
const sorted = (rows: readonly Row[] | undefined): Row[] =>
  [...(rows ?? [])].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

const inDates = (day: string | undefined, dates: LocalDates): boolean =>
  day !== undefined && dates.from <= day && day < dates.to;
const keyOf = (...parts: string[]): string => JSON.stringify(parts);
const partsOf = (key: string): string[] => JSON.parse(key) as string[];

interface Total {
  readonly amount: Nanos;
  readonly opportunities: number;
}
/**
 * Cells summed by a key, exactly (nanos). The opportunity counts add up exactly where no
 * opportunity is in two of the cells summed: over days (one creation day) and segments (one).
 */
function totalsBy(cells: readonly Cell[], key: (cell: Cell) => string): Map<string, Total> {
  const totals = new Map<string, Total>();
  for (const cell of cells) {
    const k = key(cell);
    const t = totals.get(k) ?? { amount: 0n, opportunities: 0 };
    totals.set(k, { amount: t.amount + cell.amount, opportunities: t.opportunities + cell.opportunities });
  }
  return totals;
}

/** The channel x segment cells of a table, its days (or campaigns) summed. */
const channelSegmentCells = (cells: readonly Cell[]): Cell[] =>
  [...totalsBy(cells, (c) => keyOf(c.model, c.channel, c.segment))].map(([key, t]) => {
    const [model = '', channel = '', segment = ''] = partsOf(key);
    return { model, channel, segment, ...t };
  });

/** `touchline replay --format json` with the service's calendar and the dataset's FX rates, parsed. */
async function replayJson(events: string, noRates: string, args: readonly string[]): Promise<Row[]> {
  const io = captureIo();
  const argv = [
    '--data',
    events,
    '--format',
    'json',
    '--time-zone',
    TIME_ZONE,
    '--fx-rates',
    noRates,
    // The models the service computes (the stage models run in batch only so far).
    '--models',
    STREAMING_MODEL_NAMES.join(','),
  ];
  expect(await runReplay([...argv, ...args], io), io.err()).toBe(0);
  return JSON.parse(io.out()) as Row[];
}
/** Cells as `replay --format json` prints them. */
const jsonRows = (cells: readonly Cell[]): Row[] =>
  cells.map((c) => ({
    model: c.model,
    ...(c.period === undefined ? {} : { period: c.period }),
    channel: c.channel,
    ...(c.campaign === undefined ? {} : { campaign: c.campaign }),
    sales_segment: c.segment,
    pipeline_amount: cents(c.amount),
    opportunities: c.opportunities,
  }));

describe.skipIf(!hasPrometheus)(
  'observability end to end: dashboard and alert queries on a real run',
  { timeout: 180_000 },
  () => {
    const env = isolatedEnv('obs', { REPORTING_TIME_ZONE: TIME_ZONE });
    const pool = new pg.Pool({ connectionString: SERVICES.DATABASE_URL, max: 2 });
    let service: RunningService | undefined;
    let prometheus: RunningPrometheus | undefined;
    /** The replay table (all time), its split by local creation day, and by day and campaign. */
    let expected: ReplayResult;
    let byDay: ReplayResult;
    let byDayCampaign: ReplayResult;
    let events = '';
    let noRates = '';
    const attributions: OpportunityAttribution[] = [];

    beforeAll(async () => {
      const dir = tempDir('touchline-obs-');
      const generateArgs = ['--out', dir, '--contacts', '300', '--opportunities', '150', '--touches', '3000'];
      const dataArgs = ['--seed', '41', '--dirty-rate', '0.05', '--update-rate', '0.2'];
      expect(await runGenerate([...generateArgs, ...dataArgs], captureIo())).toBe(0);
      events = join(dir, 'events');
      // The rates stream: `produce` publishes the dataset's fx_rates.csv; the replay side reads it.
      noRates = join(events, 'fx_rates.csv');
      // The service's channel rules: the shipped config/channel-rules.yaml.
      const vocab = buildVocabularies(undefined, undefined, loadRules(undefined));
      const settings = {
        ...buildSettings({ models: STREAMING_MODEL_NAMES.join(',') }),
        timeZone: TIME_ZONE,
        ...(vocab.channelRules === undefined ? {} : { channelRules: vocab.channelRules }),
      };
      // What runReplay does for `--by ...`: the same options parser and breakdown.
      const replayBy = (by: string, onAttribution?: (a: OpportunityAttribution) => void): ReplayResult => {
        const breakdown: Breakdown = breakdownOf(parseReportingOptions({ by, 'time-zone': TIME_ZONE }, {}));
        return replay(openDataset(events).records, {
          settings,
          vocab,
          breakdown,
          fx: serveDefaults(events, TIME_ZONE).fx,
          ...(onAttribution === undefined ? {} : { onAttribution }),
        });
      };
      expected = replayBy('', (a) => void attributions.push(a));
      byDay = replayBy('day');
      byDayCampaign = replayBy('day,campaign');

      service = await startService(configOf(env), () => undefined);
      // Prometheus scrapes from before the first record: rates and quantiles see the run itself.
      const running = await startPrometheus({
        scrapeConfigs: [deployedScrapeJob([`127.0.0.1:${service.port}`])],
        ruleFiles: [PATHS.alerts],
        interval: '1s',
      });
      prometheus = running;
      const query = running.query;
      // Prometheus applies discovered targets a few seconds after it starts: wait for its first
      // scrape, so that the run itself is recorded.
      const firstScrape = await eventually(
        async () => scalarOf(await query('up')),
        (up) => up === 1,
        30_000,
      );
      expect(firstScrape, 'the service is not scraped').toBe(1);
      // Paced over a few seconds, as a live feed arrives: the service creates a labelled series on
      // its first increment, so a burst consumed within one scrape interval would be a series
      // born at its final value, and rate()/increase() would show nothing of it.
      const io = captureIo();
      expect(await runProduce(['--data', events, '--batch', '100', '--rate', '700'], io, env), io.err()).toBe(
        0,
      );
      expect(
        await eventually(
          () => groupCaughtUp(env),
          (done) => done,
        ),
      ).toBe(true);

      // Scraped after the run: the target is up, it has been scraped at least 3 times, Prometheus
      // holds the service's final record count, and the unattributed share (refreshed from
      // Postgres every 15 s) has been exported.
      const consumed = (await service.metrics.eventsIn.get()).values.reduce((n, v) => n + v.value, 0);
      expect(consumed).toBeGreaterThan(0);
      const ready = await eventually(
        async () => {
          const gone = running.exited();
          if (gone !== undefined) throw new Error(gone);
          const [up, scrapes, total, share] = await Promise.all([
            query('up'),
            query('count_over_time(up[10m])'),
            query('sum(touchline_events_total)'),
            query('touchline_unattributed_share'),
          ]);
          return {
            up: scalarOf(up),
            scrapes: scalarOf(scrapes),
            total: scalarOf(total),
            share: seriesOf(share),
          };
        },
        (s) => s.up === 1 && s.scrapes >= 3 && s.total === consumed && s.share > 0,
        60_000,
      );
      expect(ready).toMatchObject({ up: 1, total: consumed });
      expect(ready.scrapes).toBeGreaterThanOrEqual(3);
      expect(ready.share).toBeGreaterThan(0);
    }, 150_000);

    afterAll(async () => {
      await prometheus?.stop();
      await service?.stop();
      await pool.end();
      await cleanupIsolated(env);
    });

    it('every PromQL expression of the dashboard and the alerts runs; the dashboard ones and the core series return data', async () => {
      const query = prometheus?.query ?? (() => Promise.reject(new Error('no prometheus')));
      const queries = allPromQueries();
      expect(queries.filter((q) => q.source.startsWith('alert ')).map((q) => q.source)).toHaveLength(
        alertRules().length,
      );
      const results = await Promise.all(queries.map(async (q) => ({ q, answer: await query(q.expr) })));
      expect(
        results
          .filter(({ answer }) => answer.status !== 'success')
          .map(({ q, answer }) => `${q.source}: ${answer.error ?? answer.status}`),
      ).toEqual([]);
      expect(
        results
          .filter(({ q, answer }) => q.mustReturnData && seriesOf(answer) === 0)
          .map(({ q }) => q.source),
      ).toEqual([]);

      // The throughput panel: one series per topic and outcome, accepted records on all four topics.
      const throughput = results.find(({ q }) => q.source.startsWith('dashboard: Throughput'));
      expect(throughput?.answer.data?.resultType).toBe('vector');
      const outcomes = (throughput?.answer.data?.result ?? []) as { metric: Record<string, string> }[];
      expect(
        new Set(outcomes.filter((s) => s.metric['outcome'] === 'accepted').map((s) => s.metric['topic'])),
      ).toEqual(
        new Set([
          env['TOPIC_TOUCHPOINTS'],
          env['TOPIC_CONTACTS'],
          env['TOPIC_OPPORTUNITIES'],
          env['TOPIC_FX_RATES'] ?? 'fx.rates.v1',
        ]),
      );
      // Prometheus saw the records flow: a positive rate, and a finite latency quantile.
      expect(
        scalarOf(
          await query(
            `sum(rate(touchline_events_total{outcome="accepted", topic="${env['TOPIC_TOUCHPOINTS'] ?? ''}"}[1m]))`,
          ),
        ),
      ).toBeGreaterThan(0);
      const p99 = results.find(({ q }) =>
        q.source.startsWith('dashboard: End-to-end attribution latency [C]'),
      );
      expect(Number.isFinite(scalarOf(p99?.answer ?? { status: 'missing' }))).toBe(true);

      // The series the run must have produced, scraped with the job label the panels and rules use.
      const core = [
        'touchline_events_total{job="touchline", outcome="accepted"}',
        'touchline_dlq_records_total{job="touchline"}',
        'touchline_revisions_total{job="touchline"}',
        'touchline_attribution_latency_seconds_bucket{job="touchline"}',
      ];
      const answers = await Promise.all(
        core.map(async (expr) => [expr, seriesOf(await query(expr))] as const),
      );
      expect(answers.filter(([, series]) => series === 0).map(([expr]) => expr)).toEqual([]);
      // Dirty rows went to the dead-letter topic, counted by the service and seen by Prometheus.
      expect(scalarOf(await query('sum(touchline_dlq_records_total)'))).toBe(
        (await service?.metrics.dlq.get())?.values.reduce((n, v) => n + v.value, 0),
      );

      // A healthy run: the availability and no-input alerts stay quiet (a wrong job label would
      // make TouchlineAbsent fire here).
      const quiet = ['TouchlineDown', 'TouchlineAbsent', 'TouchlineNoEventsIngested'];
      const rules = alertRules();
      expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(quiet));
      const firing = await Promise.all(
        rules
          .filter((r) => quiet.includes(r.alert))
          .map(async (r) => [r.alert, seriesOf(await query(r.expr))] as const),
      );
      expect(firing.filter(([, series]) => series > 0)).toEqual([]);
    });

    it('Prometheus loads every rule of alerts.yml and evaluates each with health "ok"', async () => {
      const names = alertRules().map((r) => r.alert);
      const loaded = async (): Promise<RuleState[]> => {
        const answer = await prometheus?.get<{
          status: string;
          data: { groups: { rules: RuleState[] }[] };
        }>('/api/v1/rules');
        return answer?.status === 'success' ? answer.data.groups.flatMap((g) => g.rules) : [];
      };
      // Evaluated at least once (every second): health is "unknown" until then.
      const rules = await eventually(
        loaded,
        (list) => names.every((n) => list.some((r) => r.name === n && r.health !== 'unknown')),
        30_000,
      );
      expect(rules.map((r) => r.name).sort()).toEqual([...names].sort());
      expect(
        rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      ).toEqual([]);
    });

    /** Runs one dashboard query as Grafana would: expanded, in a read-only transaction. */
    const runSql = async (panel: string, text: string, model: string, range: TimeRange): Promise<SqlRun> => {
      const sql = expandQuery(
        { panel, language: 'sql', text },
        { schema: env['PG_SCHEMA'] ?? '', model, timeRange: range },
      );
      // Grafana's role may only read: each query runs in a read-only transaction.
      const client = await pool.connect();
      try {
        await client.query('BEGIN READ ONLY');
        const result = await client.query<Row>(sql);
        return { panel, sql, rows: result.rows };
      } catch (error) {
        return { panel, sql, error: (error as Error).message };
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
      }
    };
    const sqlQueries = () => dashboardQueries(loadDashboard()).filter((q) => q.language === 'sql');
    /** The rows of the panel whose title starts with `prefix`, under `model` and `range`. */
    const panelRows = async (prefix: string, range: TimeRange, model = MODEL): Promise<Row[]> => {
      const query = sqlQueries().find((q) => q.panel.startsWith(prefix));
      if (query === undefined) throw new Error(`the dashboard has no panel "${prefix}"`);
      const run = await runSql(query.panel, query.text, model, range);
      if (run.error !== undefined) throw new Error(`${run.panel}: ${run.error}\n${run.sql}`);
      return run.rows ?? [];
    };

    /**
     * The pipeline panels over `range` against `cells` (replay's cells of the opportunities created
     * in it, any breakdown) and the touch panel against those opportunities' attributions.
     */
    async function expectPipelinePanels(
      range: TimeRange,
      cells: readonly Cell[],
      dates?: LocalDates,
    ): Promise<void> {
      const table = channelSegmentCells(cells);
      const models = [...new Set(table.map((c) => c.model))].sort();
      expect(models).toContain(MODEL);
      expect(table.filter((c) => c.model === MODEL).length).toBeGreaterThan(5);
      const of = (model: string) => table.filter((c) => c.model === model);

      // Channel x sales segment, cents half to even once the days are summed: under $model and every model.
      for (const model of models)
        expect(sorted(await panelRows('Live pipeline by channel', range, model)), model).toEqual(
          sorted(
            of(model).map((c) => ({
              channel: c.channel,
              sales_segment: c.segment,
              pipeline: cents(c.amount),
            })),
          ),
        );
      expect(
        sorted(
          (await panelRows('Opportunities sourced', range)).map((r) => ({
            ...r,
            opportunity_count: Number(r['opportunity_count']),
          })),
        ),
      ).toEqual(
        sorted(
          of(MODEL).map((c) => ({
            channel: c.channel,
            sales_segment: c.segment,
            opportunity_count: c.opportunities,
          })),
        ),
      );

      const byChannelModel = totalsBy(table, (c) => keyOf(c.channel, c.model));
      expect(sorted(await panelRows('Model comparison', range))).toEqual(
        sorted(
          [...byChannelModel].map(([key, t]) => {
            const [channel, model] = partsOf(key);
            return { channel, model, pipeline: cents(t.amount) };
          }),
        ),
      );

      // Every model distributes the same total, in any range; replay's total, rounded.
      const totals = await panelRows('Total pipeline per model', range);
      const totalOf = (model: string) => sum(of(model).map((c) => c.amount));
      expect(totals.map((r) => [r['model'], r['pipeline']])).toEqual(
        models.map((m) => [m, cents(totalOf(m))]),
      );
      expect(new Set(totals.map((r) => r['pipeline'])).size).toBe(1);
      for (const r of totals) {
        const model = String(r['model']);
        const unattributed = sum(
          of(model)
            .filter((c) => c.channel === 'Unattributed')
            .map((c) => c.amount),
        );
        expect(r['unattributed_share']).toBeCloseTo(Number(unattributed) / Number(totalOf(model)), 9);
      }

      // Top touchpoints: each row is the touchpoint's credit under $model, from the opportunities
      // created in range; the 20 largest amounts.
      const touches = new Map<string, { channel: string; opportunities: Set<string>; amount: Nanos }>();
      for (const a of attributions) {
        if (dates !== undefined && !inDates(localDate(a.createdAt, TIME_ZONE), dates)) continue;
        for (const credit of a.results.find((r) => r.model === MODEL)?.credits ?? []) {
          if (credit.touchpointId === null) continue;
          const entry = touches.get(credit.touchpointId) ?? {
            channel: credit.channel,
            opportunities: new Set<string>(),
            amount: 0n,
          };
          entry.opportunities.add(a.opportunityId);
          entry.amount += credit.amount;
          touches.set(credit.touchpointId, entry);
        }
      }
      const top = await panelRows('Top touchpoints', range);
      expect(top).toHaveLength(Math.min(20, touches.size));
      for (const r of top) {
        const touch = touches.get(String(r['touchpoint_id']));
        expect(r).toEqual({
          touchpoint_id: r['touchpoint_id'],
          channel: touch?.channel,
          opportunities: String(touch?.opportunities.size),
          pipeline: touch === undefined ? undefined : cents(touch.amount),
        });
      }
      const largest = [...touches.values()]
        .map((t) => t.amount)
        .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
        .slice(0, 20)
        .map(cents);
      expect(top.map((r) => r['pipeline'])).toEqual(largest);
    }

    /** The day cells of `replay --by day` created on `dates` (all of them without). */
    const daysIn = (dates?: LocalDates): Cell[] =>
      byDay.cells.filter((c) => dates === undefined || inDates(c.period, dates));

    it("every SQL query of the dashboard runs on the run's schema; over all time the pipeline panels show replay's table", async () => {
      const queries = sqlQueries();
      const runs: SqlRun[] = [];
      for (const q of queries) runs.push(await runSql(q.panel, q.text, MODEL, ALL_TIME));
      expect(runs.filter((r) => r.error !== undefined).map((r) => `${r.panel}: ${r.error ?? ''}`)).toEqual(
        [],
      );
      // Every SQL panel is run above and compared by a check of this file.
      expect(
        queries.filter((q) => !CHECKED_PANELS.some((p) => q.panel.startsWith(p))).map((q) => q.panel),
      ).toEqual([]);
      expect(CHECKED_PANELS.filter((p) => !queries.some((q) => q.panel.startsWith(p)))).toEqual([]);
      const rows = (panel: string): Row[] | undefined => runs.find((r) => r.panel.startsWith(panel))?.rows;

      // The service keeps its days in the zone the replay side uses.
      const calendar = await pool.query<{ time_zone: string }>(
        `SELECT time_zone FROM ${env['PG_SCHEMA'] ?? ''}.reporting_calendar`,
      );
      expect(calendar.rows).toEqual([{ time_zone: TIME_ZONE }]);
      // The day table over all its days is the replay table, exactly: what the day panels sum.
      expect(sorted(jsonRows(channelSegmentCells(daysIn())))).toEqual(sorted(jsonRows(expected.cells)));
      await expectPipelinePanels(ALL_TIME, expected.cells);
      expect(
        new Set((await panelRows('Total pipeline per model', ALL_TIME)).map((r) => r['pipeline'])),
      ).toEqual(new Set([cents(expected.totalAmount)]));

      // Updates restated answers: the restatements panel lists them, newest first.
      const restated = rows('Latest restatements') ?? [];
      expect(restated.length).toBeGreaterThan(0);
      expect(restated.every((r) => Number(r['revision']) > 1)).toBe(true);
      const times = restated.map((r) => (r['time'] as Date).getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));

      const models = [...new Set(expected.cells.map((c) => c.model))].sort();
      expect(rows('variable $model')).toEqual(models.map((model) => ({ model })));
    });

    it('the day cells checked against are `touchline replay --by day` (and --by week, --from/--to) as the CLI prints them', async () => {
      expect(sorted(await replayJson(events, noRates, ['--by', 'day']))).toEqual(
        sorted(jsonRows(byDay.cells)),
      );
      // A week is the sum of its days (the week of each day: its Monday, labelled as ISO week).
      const weekOf = (day: string) => periodOfDate(periodStartDate(day, 'week', 1), 'week', 1);
      const weeks = totalsBy(byDay.cells, (c) =>
        keyOf(c.model, weekOf(c.period ?? ''), c.channel, c.segment),
      );
      expect(sorted(await replayJson(events, noRates, ['--by', 'week']))).toEqual(
        sorted(
          [...weeks].map(([key, t]) => {
            const [model = '', period = '', channel = '', segment = ''] = partsOf(key);
            return jsonRows([{ model, period, channel, segment, ...t }])[0] ?? {};
          }),
        ),
      );
      // SPEC's --from/--to selection is the same as summing the days in [from, to).
      expect(sorted(await replayJson(events, noRates, ['--from', NARROW.from, '--to', NARROW.to]))).toEqual(
        sorted(jsonRows(channelSegmentCells(daysIn(NARROW)))),
      );
    });

    it('over a narrower range [from, to) the pipeline panels show replay --by day summed over the days in range', async () => {
      const inRange = daysIn(NARROW);
      // The range leaves data out on both sides: a check that would pass unfiltered is no check.
      expect(byDay.cells.some((c) => (c.period ?? '') < NARROW.from)).toBe(true);
      expect(byDay.cells.some((c) => (c.period ?? '') >= NARROW.to)).toBe(true);
      expect(sum(inRange.map((c) => c.amount))).toBeLessThan(sum(byDay.cells.map((c) => c.amount)));
      await expectPipelinePanels(dateRange(NARROW.from, NARROW.to), inRange, NARROW);
    });

    it('the weekly time series is replay --by week summed over segments, per (week, channel)', async () => {
      for (const dates of [undefined, NARROW]) {
        const range = dates === undefined ? ALL_TIME : dateRange(dates.from, dates.to);
        const weeks = totalsBy(
          daysIn(dates).filter((c) => c.model === MODEL),
          (c) => keyOf(periodStartDate(c.period ?? '', 'week', 1), c.channel),
        );
        expect(weeks.size).toBeGreaterThan(10);
        const rows = await panelRows('Pipeline sourced per week by channel', range);
        // Sorted by time, as a time series query must be; each point at its Monday, 00:00 UTC.
        const times = rows.map((r) => (r['time'] as Date).getTime());
        expect(times).toEqual([...times].sort((a, b) => a - b));
        expect(sorted(rows.map((r) => ({ ...r, time: (r['time'] as Date).toISOString() })))).toEqual(
          sorted(
            [...weeks].map(([key, t]) => {
              const [monday = '', channel = ''] = partsOf(key);
              return { time: `${monday}T00:00:00.000Z`, metric: channel, pipeline: cents(t.amount) };
            }),
          ),
        );
      }
    });

    it('the campaign panel is replay --by campaign over the range, largest first; its total is the channel total', async () => {
      for (const dates of [undefined, NARROW]) {
        const range = dates === undefined ? ALL_TIME : dateRange(dates.from, dates.to);
        const cells = byDayCampaign.cells.filter(
          (c) => c.model === MODEL && (dates === undefined || inDates(c.period, dates)),
        );
        const campaigns = totalsBy(cells, (c) => keyOf(c.campaign ?? '(no campaign)', c.channel));
        const rows = await panelRows('Pipeline by campaign', range);
        expect(sorted(rows.map((r) => ({ ...r, opportunities: Number(r['opportunities']) })))).toEqual(
          sorted(
            [...campaigns].map(([key, t]) => {
              const [campaign, channel] = partsOf(key);
              return { campaign, channel, opportunities: t.opportunities, pipeline: cents(t.amount) };
            }),
          ),
        );
        expect(rows.some((r) => r['campaign'] === '(no campaign)')).toBe(true);
        expect(new Set(rows.map((r) => r['campaign'])).size).toBeGreaterThan(3);
        const pipelines = rows.map((r) => Number(r['pipeline']));
        expect(pipelines).toEqual([...pipelines].sort((a, b) => b - a));

        // Exactly, campaigns add up to the channels (a credit has one campaign or none) ...
        const channels = totalsBy(
          daysIn(dates).filter((c) => c.model === MODEL),
          (c) => c.channel,
        );
        const campaignChannels = totalsBy(cells, (c) => c.channel);
        const amounts = (totals: Map<string, Total>) =>
          Object.fromEntries([...totals].map(([channel, t]) => [channel, t.amount]));
        expect(amounts(campaignChannels)).toEqual(amounts(channels));
        // ... and the panel's rows, each rounded to the cent, to the channel panel's total within
        // half a cent per rounding.
        const channelPanel = await panelRows('Live pipeline by channel', range);
        const centsOf = (rs: Row[]) => rs.reduce((n, r) => n + Math.round(Number(r['pipeline']) * 100), 0);
        expect(2 * Math.abs(centsOf(rows) - centsOf(channelPanel))).toBeLessThanOrEqual(
          rows.length + channelPanel.length,
        );
      }
    });
  },
);
