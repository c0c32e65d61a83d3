import kafkajs, { Partitioners, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createAvroCodec, createSchemaRegistry, type AvroCodec } from './adapters/kafka/avro-codec.js';
import { createBatchHandler } from './adapters/kafka/batch-handler.js';
import {
  checkInputRetention,
  createKafka,
  ensureTopics,
  EXACTLY_ONCE_RETRY,
  type Log,
} from './adapters/kafka/client.js';
import { createTransactionalDeadLetters } from './adapters/kafka/dead-letter-sender.js';
import { toPipelineMessages } from './adapters/kafka/pipeline-messages.js';
import type { TopicNames } from './adapters/kafka/topics.js';
import { closeServer, createHttpServer, listen } from './adapters/http/server.js';
import { createPostgresAnswerStore } from './adapters/postgres/attribution-store.js';
import { migrate } from './adapters/postgres/migrate.js';
import { closePool, createPool } from './adapters/postgres/pool.js';
import { readPipelineTable } from './adapters/postgres/queries.js';
import { closeRedis, connectRedis } from './adapters/redis/connect.js';
import { stateLost } from './adapters/redis/state-generations.js';
import { drainPending } from './app/commit-answers.js';
import { trackOutage, type OutageTracker } from './app/outage.js';
import { startDrainLoop } from './app/drain-loop.js';
import { ingestEvents, type IngestDeps } from './app/ingest-events.js';
import type { AttributionRevision, StateStore } from './app/ports.js';
import { openState, type OpenedState, type RecoveryDeps } from './app/state-recovery.js';
import { buildSettings, buildVocabularies, loadRules } from './cli/settings.js';
import { createRateBook } from './domain/fx.js';
import type { Config } from './config.js';
import { UNATTRIBUTED } from './domain/catalog.js';
import { parseAmount } from './domain/money.js';
import { MS_PER_DAY } from './domain/time.js';
import { AppError, during, isAppError, isStateLost } from './errors.js';
import { createMetrics, initialiseSeries, timed, type Metrics } from './metrics.js';
import { REJECT_REASONS } from './domain/validate.js';
import { kafkaSecurity, postgresSsl, redisTls, registryAuth } from './security.js';
import {
  ingestLayout,
  consumedTopicsOf,
  recoveryDeps,
  stateStoreFor,
  topicNamesOf,
  touchesNeededMs,
} from './state-rebuild.js';

export interface RunningService {
  readonly port: number;
  readonly metrics: Metrics;
  /** Drains the batch in flight, then closes everything; safe to call twice. */
  stop(): Promise<void>;
}

/** Records per processing chunk: bounds memory and latency when a fetch returns a huge batch. */
const CHUNK = 2_000;
/** Opportunities per answer commit when draining the pending sets. */
const DRAIN_CHUNK = 500;
/** With no batch for this long, the instance is idle, hence live, whatever lag it last saw. */
const IDLE_AFTER_MS = 1_000;
/**
 * A partition whose last records were produced at most this long ago is live even with a
 * backlog: a burst is being absorbed, and waiting for the slowest input's watermark would only
 * add latency. Records older than this with a backlog behind them are a catch-up.
 */
const FRESH_RECORDS_MS = 5_000;
/** A publish still waiting for Kafka after this long is reported as an outage. */
const PUBLISH_SLOW_MS = 10_000;
/**
 * Heartbeat errors that say this member may have lost its partitions: a rebalance under way, a
 * generation that moved on, a member the group forgot. (Not NOT_COORDINATOR: the coordinator
 * moving, e.g. on a fresh cluster, keeps the assignment.)
 */
const losesPartitions = (error: unknown): boolean =>
  ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'].includes(
    String((error as { type?: unknown } | null)?.type),
  );
