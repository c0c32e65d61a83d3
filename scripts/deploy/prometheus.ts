// The PromQL of the dashboard and the alert rules, executed by a real Prometheus that scrapes the
// service's real metric registry (src/metrics.ts) with sample values; and promtool's checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { dashboardQueries, expandQuery, loadDashboard } from './dashboard.js';
import { PATHS, findTool, readYaml, rel, runTool } from './files.js';

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

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenLocal(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
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
  const webPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'touchline-prometheus-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: touchline\n    static_configs: [{ targets: ["127.0.0.1:${targetPort}"] }]\n`,
  );
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const api = `http://127.0.0.1:${webPort}/api/v1/query`;
    const query = async (
      expr: string,
    ): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> => {
      const response = await fetch(`${api}?query=${encodeURIComponent(expr)}`);
      return (await response.json()) as { status: string; data?: { result: unknown[] }; error?: string };
    };
    // Ready once a 1m rate over the scraped counter has two samples.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const probe = await query('sum(rate(touchline_events_total[1m]))').catch(() => undefined);
      if (probe?.status === 'success' && (probe.data?.result.length ?? 0) > 0 && ticks >= 4) break;
      if (Date.now() > deadline) throw new Error(`prometheus did not scrape in 60 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    log(`prometheus ${binary} on 127.0.0.1:${webPort} scraped the service's registry ${ticks} times`);
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
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await new Promise((resolve) => target.close(resolve));
    rmSync(dir, { recursive: true, force: true });
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
