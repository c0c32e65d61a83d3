import type { ConnectionOptions } from 'node:tls';
import kafkajs, { Kafka, logLevel, type Admin, type LogEntry, type SASLOptions } from 'kafkajs';
import { AppError } from '../../errors.js';
import { topicConfigs, type TopicNames } from './topics.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/**
 * Conditions a client meets while a broker or the group coordinator starts, moves or fails over:
 * kafkajs retries them, so they are not trouble unless they last (lag and /readyz tell that).
 */
const TRANSIENT =
  /coordinator is loading|coordinator is not available|not the correct coordinator|no leader for this topic-partition|leader is not available|does not host this topic-partition|not the leader|group is rebalancing|rebalance in progress|ECONNREFUSED|Connection error|Closed connection|Connection timeout|Request Timeout|broker not connected|The replica is not available|another concurrent operation on the same transaction/i;
/** A transient line is logged once (at info) per this span; its repeats go to debug. */
const TRANSIENT_QUIET_MS = 60_000;

/**
 * Producer retries for exactly-once publishing: an idempotent producer must not give up on a
 * batch and have it sent again under a new sequence number (kafkajs warns "Limiting retries for
 * the idempotent producer may invalidate EoS guarantees" otherwise), so retriable errors are
 * retried for as long as they last, at most 5 s apart.
 */
export const EXACTLY_ONCE_RETRY = {
  retries: Number.MAX_SAFE_INTEGER,
  initialRetryTime: 200,
  maxRetryTime: 5_000,
} as const;

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
    logCreator: () => {
      const lastSaid = new Map<string, number>();
      return ({ level, label, log }: LogEntry) => {
        // kafkajs puts the broker's error beside the message ("Response InitProducerId(…)").
        const error = typeof log['error'] === 'string' ? `: ${log['error']}` : '';
        const line = `kafka ${label}: ${log.message}${error}`;
        const at = levels[level] ?? 'info';
        if ((at === 'error' || at === 'warn') && TRANSIENT.test(line)) {
          const now = Date.now();
          const quiet = now - (lastSaid.get(line) ?? -Infinity) < TRANSIENT_QUIET_MS;
          if (!quiet) lastSaid.set(line, now);
          options.log(quiet ? 'debug' : 'info', `${line} (transient: retried)`);
          return;
        }
        options.log(at, line);
      };
    },
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
    described.resources
      .find((r) => r.resourceName === topic)
      ?.configEntries.find((e) => e.configName === name)?.configValue;
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
    // "compact,delete" also deletes what is older than retention.ms, latest values included.
    const policies = policy.split(',').map((p) => p.trim());
    const keepsEveryKey = policies.includes('compact') && !policies.includes('delete');
    if (!keepsEveryKey && kept >= 0)
      problems.push(
        `topic ${topic} is neither compacted only nor kept for ever (cleanup.policy=${policy}, retention.ms=${kept}): a state rebuild would lose its records; set cleanup.policy=compact`,
      );
  }
  if (problems.length > 0) throw new AppError('CONFIG_INVALID', problems.join('; '));
}

const formatDays = (ms: number): string => `${Math.round((ms / 86_400_000) * 10) / 10} days`;
