import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { AppError } from '../../errors.js';
import type { Log } from './client.js';

export interface ReadBackOptions {
  readonly topics: readonly string[];
  /** A consumer group of its own (nothing is committed to it; it is deleted afterwards). */
  readonly groupId: string;
  /** Called per chunk of records, partition by partition in offset order. */
  readonly onRecords: (topic: string, partition: number, messages: readonly KafkaMessage[]) => Promise<void>;
  /** Called between chunks (the rebuild's heartbeat); a throw stops the read. */
  readonly onProgress?: () => Promise<void>;
  readonly log: Log;
  /** Fails when no partition moves for this long. */
  readonly stallMs?: number;
}

const CHUNK = 2_000;

/** The end offset of every non-empty partition of the topics, as `topic/partition` → end. */
async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  for (const topic of topics) {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (Number(high) > Number(low)) ends.set(`${topic}/${partition}`, Number(high));
    }
  }
  return ends;
}

/**
 * Reads the topics from their first retained record up to the end offsets they have when the
 * read starts (records produced later are the live consumer's), handing each chunk over in
 * offset order. Used to rebuild the state: the compacted entity topics hold every contact and
 * opportunity, the touch topic every touch still retained.
 * A partition is done when the consumer's position passes its end, including past control
 * records or compacted-away offsets (kafkajs reports those as filtered, empty batches).
 */
export async function readBack(
  kafka: Kafka,
  options: ReadBackOptions,
): Promise<{ records: number; partitions: number }> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<string, number>;
  try {
    ends = await endOffsets(admin, options.topics);
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return { records: 0, partitions: 0 };

  const remaining = new Set(ends.keys());
  let records = 0;
  let failed: Error | null = null;
  let movedAt = Date.now();
  let finish: (error?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error === undefined ? resolve() : reject(error));
  });
  const reached = (topic: string, partition: number, lastOffset: string): void => {
    const source = `${topic}/${partition}`;
    const end = ends.get(source);
    movedAt = Date.now();
    if (
      end !== undefined &&
      Number(lastOffset) + 1 >= end &&
      remaining.delete(source) &&
      remaining.size === 0
    )
      finish();
  };

  const consumer = kafka.consumer({
    groupId: options.groupId,
    maxBytesPerPartition: 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    reached(payload.topic, payload.partition, payload.lastOffset),
  );
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) finish(payload.error);
  });
  const stallMs = options.stallMs ?? 120_000;
  const stall = setInterval(() => {
    if (Date.now() - movedAt > stallMs)
      finish(
        new AppError(
          'BROKER_UNAVAILABLE',
          `reading back ${[...remaining].slice(0, 5).join(', ')}: no progress for ${Math.round(stallMs / 1000)} s`,
          { retriable: true },
        ),
      );
  }, 1_000);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const end = ends.get(`${batch.topic}/${batch.partition}`) ?? 0;
        const wanted = batch.messages.filter((m) => Number(m.offset) < end);
        try {
          for (let i = 0; i < wanted.length && payload.isRunning() && failed === null; i += CHUNK) {
            await options.onRecords(batch.topic, batch.partition, wanted.slice(i, i + CHUNK));
            records += Math.min(CHUNK, wanted.length - i);
            movedAt = Date.now();
            await options.onProgress?.();
            await payload.heartbeat();
          }
        } catch (error) {
          // Not rethrown: kafkajs would retry the batch; the read as a whole has failed.
          failed = error instanceof Error ? error : new Error(String(error));
          finish(failed);
        }
      },
    });
    await finished;
    return { records, partitions: ends.size };
  } finally {
    clearInterval(stall);
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([options.groupId]))
      .catch((error: unknown) =>
        options.log('warn', `deleting the read-back group ${options.groupId}: ${(error as Error).message}`),
      )
      .finally(() => cleanup.disconnect().catch(() => undefined));
  }
}
