// The PromQL of the dashboard and the alert rules, executed by a real Prometheus that scrapes the
// service's real metric registry (src/metrics.ts) with sample values; and promtool's checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type Metrics } from '../../../src/metrics.js';
import { dashboardQueries, expandQuery, loadDashboard } from './dashboard.js';
import { PATHS, findTool, readYaml, rel, runTool, type Doc } from './files.js';

export interface PromQuery {
  readonly source: string;
  readonly expr: string;
  /** Dashboard queries must return series against the sample metrics; alert expressions may be empty. */
  readonly mustReturnData: boolean;
}

export function alertRules(path: string = PATHS.alerts): { alert: string; expr: string }[] {
  const [doc] = readYaml(path);
  const groups = (doc?.['groups'] ?? []) as { rules: { alert?: string; record?: string; expr: string }[] }[];
  return groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert ?? r.record ?? '?', expr: r.expr })));
}

export function allPromQueries(): PromQuery[] {
  const dashboard = dashboardQueries(loadDashboard())
    .filter((q) => q.language === 'promql')
    .map((q) => ({
      source: `dashboard: ${q.panel}`,
      expr: expandQuery(q, { schema: 'touchline', model: 'linear' }),
      mustReturnData: true,
    }));
  const alerts = alertRules().map((r) => ({
    source: `alert ${r.alert}`,
    expr: r.expr,
    mustReturnData: false,
  }));
  return [...dashboard, ...alerts];
}

/**
 * The scrape job of deploy/prometheus/prometheus.yml that scrapes the Touchline instances (the one
 * whose targets name touchline hosts), pointed at other targets: same job name, path and labels as
 * the dashboard and the alert rules see in the Compose stack.
 */
export function deployedScrapeJob(targets: readonly string[], path: string = PATHS.prometheusConfig): Doc {
  const [doc] = readYaml(path);
  const jobs = (doc?.['scrape_configs'] ?? []) as Doc[];
  const job = jobs.find((j) =>
    ((j['static_configs'] ?? []) as { targets?: string[] }[]).some((c) =>
      (c.targets ?? []).some((t) => t.startsWith('touchline')),
    ),
  );
  if (job === undefined) throw new Error(`${rel(path)}: no scrape job with touchline targets`);
  return { ...job, static_configs: [{ targets: [...targets] }] };
}

/**
 * Names of metrics a PromQL expression refers to that the service does not export: catches
 * typos that Prometheus itself would accept (a wrong name is just an empty result).
 */
