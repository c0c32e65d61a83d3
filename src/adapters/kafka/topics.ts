/** Topic names: configurable, with the SPEC's names as defaults. */
export interface TopicNames {
  readonly touchpoints: string;
  readonly contacts: string;
  readonly opportunities: string;
  readonly pipeline: string;
  readonly dlq: string;
  /** Dated FX rates into the reporting currency (compacted; SPEC "Currency"). */
  readonly fxRates: string;
}

export const DEFAULT_TOPICS: TopicNames = {
  touchpoints: 'marketing.touchpoints.v1',
  contacts: 'crm.contacts.v1',
  opportunities: 'crm.opportunities.v1',
  pipeline: 'attribution.pipeline.v1',
  dlq: 'attribution.dlq.v1',
  fxRates: 'fx.rates.v1',
};

/** Topic names from the same environment variables the service reads (TOPIC_*). */
export function topicsFromEnv(env: Readonly<Record<string, string | undefined>>): TopicNames {
  const pick = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  };
  return {
    touchpoints: pick('TOPIC_TOUCHPOINTS', DEFAULT_TOPICS.touchpoints),
    contacts: pick('TOPIC_CONTACTS', DEFAULT_TOPICS.contacts),
    opportunities: pick('TOPIC_OPPORTUNITIES', DEFAULT_TOPICS.opportunities),
    pipeline: pick('TOPIC_PIPELINE', DEFAULT_TOPICS.pipeline),
    dlq: pick('TOPIC_DLQ', DEFAULT_TOPICS.dlq),
    fxRates: pick('TOPIC_FX_RATES', DEFAULT_TOPICS.fxRates),
  };
}

/** Which schema files describe each topic's keys and values (avro/*.avsc). */
export const TOPIC_SCHEMAS: Record<Exclude<keyof TopicNames, 'dlq'>, { key: string; value: string }> = {
  touchpoints: { key: 'touchpoint-key', value: 'touchpoint' },
  contacts: { key: 'contact-key', value: 'contact' },
  opportunities: { key: 'opportunity-key', value: 'opportunity' },
  pipeline: { key: 'attributed-pipeline-key', value: 'attributed-pipeline' },
  fxRates: { key: 'fx-rate-key', value: 'fx-rate' },
};

const DAY_MS = 86_400_000;

/**
 * How long the touch topic keeps records when Touchline creates it: the default window (90
 * days) and allowed lateness (30 days) plus a week of slack. A state rebuild re-reads the touches
 * still within window + lateness, so the topic must keep at least that (the service checks at start).
 */
export const DEFAULT_TOUCH_RETENTION_MS = (90 + 30 + 7) * DAY_MS;

/**
 * Per-topic settings: entity topics are compacted (latest per key is the truth, kept for
 * ever); the touch topic keeps `touchRetentionMs`.
 */
export function topicConfigs(
  topics: TopicNames,
  touchRetentionMs: number = DEFAULT_TOUCH_RETENTION_MS,
): { topic: string; compacted: boolean; retentionMs?: number }[] {
  return [
    { topic: topics.touchpoints, compacted: false, retentionMs: touchRetentionMs },
    { topic: topics.contacts, compacted: true },
    { topic: topics.opportunities, compacted: true },
    { topic: topics.pipeline, compacted: true },
    { topic: topics.dlq, compacted: false },
    { topic: topics.fxRates, compacted: true },
  ];
}
