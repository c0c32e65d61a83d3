import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type Admin, type LogEntry, type SASLOptions } from 'kafkajs';
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
 * the service and the producer both call this first. Entity topics are compacted.
 */
export async function ensureTopics(admin: Admin, topics: TopicNames, partitions: number, replicationFactor: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topicConfigs(topics).filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map(({ topic, compacted }) => ({
      topic,
      numPartitions: partitions,
      replicationFactor,
      configEntries: compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
    })),
  });
  return missing.map((t) => t.topic);
}