/** How long a group join waits for its partitions' lags before it counts them as unknown. */
const LAGS_READ_MS = 5_000;
/** How long a fetch waits for records at most (kafkajs's default is 5 s; see the consumer). */
const FETCH_WAIT_MS = 1_000;
/** An instance with no batch for this long checks that its offsets are committed (recommit). */
const RECOMMIT_IDLE_MS = 5_000;
/** How often an instance checks that its state generation is still the current one. */
const GENERATION_PROBE_MS = 2_000;

/**
 * Wires the streaming service: Kafka in (three topics, one consumer group), Redis state,
 * Postgres answers and totals, Kafka out (answers, dead letters), HTTP for probes and metrics.
 */
export async function startService(
  config: Config,
  log: Log,
  clock: () => number = Date.now,
): Promise<RunningService> {
  const metrics = createMetrics();
  initialiseSeries(metrics, {
    topics: [
      config.TOPIC_TOUCHPOINTS,
      config.TOPIC_CONTACTS,
      config.TOPIC_OPPORTUNITIES,
      config.TOPIC_FX_RATES,
    ],
    outcomes: ['accepted', 'duplicate', 'superseded', 'conflict', 'rejected'],
    reasons: [...REJECT_REASONS, 'undecodable', 'unknown_schema', 'processing_error'],
    models: config.MODELS,
  });
  const topics: TopicNames = topicNamesOf(config);
  // The channel rules file is read and checked before anything connects (every problem listed).
  const vocab = buildVocabularies(
    config.CHANNELS,
    config.SEGMENTS,
    loadRules(config.CHANNEL_RULES_FILE, config.CHANNELS),
  );
  const settings = {
    ...buildSettings({
      windowDays: config.WINDOW_DAYS,
      halfLifeDays: config.HALF_LIFE_DAYS,
      models: config.MODELS.join(','),
    }),
    timeZone: config.REPORTING_TIME_ZONE,
    ...(vocab.channelRules === undefined ? {} : { channelRules: vocab.channelRules }),
    // No rates in streaming yet: an opportunity in another currency is pending_fx (not credited),
    // never counted as if it were in the reporting currency.
    fx: {
      reportingCurrency: config.REPORTING_CURRENCY,
      rates: createRateBook(config.REPORTING_CURRENCY),
      timeZone: config.REPORTING_TIME_ZONE,
    },
  };
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log('warn', `while closing: ${(error as Error).message}`);
      }
    }
    closers.length = 0;
  };

  try {
    const redis: Redis = await connectRedis(config.REDIS_URL, { tls: redisTls(config) });
    closers.push(() => closeRedis(redis));
    const pool: pg.Pool = createPool(config.DATABASE_URL, {
      ssl: postgresSsl(config),
      onIdleError: (e) => log('warn', `postgres idle client: ${e.message}`),
    });
    closers.push(() => closePool(pool));
    // With MIGRATE_ON_START=false the service's role needs only DML; `touchline migrate` runs
    // beforehand under a role that may change the schema.
    if (config.MIGRATE_ON_START) {
      const applied = await during('migrating Postgres', 'STORE_UNAVAILABLE', () =>
        migrate(pool, config.PG_SCHEMA, undefined, { reportingTimeZone: config.REPORTING_TIME_ZONE }),
      );
      if (applied.length > 0)
        log('info', `applied migrations ${applied.join(', ')} to schema ${config.PG_SCHEMA}`);
    }

    // A registry that is down at start (it often starts after us) is waited for with back-off,
    // said once; a registry that refuses the schemas is an error at once.
    const registry = createSchemaRegistry(config.SCHEMA_REGISTRY_URL, registryAuth(config));
    const registryAtStart = trackOutage(`reaching the schema registry at ${config.SCHEMA_REGISTRY_URL}`, {
      clock,
      log,
    });
    let codec: AvroCodec | null = null;
    for (let attempt = 0; codec === null; attempt += 1) {
      try {
        codec = await createAvroCodec(registry, topics);
        registryAtStart.succeeded();
      } catch (error) {
        if (!isAppError(error) || !error.retriable) throw error;
        registryAtStart.failed(error);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))),
        );
      }
    }
    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      log,
      ...kafkaSecurity(config),
    });
    const admin = kafka.admin();
    const brokers = config.KAFKA_BROKERS.join(',');
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => admin.connect());
    // Closed on a refusal below too (a client left connected would keep the process alive).
    closers.push(() => admin.disconnect());
    // A rebuild reads the touches of window + lateness back: the touch topic must keep them.
    const keepTouchesMs = touchesNeededMs(config);
    const created = await ensureTopics(
      admin,
      topics,
      config.TOPIC_PARTITIONS,
      config.TOPIC_REPLICATION_FACTOR,
      keepTouchesMs + 7 * MS_PER_DAY,
    );
    await checkInputRetention(admin, topics, keepTouchesMs);
    // The FX rates are consumed by the group too (each rate once, into the shared state).
    const inputs = consumedTopicsOf(topics);
    const layout = await ingestLayout(admin, config, topics);
    if (created.length > 0) log('info', `created topics ${created.join(', ')}`);

    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: EXACTLY_ONCE_RETRY,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => producer.connect());
    closers.push(() => producer.disconnect());
    const deadLetters = createTransactionalDeadLetters(kafka, {
      topic: topics.dlq,
      groupId: config.KAFKA_GROUP_ID,
      clientId: config.KAFKA_CLIENT_ID,
    });
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => deadLetters.connect());
    closers.push(() => deadLetters.disconnect());

    // The state lives in one generation (keys.ts); `store` is swapped when a rebuild makes a new one.
    const storeFor = (generation: string): StateStore => stateStoreFor(redis, config, generation);
    let generation = '';
    let store: StateStore | null = null;
    /** Set while the state is opened or rebuilt: consumption waits on it, nothing is drained. */
    let recovering: Promise<void> | null = null;
    const currentStore = (): StateStore => {
      if (store === null) throw new Error('no state generation open yet');
      return store;
    };
    const answers = createPostgresAnswerStore(pool, {
      schema: config.PG_SCHEMA,
      clock: () => new Date(clock()),
    });
    const publish = async (revisions: readonly AttributionRevision[]): Promise<void> => {
      if (revisions.length === 0) return;
      const messages = await toPipelineMessages(codec, topics.pipeline, revisions, config.REPORTING_CURRENCY);
      // The producer retries for as long as Kafka is away (EXACTLY_ONCE_RETRY): a send that
      // takes this long is an outage, reported as one (the answer transaction waits for it).
      const slow = setTimeout(
        () =>
          drainOutage.failed(
            new Error(`publishing to ${topics.pipeline} has waited ${PUBLISH_SLOW_MS / 1000} s for Kafka`),
          ),
        PUBLISH_SLOW_MS,
      );
      try {
        await timed(metrics, 'kafka', 'publish', () =>
          producer.send({ topic: topics.pipeline, acks: -1, messages }),
        );
      } catch (error) {
        throw new AppError(
          'BROKER_UNAVAILABLE',
          `publishing to ${topics.pipeline} failed: ${(error as Error).message}`,
          { retriable: true, cause: error },
        );
      } finally {
        clearTimeout(slow);
      }
    };

    // What the drain loop needs to know of the consumer: the partitions owned, their lag, and
    // the slowest input's watermark as the last batch saw it.
    const owned = new Set<string>();
    /** The pending sets this instance drains: those of the opportunities partitions it owns. */
    const drained = new Set<string>();
    const lagBySource = new Map<string, number>();
    /** The next offset to read of each partition this instance has handled since it last joined. */
    const positions = new Map<string, { topic: string; partition: number; offset: bigint }>();
    /** Kafka timestamp of the newest record of each partition's last chunk. */
    const newestBySource = new Map<string, number>();
    let lastBatchAt = 0;
    /** Chunks being handled now: a chunk that takes long (a slow store, a loaded machine) is not idleness. */
    let chunksInFlight = 0;
    let watermark = Number.MIN_SAFE_INTEGER;
    /** False from a group join until the assigned partitions' lags are read (or failed to be). */
    let lagsRead = false;
    let joins = 0;
    const isLive = (): boolean => {
      // Just joined: how far behind the new partitions are is not known yet.
      if (!lagsRead) return false;
      // A partition with a backlog at the join that has had no batch since is behind, whether
      // or not other batches come (a partition not fetched yet counts as behind).
      for (const source of owned)
        if (!newestBySource.has(source) && (lagBySource.get(source) ?? 0) > config.CATCH_UP_LAG) return false;
      const now = clock();
      if (chunksInFlight === 0 && now - lastBatchAt > IDLE_AFTER_MS) return true;
      return [...owned].every(
        (source) =>
          (lagBySource.get(source) ?? Infinity) <= config.CATCH_UP_LAG ||
          now - (newestBySource.get(source) ?? -Infinity) <= FRESH_RECORDS_MS,
      );
    };
    // One log line when an activity starts failing and one when it works again (app/outage.ts).
    const outageOf = (activity: 'consume' | 'drain', name: string): OutageTracker => {
      metrics.outage.set({ activity }, 0);
      return trackOutage(name, {
        clock,
        log,
        onChange: (down) => metrics.outage.set({ activity }, down ? 1 : 0),
      });
    };
    const consumeOutage = outageOf('consume', 'consuming the inputs (Redis state, schema registry)');
    const drainOutage = outageOf('drain', 'attributing (Postgres answers, publishing to the output topic)');
    const drainLoop = startDrainLoop({
      drain: async (source, upTo, limit) => {
        const state = currentStore();
        const drained = await timed(metrics, 'pipeline', 'drain', () =>
          drainPending({ store: state, answers, settings, publish }, source, upTo, limit),
        );
        // Only a drain that reached Postgres says it works again (an empty one never tried).
        if (drained.claims.length > 0) drainOutage.succeeded();
        if (drained.pendingFx !== null) metrics.pendingFx.set(drained.pendingFx);
        const [topic = source, partition = ''] = source.split(/\/(?=\d+$)/);
        metrics.pending.set({ topic, partition }, await state.countPending(source));
        return drained;
      },
      // Nothing is attributed while the state is being opened or rebuilt.
      sources: () => (recovering === null && store !== null ? [...drained] : []),
      horizon: () => (isLive() ? Infinity : watermark),
      limit: DRAIN_CHUNK,
      idleMs: 250,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      onError: (error, retryInMs) => {
        if (isStateLost(error)) void recover(error);
        else if (isAppError(error) && error.retriable) drainOutage.failed(error);
        else
          log('warn', `draining pending attributions failed (${error.message}); retrying in ${retryInMs} ms`);
      },
      onDrained: (source, drained) => {
        const now = clock();
        for (const claim of drained.claims)
          metrics.latency.observe(Math.max(0, (now - claim.markedAt) / 1000));
        for (const revision of drained.revisions) {
          metrics.revisions.inc({ model: revision.model, reason: revision.reason });
          if (revision.revision > 1) metrics.restatements.inc({ model: revision.model });
        }
        for (const { opportunityId, error } of drained.failed) {
          metrics.attributionFailures.inc();
          log(
            'error',
            `cannot attribute opportunity ${opportunityId} (left as last committed): ${error.message}`,
          );
        }
      },
    });
    closers.push(() => drainLoop.stop());

    const ingestDeps: IngestDeps = {
      get store(): StateStore {
        return currentStore();
      },
      ...layout,
    };
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const handleBatch = createBatchHandler({
      codec,
      topics,
      vocab,
      metrics,
      clock,
      sleep,
      log,
      piiKey: config.PII_HASH_KEY,
      outage: consumeOutage,
      // With the consumer offset after the batch, in one transaction (dead-letter-sender.ts).
      sendDeadLetters: (letters, through, fence) => deadLetters.send(letters, through, fence),
      process: async (events, source, markedAt) => {
        const ingested = await timed(metrics, 'pipeline', 'ingest', () =>
          ingestEvents(events, ingestDeps, source, markedAt),
        );
        if (ingested.watermark > Number.MIN_SAFE_INTEGER) {
          watermark = Math.max(watermark, ingested.watermark);
          metrics.watermark.set(ingested.watermark / 1000);
        }
        if (ingested.marked > 0) drainLoop.wake();
        return ingested;
      },
    });

    // Committed offsets: partition lags, and whether a missing state is a first start or a loss.
    const lagAdmin = kafka.admin();
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => lagAdmin.connect());
    closers.push(() => lagAdmin.disconnect());
    const recovery: RecoveryDeps = recoveryDeps({
      config,
      kafka,
      codec,
      redis,
      admin: lagAdmin,
      ingest: layout,
      log,
      clock,
      sleep,
    });
    const adopt = (opened: OpenedState): void => {
      generation = opened.generation;
      store = storeFor(generation);
      if (opened.rebuilt !== null) metrics.stateRebuilds.inc();
    };
    /** Opens a ready generation (`lost`: the one found gone), rebuilding if needed; once at a time. */
    const openReadyState = (lost: string | null): Promise<void> => {
      recovering ??= (async () => {
        metrics.stateRebuilding.set(lost === null ? 0 : 1);
        for (let attempt = 0; ; attempt += 1) {
          try {
            adopt(await openState({ ...recovery, onRebuilding: () => metrics.stateRebuilding.set(1) }, lost));
            return;
          } catch (error) {
            log('warn', `opening the Redis state failed (${(error as Error).message}); retrying`);
            await sleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)));
          }
        }
      })().finally(() => {
        recovering = null;
        metrics.stateRebuilding.set(0);
        drainLoop.wake();
      });
      return recovering;
    };
    const recover = (error: AppError): Promise<void> => {
      if (recovering !== null) return recovering;
      metrics.stateLost.inc();
      log('error', `${error.message}; pausing attribution and rebuilding the state from Kafka`);
      const lost = generation;
      return openReadyState(lost === '' ? null : lost).then(() =>
        log('info', `state generation ${generation} is ready; resuming`),
      );
    };
    /** Waits while the state is not ready, heartbeating the group; false if the batch must be given up. */
    const waitForState = async (payload: EachBatchPayload): Promise<boolean> => {
      while (recovering !== null) {
        await Promise.race([recovering, sleep(3_000)]);
        if (!payload.isRunning() || payload.isStale()) return false;
        try {
          await payload.heartbeat();
        } catch {
          return false; // the group is rebalancing: the batch goes to whoever owns it next
        }
      }
      return true;
    };

    // A short session moves a killed instance's partitions within seconds; heartbeats keep up
    // during long batches (keepAlive) and while the state is rebuilt (waitForState).
    /** Heartbeats while `run` takes its time (store retries back off for seconds). */
    const keepAlive = async <T>(
      payload: EachBatchPayload,
      run: () => Promise<T>,
      onBeatFailed: (error: unknown) => void,
    ): Promise<T> => {
      const beat = setInterval(
        () => void payload.heartbeat().catch(onBeatFailed),
        config.KAFKA_HEARTBEAT_INTERVAL_MS,
      );
      try {
        return await run();
      } finally {
        clearInterval(beat);
      }
    };
    const consumer: Consumer = kafka.consumer({
      groupId: config.KAFKA_GROUP_ID,
      maxBytesPerPartition: 1024 * 1024,
      sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      // kafkajs heartbeats between fetches: a fetch waiting its default 5 s for data delays the
      // rejoin after a member died (failover measured 6-6.5 s, 10 s when the survivor was
      // mid-wait). With 1 s the rejoin follows the session timeout within about a second.
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    let consuming = false;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      consuming = false;
      // kafkajs restarts the consumer after a retriable error (a coordinator that is still
      // loading, a broker restart): expected, and said once at info; anything else is an error.
      if (payload.restart) log('info', `consumer restarting after: ${payload.error.message}`);
      else log('error', `consumer crashed: ${payload.error.message} (not restarted)`);
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      consuming = true;
      // Partitions may have moved to other instances: their lag and pending sets are theirs now.
      metrics.lag.reset();
      metrics.pending.reset();
      owned.clear();
      lagBySource.clear();
      newestBySource.clear();
      positions.clear();
      lagsRead = false;
      const join = (joins += 1);
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) owned.add(`${topic}/${partition}`);
      }
      drained.clear();
      for (const partition of payload.memberAssignment[topics.opportunities] ?? [])
        drained.add(`${topics.opportunities}/${partition}`);
      // A partition that gets no batch (empty, or at its end) would count as behind for ever:
      // its lag is read from the broker once per join, and batches keep it current after that.
      // An admin that takes long (a coordinator still loading) must not hold attribution back:
      // after LAGS_READ_MS the lags count as unknown, as when reading them failed.
      const lagsLate = setTimeout(() => {
        if (join === joins) lagsRead = true;
      }, LAGS_READ_MS);
      lagsLate.unref();
      readLags(payload.memberAssignment)
        .then((lags) => {
          if (join !== joins) return; // a later join reads its own
          for (const [source, lag] of lags) if (!lagBySource.has(source)) lagBySource.set(source, lag);
        })
        .catch((error: unknown) =>
          log('warn', `reading the lag of assigned partitions: ${(error as Error).message}`),
        )
        .finally(() => {
          clearTimeout(lagsLate);
          if (join === joins) lagsRead = true;
          drainLoop.wake();
        });
    });
    /** The group's committed offset of every partition of `topics`, by `topic/partition` (-1: none). */
    const committedOffsets = async (topics: readonly string[]): Promise<Map<string, bigint>> => {
      const committed = await lagAdmin.fetchOffsets({ groupId: config.KAFKA_GROUP_ID, topics: [...topics] });
      const offsets = new Map<string, bigint>();
      for (const { topic, partitions } of committed)
        for (const p of partitions) offsets.set(`${topic}/${p.partition}`, BigInt(p.offset));
      return offsets;
    };
    const readLags = async (assignment: Record<string, number[]>): Promise<Map<string, number>> => {
      const lags = new Map<string, number>();
      const topicsAssigned = Object.keys(assignment);
      if (topicsAssigned.length === 0) return lags;
      const done = await committedOffsets(topicsAssigned);
      for (const topic of topicsAssigned) {
        const ends = await lagAdmin.fetchTopicOffsets(topic);
        for (const partition of assignment[topic] ?? []) {
          const end = ends.find((e) => e.partition === partition);
          if (end === undefined) continue;
          const from = Math.max(Number(done.get(`${topic}/${partition}`) ?? -1n), Number(end.low));
          lags.set(`${topic}/${partition}`, Math.max(0, Number(end.high) - from));
        }
      }
      return lags;
    };
    // The state generation is opened (or rebuilt: that can take minutes) before anything is
    // consumed or drained; meanwhile the probes answer, /readyz with 503.
    void openReadyState(null);
    await during(`cannot reach Kafka at ${brokers}`, 'BROKER_UNAVAILABLE', () => consumer.connect());
    closers.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: inputs, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      partitionsConsumedConcurrently: config.CONSUMER_PARTITIONS_CONCURRENTLY,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        const source = `${batch.topic}/${batch.partition}`;
        // Whether this instance may have lost the partition since the batch began: a rejoin, or
        // a heartbeat refused (a rebalance, or the group gave up on this member).
        const joinedAt = joins;
        let beatFailed = false;
        let fenced = false;
        const fence = async (): Promise<void> => {
          let lost = beatFailed || joins !== joinedAt;
          if (!lost)
            lost = await payload.heartbeat().then(
              () => false,
              (error: unknown) => losesPartitions(error),
            );
          if (!lost) return; // a heartbeat that failed otherwise (a coordinator moving) says nothing
          fenced = true;
          log(
            'info',
            `dead letters of ${source} aborted: the group rebalanced during the batch; it is consumed again`,
          );
          throw new Error(`the group rebalanced during a batch of ${source}`);
        };
        for (let i = 0; i < batch.messages.length; i += CHUNK) {
          if (!payload.isRunning() || payload.isStale()) return;
          if (!(await waitForState(payload))) return;
          const chunk = batch.messages.slice(i, i + CHUNK);
          lastBatchAt = clock();
          chunksInFlight += 1;
          try {
            await keepAlive(
              payload,
              () => handleBatch(batch.topic, batch.partition, chunk, fence),
              (error: unknown) => {
                if (losesPartitions(error)) beatFailed = true;
              },
            );
          } catch (error) {
            // Its dead letters were aborted: the next owner consumes the chunk again.
            if (fenced) return;
            if (!isStateLost(error)) {
              // Retriable for kafkajs, so its consumer restarts and consumes the chunk again: a
              // non-retriable error would stop the consumer for good in a process that lives on.
              const message = (error as Error).message;
              log(
                'warn',
                `a batch of ${source} failed (${message}); the consumer restarts and consumes it again`,
              );
              throw new kafkajs.KafkaJSError(`a batch of ${source} failed: ${message}`, { retriable: true });
            }
            // Not committed: the chunk runs again once the state is rebuilt.
            void recover(error);
            i -= CHUNK;
            continue;
          } finally {
            chunksInFlight -= 1;
            lastBatchAt = clock();
          }
          const last = chunk.at(-1);
          if (last !== undefined) {
            if (joins === joinedAt)
              positions.set(source, {
                topic: batch.topic,
                partition: batch.partition,
                offset: BigInt(last.offset) + 1n,
              });
            lagBySource.set(source, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1));
            newestBySource.set(source, Number(last.timestamp));
          }
          if (last !== undefined) payload.resolveOffset(last.offset);
          try {
            await payload.commitOffsetsIfNecessary();
            await payload.heartbeat();
          } catch {
            // The group is rebalancing (a member died or joined): give the batch up now, so
            // this instance rejoins at once and the partitions move within seconds. What was
            // not committed is consumed again by the next owner (redelivery changes nothing).
            return;
          }
        }
        metrics.lag.set(
          { topic: batch.topic, partition: String(batch.partition) },
          Number(batch.offsetLag()),
        );
      },
    });

    // Loss is noticed by the next Redis operation; this notices it on an idle service too.
    const generationProbe = setInterval(() => {
      const mine = generation;
      if (recovering !== null || mine === '') return;
      recovery.generations
        .current()
        .then((current) => {
          if (recovering === null && mine === generation && current?.id !== mine)
            void recover(stateLost(mine, current?.id ?? ''));
        })
        .catch(() => undefined); // an unreachable Redis is reported by the operations that need it
    }, GENERATION_PROBE_MS);
    generationProbe.unref();
    closers.push(() => Promise.resolve(clearInterval(generationProbe)));

    // kafkajs commits the resolved offsets after every batch. A dead-letter transaction of an
    // instance that lost the partition can still move the committed offset back (no KIP-447
    // fencing in kafkajs; dead-letter-sender.ts), and kafkajs, which remembers what it
    // committed, would not commit the same offset again: an idle instance checks, and commits
    // its position again (the broker refuses it unless this member still owns the partition).
    const recommit = async (): Promise<void> => {
      if (!consuming || chunksInFlight > 0 || clock() - lastBatchAt < RECOMMIT_IDLE_MS) return;
      const mine = [...positions].filter(([source]) => owned.has(source));
      if (mine.length === 0) return;
      const committed = await committedOffsets([...new Set(mine.map(([, p]) => p.topic))]);
      // A chunk that began meanwhile will be committed by kafkajs itself.
      if (chunksInFlight > 0) return;
      const behind = mine
        .filter(([source, p]) => {
          const at = committed.get(source);
          return at !== undefined && at < p.offset;
        })
        .map(([source, p]) => ({ ...p, committed: committed.get(source) ?? -1n }));
      if (behind.length === 0) return;
      log(
        'warn',
        `the committed offset of ${behind.map((p) => `${p.topic}/${p.partition}`).join(', ')} is behind what this instance handled; committing it again (${behind.map((p) => `${p.committed} < ${p.offset}`).join(', ')})`,
      );
      await consumer.commitOffsets(
        behind.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset.toString() })),
      );
    };
    const recommits = setInterval(
      () =>
        void recommit().catch((error: unknown) =>
          log('debug', `committing offsets again: ${(error as Error).message}`),
        ),
      RECOMMIT_IDLE_MS,
    );
    recommits.unref();
    closers.push(() => Promise.resolve(clearInterval(recommits)));

    const refreshShares = async (): Promise<void> => {
      const totals = new Map<string, { all: bigint; unattributed: bigint }>();
      for (const row of await readPipelineTable(pool, config.PG_SCHEMA)) {
        const parsed = parseAmount(row.pipeline_amount);
        const nanos = parsed.kind === 'ok' ? parsed.nanos : 0n;
        const entry = totals.get(row.model) ?? { all: 0n, unattributed: 0n };
        entry.all += nanos;
        if (row.channel === UNATTRIBUTED) entry.unattributed += nanos;
        totals.set(row.model, entry);
      }
      for (const [model, { all, unattributed }] of totals) {
        metrics.unattributedShare.set(
          { model },
          all === 0n ? 0 : Number((unattributed * 1_000_000n) / all) / 1_000_000,
        );
      }
    };
    const shares = setInterval(() => {
      // While Postgres is known to be down (the drain said so, once), this is no news.
      refreshShares().catch((error: unknown) =>
        log(drainOutage.down === null ? 'warn' : 'debug', `unattributed share: ${(error as Error).message}`),
      );
    }, 15_000);
    shares.unref();
    closers.push(() => Promise.resolve(clearInterval(shares)));

    const server = createHttpServer(metrics.registry, {
      live: () => true,
      ready: async () => {
        if (recovering !== null)
          return {
            ready: false,
            detail: `not attributing: the Redis state is being opened or rebuilt from Kafka (generation ${generation || 'none yet'} lost or not ready)`,
          };
        if (!consuming) return { ready: false, detail: 'not consuming (joining the group or crashed)' };
        for (const tracker of [consumeOutage, drainOutage]) {
          const down = tracker.down;
          if (down !== null)
            return {
              ready: false,
              detail: `${tracker.name} failing for ${Math.round((clock() - down.since) / 1000)} s: ${down.cause}`,
            };
        }
        await redis.ping();
        await pool.query('SELECT 1');
        return { ready: true, detail: 'ready' };
      },
    });
    const port = await listen(server, config.HTTP_PORT, config.HTTP_HOST);
    // Closed first on stop: probes then fail, and the orchestrator stops sending traffic.
    closers.push(() => closeServer(server));
    log(
      'info',
      `touchline serving: metrics on http://${config.HTTP_HOST}:${port}/metrics, consuming ${topics.touchpoints}, ${topics.contacts}, ${topics.opportunities}`,
    );

    let stopping: Promise<void> | null = null;
    return {
      port,
      metrics,
      stop: () => (stopping ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
