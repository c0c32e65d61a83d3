import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';

/**
 * The real services the integration and end-to-end tests use: started by scripts/services.sh
 * (whose `env` prints these variables) or given by the environment. Defaults are the script's.
 */
export const SERVICES = {
  KAFKA_BROKERS: process.env['KAFKA_BROKERS'] ?? '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: process.env['SCHEMA_REGISTRY_URL'] ?? 'http://127.0.0.1:18081/apis/ccompat/v7',
  REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  DATABASE_URL: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
};

/** A unique run: its own topics, consumer group, Redis prefix and Postgres schema. */
export function isolatedEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return isolatedRun(name, extra).env;
}

/** Who makes an isolated run: its Redis keys and Postgres schema say so (tltest:/e2e_ or tlbench:/stream_). */
const RUN_PREFIXES = {
  test: { redis: 'tltest', schema: 'e2e' },
  bench: { redis: 'tlbench', schema: 'stream' },
};

/** isolatedEnv with the run's id (which starts its topic names); the stream benchmark's runs are `bench` ones. */
export function isolatedRun(
  name: string,
  extra: Record<string, string> = {},
  by: keyof typeof RUN_PREFIXES = 'test',
): { id: string; env: Record<string, string> } {
  const id = `${name}_${randomBytes(4).toString('hex')}`;
  const prefixes = RUN_PREFIXES[by];
  const env = {
    ...SERVICES,
    KAFKA_GROUP_ID: `tl-${id}`,
    REDIS_KEY_PREFIX: `${prefixes.redis}:${id}:`,
    PG_SCHEMA: `${prefixes.schema}_${id}`.toLowerCase(),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    TOPIC_TOUCHPOINTS: `${id}.marketing.touchpoints.v1`,
    TOPIC_CONTACTS: `${id}.crm.contacts.v1`,
    TOPIC_OPPORTUNITIES: `${id}.crm.opportunities.v1`,
    TOPIC_PIPELINE: `${id}.attribution.pipeline.v1`,
    TOPIC_DLQ: `${id}.attribution.dlq.v1`,
    TOPIC_FX_RATES: `${id}.fx.rates.v1`,
    TOPIC_PARTITIONS: '3',
    LOG_LEVEL: 'error',
    ...extra,
  };
  return { id, env };
}

export function configOf(env: Record<string, string>): Config {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(`test config invalid: ${loaded.problems.join('; ')}`);
  return loaded.config;
}

export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await probe();
  }
  return last;
}

/**
 * True once the service's consumer group has committed every input partition up to its end:
 * everything produced so far has been processed (offsets are committed after processing).
 */
export async function groupCaughtUp(env: Record<string, string>): Promise<boolean> {
  return (await partitionsBehind(env)).length === 0;
}

/** Runs `use` with an admin client of its own on the test Kafka, connected, and disconnects it. */
async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const { createKafka } = await import('../../src/adapters/kafka/client.js');
  const admin = createKafka({
    brokers: [SERVICES.KAFKA_BROKERS],
    clientId: 'test-probe',
    log: () => undefined,
  }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The input partitions the service's group has not committed to their end, as `topic/partition committed/end`. */
export async function partitionsBehind(env: Record<string, string>): Promise<string[]> {
  const topics = [
    env['TOPIC_TOUCHPOINTS'],
    env['TOPIC_CONTACTS'],
    env['TOPIC_OPPORTUNITIES'],
    env['TOPIC_FX_RATES'],
  ].filter((t): t is string => t !== undefined);
  const lags = await withAdmin((admin) => partitionLags(admin, env['KAFKA_GROUP_ID'] ?? '', topics));
  return lags.filter((p) => p.lag > 0).map((p) => `${p.topic}/${p.partition} ${p.committed}/${p.end}`);
}

/** Members of the service's consumer group once it is stable, else 0. */
export async function groupMembers(env: Record<string, string>): Promise<number> {
  const { groups } = await withAdmin((admin) => admin.describeGroups([env['KAFKA_GROUP_ID'] ?? '']));
  const group = groups[0];
  return group?.state === 'Stable' ? group.members.length : 0;
}

interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset, -1 if none. */
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
}

/** Per partition of `topics`: what the group committed, the end, and the records between. */
async function partitionLags(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  const lags: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of ends) {
      const at = Number(done.find((p) => p.partition === end.partition)?.offset ?? '-1');
      const high = Number(end.high);
      lags.push({
        topic,
        partition: end.partition,
        committed: at,
        end: high,
        lag: Math.max(0, high - Math.max(at, Number(end.low))),
      });
    }
  }
  return lags;
}

/**
 * Records the group has not committed yet, over every partition of `topics` (a partition
 * with nothing committed counts from its low watermark). 0 = caught up.
 */
export async function groupLag(admin: Admin, groupId: string, topics: readonly string[]): Promise<number> {
  return (await partitionLags(admin, groupId, topics)).reduce((n, p) => n + p.lag, 0);
}

/** Drops what an isolated run left in Postgres and Redis (Kafka starts empty on every `up`). */
export async function cleanupIsolated(env: Record<string, string>): Promise<void> {
  await dropSchema(env);
  await deleteRedisKeys(env);
}

/** Drops the run's Postgres schema (PG_SCHEMA). */
export async function dropSchema(env: Record<string, string>): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: SERVICES.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${env['PG_SCHEMA'] ?? 'none'}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes the run's Redis keys (REDIS_KEY_PREFIX*); returns how many there were. */
export async function deleteRedisKeys(env: Record<string, string>): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(SERVICES.REDIS_URL);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${env['REDIS_KEY_PREFIX'] ?? 'none:'}*`,
        'COUNT',
        1000,
      );
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