export async function unknownMetricNames(expr: string): Promise<string[]> {
  const exported = new Set<string>(['up']);
  for (const metric of await createMetrics().registry.getMetricsAsJSON()) {
    exported.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
  }
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}');
  const names = withoutStrings.match(/\b(?:touchline|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [...new Set(names)].filter((name) => !exported.has(name));
}

/** Sample values: each scrape moves every counter and histogram, so rate() and quantiles have data. */
function feed(metrics: Metrics, tick: number): void {
  for (const topic of ['marketing.touchpoints.v1', 'crm.contacts.v1', 'crm.opportunities.v1']) {
    metrics.eventsIn.inc({ topic, outcome: 'accepted' }, 100 + tick);
    metrics.eventsIn.inc({ topic, outcome: 'rejected' }, 1);
    metrics.dlq.inc({ topic, reason: 'unknown_contact' }, 1);
    metrics.lag.set({ topic, partition: '0' }, 1000 + tick * 10);
  }
  for (const model of ['first_touch', 'linear']) {
    metrics.revisions.inc({ model, reason: 'created' }, 5);
    metrics.restatements.inc({ model }, 1);
    metrics.unattributedShare.set({ model }, 0.25);
  }
  for (const seconds of [0.05, 0.2, 1.5]) metrics.latency.observe(seconds);
  metrics.storeLatency.observe({ store: 'redis', operation: 'load' }, 0.002);
  metrics.storeLatency.observe({ store: 'postgres', operation: 'commit' }, 0.01);
  metrics.batchSize.observe(50 + tick);
  metrics.watermark.set(1_735_689_600 + tick);
}

async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenLocal(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface PromAnswer {
  readonly status: string;
  readonly data?: { resultType?: string; result: unknown[] };
  readonly error?: string;
}

export interface PrometheusOptions {
  /** Entries of `scrape_configs`, as in a prometheus.yml. */
  readonly scrapeConfigs: readonly Doc[];
  /** Absolute paths of rule files to load (`rule_files`). */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule evaluation interval (default 1s). */
  readonly interval?: string;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** An instant query through /api/v1/query. */
  readonly query: (expr: string) => Promise<PromAnswer>;
  /** GET of an API path (e.g. /api/v1/rules), parsed as JSON. */
  readonly get: <T>(path: string) => Promise<T>;
  /** Undefined while it runs; once it has exited, why (with the end of its stderr). */
  readonly exited: () => string | undefined;
  /** SIGTERM, waits for the exit (SIGKILL after 10 s), removes its data directory. Safe to call twice. */
  readonly stop: () => Promise<void>;
}

/**
 * Starts a throwaway `prometheus` on a free port of 127.0.0.1 with a temporary data directory,
 * and waits until it answers /-/ready.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = findTool('prometheus');
  if (binary === undefined) throw new Error('prometheus is not installed');
  const interval = options.interval ?? '1s';
  const webPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'touchline-prometheus-'));
  // JSON is YAML: the config is written without a YAML serialiser.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    ...(options.ruleFiles === undefined ? {} : { rule_files: options.ruleFiles }),
    scrape_configs: options.scrapeConfigs,
  };
  writeFileSync(join(dir, 'prometheus.yml'), `${JSON.stringify(config, null, 2)}\n`);
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let failed: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.on('error', (error) => (failed = error.message));
  const url = `http://127.0.0.1:${webPort}`;
  const exited = (): string | undefined =>
    failed !== undefined || child.exitCode !== null || child.signalCode !== null
      ? `prometheus exited (${failed ?? child.exitCode ?? child.signalCode}): ${stderr}`
      : undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && failed === undefined) {
        const exit = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const gone = exited();
      if (gone !== undefined) throw new Error(gone);
      const ready = await fetch(`${url}/-/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready in 30 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    query: (expr) => get<PromAnswer>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    get,
    exited,
    stop,
  };
}

export interface PromResult {
  readonly query: PromQuery;
  readonly status: string;
  readonly series: number;
  readonly error?: string;
  readonly unknownMetrics: string[];
}

/**
 * Starts `prometheus` on 127.0.0.1 scraping a metrics endpoint made of src/metrics.ts, waits until
 * rate() has samples, then runs every query through /api/v1/query. Stops it, whatever happens.
 */
export async function runPromQueries(
  queries: readonly PromQuery[],
  log: (line: string) => void = () => undefined,
): Promise<PromResult[]> {
  const binary = findTool('prometheus');
  if (binary === undefined) throw new Error('prometheus is not installed');
  const metrics = createMetrics();
  let ticks = 0;
  const target = createServer((_request, response) => {
    feed(metrics, (ticks += 1));
    void metrics.registry
      .metrics()
      .then((text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
  });
  const targetPort = await listenLocal(target);
  let prometheus: RunningPrometheus | undefined;
  try {
    prometheus = await startPrometheus({
      scrapeConfigs: [{ job_name: 'touchline', static_configs: [{ targets: [`127.0.0.1:${targetPort}`] }] }],
    });
    const { query } = prometheus;
    // Ready once a 1m rate over the scraped counter has two samples.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const gone = prometheus.exited();
      if (gone !== undefined) throw new Error(gone);
      const probe = await query('sum(rate(touchline_events_total[1m]))').catch(() => undefined);
      if (probe?.status === 'success' && (probe.data?.result.length ?? 0) > 0 && ticks >= 4) break;
      if (Date.now() > deadline) throw new Error('prometheus did not scrape in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    log(
      `prometheus ${binary} on ${prometheus.url.replace('http://', '')} scraped the service's registry ${ticks} times`,
    );
    const results: PromResult[] = [];
    for (const q of queries) {
      const answer = await query(q.expr);
      results.push({
        query: q,
        status: answer.status,
        series: answer.data?.result.length ?? 0,
        ...(answer.error === undefined ? {} : { error: answer.error }),
        unknownMetrics: await unknownMetricNames(q.expr),
      });
    }
    return results;
  } finally {
    await prometheus?.stop();
    await new Promise((resolve) => target.close(resolve));
  }
}

/** promtool's checks: config (with the rule files it names), rules, and the rules' unit tests. */
export function promtoolChecks(): { what: string; ok: boolean; output: string }[] {
  return [
    ['check', 'config', PATHS.prometheusConfig],
    ['check', 'rules', PATHS.alerts],
    ['test', 'rules', PATHS.alertTests],
  ].map((args) => {
    const run = runTool('promtool', args);
    return {
      what: `promtool ${args.slice(0, 2).join(' ')} ${rel(args[2] ?? '')}`,
      ok: run.ok,
      output: run.output.trim(),
    };
  });
}
