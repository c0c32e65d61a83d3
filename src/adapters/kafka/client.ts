import type { ConnectionOptions } from 'node:tls';
import kafkajs, { Kafka, logLevel, type Admin, type LogEntry, type SASLOptions } from 'kafkajs';
import { AppError } from '../../errors.js';
import { topicConfigs, type TopicNames } from './topics.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/** A kafkajs client whose log lines go through the service's logger. */
export function createKafka(options: {
  brokers: readonly string[];
  clientId: string;
  log: Log;
  ssl?: ConnectionOptions | boolean;
  sasl?: SASLOptions;
}): Kafka {
  const levels: Record<number, 'debug' | 'info' | 'warn' | 'error'> = {
    [logLevel.ERROR]: 'error',
    [logLevel.WARN]: 'warn',
    [logLevel.INFO]: 'info',
    [logLevel.DEBUG]: 'debug',
  };
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
    retry: { initialRetryTime: 200, retries: 8 },
    logCreator:
      () =>
      ({ level, label, log }: LogEntry) =>
        options.log(levels[level] ?? 'info', `kafka ${label}: ${log.message}`),
  });
}

/**
 * Creates the topics that do not exist yet. On KRaft, subscribing to a missing topic fails, so
 * the service and the producer both call this first. Entity topics are compacted; the touch
 * topic keeps `touchRetentionMs` (see topicConfigs).
 */
export async function ensureTopics(
  admin: Admin,
  topics: TopicNames,
  partitions: number,
  replicationFactor: number,
  touchRetentionMs?: number,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topicConfigs(topics, touchRetentionMs).filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map(({ topic, compacted, retentionMs }) => ({
      topic,
      numPartitions: partitions,
      replicationFactor,
      configEntries: [
        ...(compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
        ...(retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(retentionMs) }]),
      ],
    })),
  });
  return missing.map((t) => t.topic);
}

/**
 * Refuses input topics a state rebuild could not rebuild from: the touch topic must keep records
 * at least `neededMs` (window + allowed lateness; -1 is for ever), and the entity topics must be
 * compacted or kept for ever, since every contact and opportunity is read back from them.
 */
export async function checkInputRetention(
  admin: Admin,
  topics: Pick<TopicNames, 'touchpoints' | 'contacts' | 'opportunities'>,
  neededMs: number,
): Promise<void> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [topics.touchpoints, topics.contacts, topics.opportunities].map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: ['retention.ms', 'cleanup.policy'],
    })),
  });
  const setting = (topic: string, name: string): string | undefined =>
    described.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)?.configValue;
  const problems: string[] = [];
  const retention = Number(setting(topics.touchpoints, 'retention.ms') ?? '-1');
  if (retention >= 0 && retention < neededMs) {
    problems.push(
      `topic ${topics.touchpoints} keeps records ${formatDays(retention)} (retention.ms=${retention}), shorter than WINDOW_DAYS + ALLOWED_LATENESS_DAYS = ${formatDays(neededMs)}: a state rebuild would lose touches; raise its retention.ms to at least ${neededMs}`,
    );
  }
  for (const topic of [topics.contacts, topics.opportunities]) {
    const policy = setting(topic, 'cleanup.policy') ?? 'delete';
    const kept = Number(setting(topic, 'retention.ms') ?? '-1');
    if (!policy.split(',').includes('compact') && kept >= 0)
      problems.push(`topic ${topic} is neither compacted nor kept for ever (cleanup.policy=${policy}, retention.ms=${kept}): a state rebuild would lose its records; set cleanup.policy=compact`);
  }
  if (problems.length > 0) throw new AppError('CONFIG_INVALID', problems.join('; '));
}

const formatDays = (ms: number): string => `${Math.round((ms / 86_400_000) * 10) / 10} days`;
