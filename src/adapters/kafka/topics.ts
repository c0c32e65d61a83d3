/** Topic names: configurable, with the SPEC's names as defaults. */
export interface TopicNames {
  readonly touchpoints: string;
  readonly contacts: string;
  readonly opportunities: string;
  readonly pipeline: string;
  readonly dlq: string;
}

export const DEFAULT_TOPICS: TopicNames = {
  touchpoints: 'marketing.touchpoints.v1',
  contacts: 'crm.contacts.v1',
  opportunities: 'crm.opportunities.v1',
  pipeline: 'attribution.pipeline.v1',
  dlq: 'attribution.dlq.v1',
};

/** Which schema files describe each topic's keys and values (avro/*.avsc). */
export const TOPIC_SCHEMAS: Record<Exclude<keyof TopicNames, 'dlq'>, { key: string; value: string }> = {
  touchpoints: { key: 'touchpoint-key', value: 'touchpoint' },
  contacts: { key: 'contact-key', value: 'contact' },
  opportunities: { key: 'opportunity-key', value: 'opportunity' },
  pipeline: { key: 'attributed-pipeline-key', value: 'attributed-pipeline' },
};

/** Per-topic settings: entity topics are compacted (latest per key is the truth). */
export function topicConfigs(topics: TopicNames): { topic: string; compacted: boolean }[] {
  return [
    { topic: topics.touchpoints, compacted: false },
    { topic: topics.contacts, compacted: true },
    { topic: topics.opportunities, compacted: true },
    { topic: topics.pipeline, compacted: true },
    { topic: topics.dlq, compacted: false },
  ];
}
