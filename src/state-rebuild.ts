/**
 * Wiring of a state rebuild: Kafka's inputs read back through the same decode → validate →
 * ingest path as live consumption, into a new Redis state generation (app/state-recovery.ts
 * decides when). Used by the service when it finds its state lost and by `touchline
 * rebuild-state`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { AvroCodec } from './adapters/kafka/avro-codec.js';
import { createAvroCodec, createSchemaRegistry } from './adapters/kafka/avro-codec.js';
import { createBatchHandler } from './adapters/kafka/batch-handler.js';
import { checkInputRetention, createKafka, type Log } from './adapters/kafka/client.js';
import { readBack } from './adapters/kafka/read-back.js';
import type { TopicNames } from './adapters/kafka/topics.js';
import { closeRedis, connectRedis } from './adapters/redis/connect.js';
import { createRedisStateStore } from './adapters/redis/redis-state-store.js';
import { createRedisStateGenerations } from './adapters/redis/state-generations.js';
import { ingestEvents, pendingSetOf, type IngestDeps } from './app/ingest-events.js';
import type { StateStore } from './app/ports.js';
import { markAllForRestatement } from './app/restate.js';
import { rebuildNow, type OpenedState, type RecoveryDeps } from './app/state-recovery.js';
import { buildSettings, buildVocabularies, loadRules } from './cli/settings.js';
import type { Config } from './config.js';
import { MS_PER_DAY } from './domain/time.js';
import { AppError, during } from './errors.js';
import { createMetrics } from './metrics.js';
import { kafkaSecurity, redisTls, registryAuth } from './security.js';

/** A rebuilding generation whose owner has not heartbeaten for this long is taken over. */
export const REBUILD_STALE_AFTER_MS = 30_000;

export const topicNamesOf = (config: Config): TopicNames => ({
  touchpoints: config.TOPIC_TOUCHPOINTS,
  contacts: config.TOPIC_CONTACTS,
  opportunities: config.TOPIC_OPPORTUNITIES,
  pipeline: config.TOPIC_PIPELINE,
  dlq: config.TOPIC_DLQ,
  fxRates: config.TOPIC_FX_RATES,
});

export const inputTopicsOf = (topics: TopicNames): string[] => [
  topics.touchpoints,
  topics.contacts,
  topics.opportunities,
];

/**
 * What the service consumes and a rebuild reads back: the inputs and the FX rates. The rates are
 * no source of the event-time watermark, so they are not among `inputTopicsOf`.
 */
export const consumedTopicsOf = (topics: TopicNames): string[] => [...inputTopicsOf(topics), topics.fxRates];

/** How far back a rebuild must read the touches: window + allowed lateness. */
export const touchesNeededMs = (config: Config): number =>
  (config.WINDOW_DAYS + config.ALLOWED_LATENESS_DAYS) * MS_PER_DAY;

/** The ingest settings that depend on the inputs' partitions, read from the broker. */
export async function ingestLayout(
  admin: Admin,
  config: Config,
  topics: TopicNames,
): Promise<Omit<IngestDeps, 'store'>> {
  const metadata = await admin.fetchTopicMetadata({ topics: inputTopicsOf(topics) });
  // Pending sets are named after the opportunities topic's partitions: their owners drain them.
  const opportunityPartitions =
    metadata.topics.find((t) => t.name === topics.opportunities)?.partitions.length ?? 1;
  return {
    windowMs: buildSettings({
      windowDays: config.WINDOW_DAYS,
      halfLifeDays: config.HALF_LIFE_DAYS,
      models: config.MODELS.join(','),
    }).windowMs,
    allowedLatenessMs: config.ALLOWED_LATENESS_DAYS * MS_PER_DAY,
    watermarkSources: metadata.topics.reduce((n, t) => n + t.partitions.length, 0),
    pendingSetOf: pendingSetOf(topics.opportunities, opportunityPartitions),
    pendingSets: Array.from({ length: opportunityPartitions }, (_, b) => `${topics.opportunities}/${b}`),
  };
}

