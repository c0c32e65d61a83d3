import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the service exports. Labels are bounded sets (topic, outcome, reason, model,
 * store, operation): never ids, never secrets.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metric = { registers: [registry] };
  return {
    registry,
    eventsIn: new Counter({
      ...metric,
      name: 'touchline_events_total',
      help: 'Input records by topic and outcome (accepted, duplicate, superseded, conflict, rejected).',
      labelNames: ['topic', 'outcome'] as const,
    }),
    dlq: new Counter({
      ...metric,
      name: 'touchline_dlq_records_total',
      help: 'Records sent to the dead-letter topic, by source topic and reason.',
      labelNames: ['topic', 'reason'] as const,
    }),
    revisions: new Counter({
      ...metric,
      name: 'touchline_revisions_total',
      help: 'Attribution revisions written and published, by model and reason.',
      labelNames: ['model', 'reason'] as const,
    }),
    restatements: new Counter({
      ...metric,
      name: 'touchline_restatements_total',
      help: 'Revisions that changed an answer already published (revision > 1), by model.',
      labelNames: ['model'] as const,
    }),
    latency: new Histogram({
      ...metric,
      name: 'touchline_attribution_latency_seconds',
      help: 'From an input record entering Kafka (its timestamp) to its effect committed in Postgres.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    lag: new Gauge({
      ...metric,
      name: 'touchline_consumer_lag',
      help: 'Messages behind the partition high watermark, as of the last batch.',
      labelNames: ['topic', 'partition'] as const,
    }),
    pending: new Gauge({
      ...metric,
      name: 'touchline_pending_opportunities',
      help: "Opportunities waiting in an input partition's pending set for re-attribution, as of its last drain.",
      labelNames: ['topic', 'partition'] as const,
    }),
    notices: new Counter({
      ...metric,
      name: 'touchline_notices_total',
      help: 'Accepted records a reader must know about: unmapped_channel (a touch no channel rule placed, credited to Unassigned).',
      labelNames: ['notice'] as const,
    }),
    pendingFx: new Gauge({
      ...metric,
      name: 'touchline_pending_fx_opportunities',
      help: 'Opportunities in a foreign currency waiting for a usable FX rate (pending_fx: counted, not credited), as of the last drain.',
    }),
    stateRebuilding: new Gauge({
      ...metric,
      name: 'touchline_state_rebuilding',
      help: '1 while this instance does not attribute because the Redis state was lost and is being rebuilt from Kafka (by it or another instance), else 0.',
    }),
    stateRebuilds: new Counter({
      ...metric,
      name: 'touchline_state_rebuilds_total',
      help: 'State rebuilds this instance ran to the end (after finding its Redis state lost); a generation another instance or `touchline rebuild-state` built is adopted, not counted.',
    }),
    outage: new Gauge({
      ...metric,
      name: 'touchline_outage',
      help: '1 while an activity is failing and retried with back-off: consume (Redis, the registry), drain (Postgres, publishing to the output topic); else 0.',
      labelNames: ['activity'] as const,
    }),
    stateLost: new Counter({
      ...metric,
      name: 'touchline_state_lost_total',
      help: 'Times this instance, while running, found that Redis no longer holds the state generation it was using (a loss found at start shows as a rebuild).',
    }),
    attributionFailures: new Counter({
      ...metric,
      name: 'touchline_attribution_failures_total',
      help: 'Opportunities whose answer could not be computed or stored for a reason a retry cannot fix (logged with the id).',
    }),
    storeLatency: new Histogram({
      ...metric,
      name: 'touchline_store_latency_seconds',
      help: 'Latency of state (Redis) and answer (Postgres) operations.',
      labelNames: ['store', 'operation'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    unattributedShare: new Gauge({
      ...metric,
      name: 'touchline_unattributed_share',
      help: 'Share of pipeline amount credited to Unattributed, per model (0..1), from Postgres totals.',
      labelNames: ['model'] as const,
    }),
    watermark: new Gauge({
      ...metric,
      name: 'touchline_event_time_watermark_seconds',
      help: 'Event-time watermark (Unix seconds): the latest event time seen.',
    }),
    batchSize: new Histogram({
      ...metric,
      name: 'touchline_batch_records',
      help: 'Records per processed Kafka batch.',
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Creates every known series at 0. A series born at its first increment is first scraped at
 * its final value, so rate() and increase() miss a burst handled between two scrapes (and a
 * no-events alert could fire during one); found by the observability end-to-end test.
 */
export function initialiseSeries(
  metrics: Metrics,
  known: {
    topics: readonly string[];
    outcomes: readonly string[];
    reasons: readonly string[];
    models: readonly string[];
  },
): void {
  for (const topic of known.topics) {
    for (const outcome of known.outcomes) metrics.eventsIn.inc({ topic, outcome }, 0);
    for (const reason of known.reasons) metrics.dlq.inc({ topic, reason }, 0);
  }
  for (const model of known.models) metrics.restatements.inc({ model }, 0);
  metrics.notices.inc({ notice: 'unmapped_channel' }, 0);
  metrics.pendingFx.set(0);
}

/** Times an async operation into the store latency histogram. */
export async function timed<T>(
  metrics: Metrics,
  store: string,
  operation: string,
  run: () => Promise<T>,
): Promise<T> {
  const stop = metrics.storeLatency.startTimer({ store, operation });
  try {
    return await run();
  } finally {
    stop();
  }
}
