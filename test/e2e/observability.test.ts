/**
 * The dashboard and the alert rules against a real run: the service started in-process on the
 * real Kafka, Schema Registry, Redis and Postgres, fed generated data with dirty rows and
 * updates, scraped by a real Prometheus (the scrape job of deploy/prometheus/prometheus.yml,
 * deploy/prometheus/alerts.yml loaded as rule file). Every PromQL expression of the dashboard and
 * the alerts runs without error, the dashboard's ones return series, every rule evaluates with
 * health "ok"; every SQL query of the dashboard runs on the run's Postgres schema and the pipeline
 * panels show what `touchline replay` computes from the same files, rounded to cents half to even.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { replay, type ReplayResult } from '../../src/app/replay.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { buildSettings, buildVocabularies } from '../../src/cli/settings.js';
import type { OpportunityAttribution } from '../../src/domain/attribute.js';
import { formatNanos, type Nanos } from '../../src/domain/money.js';
import { startService, type RunningService } from '../../src/service.js';
import { dashboardQueries, expandQuery, loadDashboard } from '../deploy/support/dashboard.js';
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

/** Adds nanos to a map entry. */
function add<K>(map: Map<K, Nanos>, key: K, amount: Nanos): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

describe.skipIf(!hasPrometheus)(
  'observability end to end: dashboard and alert queries on a real run',
  { timeout: 180_000 },
  () => {
    const env = isolatedEnv('obs');
    const pool = new pg.Pool({ connectionString: SERVICES.DATABASE_URL, max: 2 });
    let service: RunningService | undefined;
    let prometheus: RunningPrometheus | undefined;
    let expected: ReplayResult;
    const attributions: OpportunityAttribution[] = [];

    beforeAll(async () => {
      const dir = tempDir('touchline-obs-');
      const generateArgs = ['--out', dir, '--contacts', '300', '--opportunities', '150', '--touches', '3000'];
      const dataArgs = ['--seed', '41', '--dirty-rate', '0.05', '--update-rate', '0.2'];
      expect(await runGenerate([...generateArgs, ...dataArgs], captureIo())).toBe(0);
      const events = join(dir, 'events');
      expected = replay(openDataset(events).records, {
        settings: buildSettings({}),
        vocab: buildVocabularies(),
        onAttribution: (a) => void attributions.push(a),
      });

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

      // The throughput panel: one series per topic and outcome, accepted records on all three topics.
      const throughput = results.find(({ q }) => q.source.startsWith('dashboard: Throughput'));
      expect(throughput?.answer.data?.resultType).toBe('vector');
      const outcomes = (throughput?.answer.data?.result ?? []) as { metric: Record<string, string> }[];
      expect(
        new Set(outcomes.filter((s) => s.metric['outcome'] === 'accepted').map((s) => s.metric['topic'])),
      ).toEqual(new Set([env['TOPIC_TOUCHPOINTS'], env['TOPIC_CONTACTS'], env['TOPIC_OPPORTUNITIES']]));
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

    it("every SQL query of the dashboard runs on the run's schema; the pipeline panels show replay's numbers", async () => {
      const schema = env['PG_SCHEMA'] ?? '';
      const run = async (panel: string, text: string, model: string): Promise<SqlRun> => {
        const sql = expandQuery({ panel, language: 'sql', text }, { schema, model });
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
      const sqlQueries = dashboardQueries(loadDashboard()).filter((q) => q.language === 'sql');
      const runs: SqlRun[] = [];
      for (const q of sqlQueries) runs.push(await run(q.panel, q.text, MODEL));
      expect(runs.filter((r) => r.error !== undefined).map((r) => `${r.panel}: ${r.error ?? ''}`)).toEqual(
        [],
      );
      const rows = (panel: string): Row[] | undefined => runs.find((r) => r.panel.startsWith(panel))?.rows;
      const textOf = (panel: string): string => {
        const found = sqlQueries.find((q) => q.panel.startsWith(panel));
        if (found === undefined) throw new Error(`the dashboard has no panel "${panel}"`);
        return found.text;
      };

      const models = [...new Set(expected.cells.map((c) => c.model))].sort();
      expect(models).toContain(MODEL);
      const cellRows = (model: string): Row[] =>
        expected.cells
          .filter((c) => c.model === model)
          .map((c) => ({ channel: c.channel, sales_segment: c.segment, pipeline: cents(c.amount) }));

      // Channel x sales segment: replay's table, cents half to even — under $model, and under every model.
      expect(expected.cells.filter((c) => c.model === MODEL).length).toBeGreaterThan(5);
      expect(sorted(rows('Live pipeline by channel'))).toEqual(sorted(cellRows(MODEL)));
      for (const model of models) {
        const other = await run(
          `Live pipeline by channel (${model})`,
          textOf('Live pipeline by channel'),
          model,
        );
        expect(sorted(other.rows), model).toEqual(sorted(cellRows(model)));
      }

      expect(
        sorted(
          rows('Opportunities sourced')?.map((r) => ({
            ...r,
            opportunity_count: Number(r['opportunity_count']),
          })),
        ),
      ).toEqual(
        sorted(
          expected.cells
            .filter((c) => c.model === MODEL)
            .map((c) => ({
              channel: c.channel,
              sales_segment: c.segment,
              opportunity_count: c.opportunities,
            })),
        ),
      );

      const byChannelModel = new Map<string, Nanos>();
      for (const c of expected.cells) add(byChannelModel, JSON.stringify([c.channel, c.model]), c.amount);
      expect(sorted(rows('Model comparison'))).toEqual(
        sorted(
          [...byChannelModel].map(([key, amount]) => {
            const [channel, model] = JSON.parse(key) as [string, string];
            return { channel, model, pipeline: cents(amount) };
          }),
        ),
      );

      // Every model distributes the same total; replay's total, rounded.
      expect(rows('Total pipeline per model')?.map((r) => [r['model'], r['pipeline']])).toEqual(
        models.map((m) => [m, cents(sum(expected.cells.filter((c) => c.model === m).map((c) => c.amount)))]),
      );
      expect(new Set(rows('Total pipeline per model')?.map((r) => r['pipeline']))).toEqual(
        new Set([cents(expected.totalAmount)]),
      );
      for (const r of rows('Total pipeline per model') ?? []) {
        const cells = expected.cells.filter((c) => c.model === r['model']);
        const unattributed = sum(cells.filter((c) => c.channel === 'Unattributed').map((c) => c.amount));
        expect(r['unattributed_share']).toBeCloseTo(
          Number(unattributed) / Number(sum(cells.map((c) => c.amount))),
          9,
        );
      }

      // Top touchpoints: each row is the touchpoint's credit under $model; the 20 largest amounts.
      const touches = new Map<string, { channel: string; opportunities: Set<string>; amount: Nanos }>();
      for (const a of attributions)
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
      const top = rows('Top touchpoints') ?? [];
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

      // Updates restated answers: the restatements panel lists them, newest first.
      const restated = rows('Latest restatements') ?? [];
      expect(restated.length).toBeGreaterThan(0);
      expect(restated.every((r) => Number(r['revision']) > 1)).toBe(true);
      const times = restated.map((r) => (r['time'] as Date).getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));

      expect(rows('variable $model')).toEqual(models.map((model) => ({ model })));
    });
  },
);