export interface RebuildWiring {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly codec: AvroCodec;
  readonly redis: Redis;
  /** Reads the consumer group's committed offsets (an admin client the caller connected). */
  readonly admin: Admin;
  readonly ingest: Omit<IngestDeps, 'store'>;
  readonly log: Log;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const stateStoreFor = (redis: Redis, config: Config, generation: string): StateStore =>
  createRedisStateStore(redis, { prefix: config.REDIS_KEY_PREFIX, generation });

/** What app/state-recovery needs, on Redis and Kafka. */
export function recoveryDeps(wiring: RebuildWiring): RecoveryDeps {
  const { config, kafka, codec, redis, admin, log, clock, sleep } = wiring;
  const topics = topicNamesOf(config);
  // A rebuild reads the rates back too: they are part of the state generation.
  const inputs = consumedTopicsOf(topics);
  const vocab = buildVocabularies(
    config.CHANNELS,
    config.SEGMENTS,
    loadRules(config.CHANNEL_RULES_FILE, config.CHANNELS),
  );
  return {
    generations: createRedisStateGenerations(redis, { prefix: config.REDIS_KEY_PREFIX }),
    owner: `${hostname()}/${process.pid}`,
    newId: () => `g${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    clock,
    sleep,
    log,
    staleAfterMs: REBUILD_STALE_AFTER_MS,
    pollMs: 1_000,
    hasCommittedInput: async () => {
      const committed = await admin.fetchOffsets({ groupId: config.KAFKA_GROUP_ID, topics: inputs });
      return committed.some((t) => t.partitions.some((p) => Number(p.offset) >= 0));
    },
    // Dead letters are not sent again (they were when the records were first consumed), and
    // the read-back's counts stay out of the live metrics.
    rebuild: (id, heartbeat) => {
      const ingest: IngestDeps = { ...wiring.ingest, store: stateStoreFor(redis, config, id) };
      const handle = createBatchHandler({
        codec,
        topics,
        vocab,
        metrics: createMetrics(),
        clock,
        sleep,
        log,
        piiKey: config.PII_HASH_KEY,
        sendDeadLetters: () => Promise.resolve(),
        process: (events, source, markedAt) => ingestEvents(events, ingest, source, markedAt),
      });
      return readBack(kafka, {
        topics: inputs,
        groupId: `${config.KAFKA_GROUP_ID}.rebuild.${id}`,
        onRecords: async (topic, partition, messages) => void (await handle(topic, partition, messages)),
        onProgress: heartbeat,
        log,
      });
    },
  };
}

/**
 * `touchline rebuild-state`: rebuilds the deployment's state into a new generation now. Running
 * instances notice their generation is gone, pause, and resume from the new one.
 */
export async function rebuildState(
  config: Config,
  log: Log,
  clock: () => number = Date.now,
): Promise<OpenedState> {
  const topics = topicNamesOf(config);
  const brokers = config.KAFKA_BROKERS.join(',');
  const redis = await connectRedis(config.REDIS_URL, { tls: redisTls(config) });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-rebuild`,
    log,
    ...kafkaSecurity(config),
  });
  const admin = kafka.admin();
  try {
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => admin.connect());
    await checkInputRetention(admin, topics, touchesNeededMs(config));
    const codec = await createAvroCodec(
      createSchemaRegistry(config.SCHEMA_REGISTRY_URL, registryAuth(config)),
      topics,
    );
    const ingest = await ingestLayout(admin, config, topics);
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    return await rebuildNow(recoveryDeps({ config, kafka, codec, redis, admin, ingest, log, clock, sleep }));
  } finally {
    await admin.disconnect().catch(() => undefined);
    await closeRedis(redis);
  }
}

/**
 * `touchline restate`: marks every live opportunity of the current state generation for
 * re-attribution (app/restate.ts), in the pending set named after its opportunities-topic
 * partition, which that partition's owner drains.
 */
export async function restateAll(
  config: Config,
  clock: () => number = Date.now,
): Promise<{ generation: string; marked: number; deleted: number }> {
  const topics = topicNamesOf(config);
  const redis = await connectRedis(config.REDIS_URL, { tls: redisTls(config) });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-restate`,
    log: () => undefined,
    ...kafkaSecurity(config),
  });
  const admin = kafka.admin();
  try {
    await during(`cannot reach Kafka at ${config.KAFKA_BROKERS.join(',')}`, 'BROKER_UNAVAILABLE', () =>
      admin.connect(),
    );
    const layout = await ingestLayout(admin, config, topics);
    const current = await createRedisStateGenerations(redis, { prefix: config.REDIS_KEY_PREFIX }).current();
    if (current === null || current.status !== 'ready')
      throw new AppError(
        'STATE_LOST',
        current === null
          ? 'there is no state to restate yet (no instance has run on this Redis prefix)'
          : `state generation ${current.id} is being rebuilt; restate once it is ready (a rebuild attributes everything anyway)`,
      );
    const restated = await markAllForRestatement(
      stateStoreFor(redis, config, current.id),
      layout.pendingSetOf,
      clock(),
    );
    return { generation: current.id, ...restated };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await closeRedis(redis);
  }
}
