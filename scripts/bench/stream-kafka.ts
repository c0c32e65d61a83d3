/**
 * Kafka side of scripts/bench-stream.ts: encoding the input messages (read by `touchline
 * produce`'s own readMessages), producing them as fast as possible or at a fixed rate, the
 * topics' offsets, and the bare-consumer baseline. A consumer group's lag: test/support/services.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import type { AvroCodec } from '../../src/adapters/kafka/avro-codec.js';
import type { InputMessage } from '../../src/adapters/kafka/input-values.js';
import type { TopicNames } from '../../src/adapters/kafka/topics.js';
import { consumedTopicsOf } from '../../src/state-rebuild.js';

/** What the service consumes: the three inputs and the FX rates (produce publishes a dataset's fx_rates.csv). */
export const inputTopics = (topics: TopicNames): string[] => consumedTopicsOf(topics);

/** Prefixes every id (contact, account, opportunity, touchpoint) so a second dataset never meets the first. */
export function prefixIds(prefix: string): (message: InputMessage) => InputMessage {
  const ids = ['contact_id', 'account_id', 'opportunity_id', 'touchpoint_id'];
  const rewrite = (fields: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...fields };
    for (const id of ids) {
      const value = out[id];
      if (typeof value === 'string' && value !== '') out[id] = `${prefix}${value}`;
    }
    return out;
  };
  return (m) => ({ ...m, key: rewrite(m.key), value: m.value === null ? null : rewrite(m.value) });
}

export interface EncodedMessage {
  readonly topic: string;
  readonly key: Buffer;
  readonly value: Buffer | null;
  readonly eventTime: number;
}

export async function encodeMessages(
  codec: AvroCodec,
  messages: readonly InputMessage[],
): Promise<EncodedMessage[]> {
  const out: EncodedMessage[] = [];
  for (const m of messages) {
    out.push({
      topic: m.topic,
      key: await codec.encodeKey(m.topic, m.key),
      value: m.value === null ? null : await codec.encodeValue(m.topic, m.value),
      eventTime: m.eventTime,
    });
  }
  return out;
}

/** One produce request's worth, grouped by topic. Timestamps are left to kafkajs: send time. */
export async function sendBatch(producer: Producer, batch: readonly EncodedMessage[]): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const m of batch) {
    const list = byTopic.get(m.topic);
    const message: Message = { key: m.key, value: m.value };
    if (list === undefined) byTopic.set(m.topic, [message]);
    else list.push(message);
  }
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
  });
}

/** Everything, as fast as possible: `batchSize` records per request, `concurrency` requests in flight. */
export async function sendAll(
  producer: Producer,
  messages: readonly EncodedMessage[],
  batchSize: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < messages.length) {
      const from = next;
      next += batchSize;
      await sendBatch(producer, messages.slice(from, from + batchSize));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Sends `messages` at `ratePerSecond`, in ticks of `tickMs`, each tick sending whatever is due
 * (so a slow send is caught up, never dropped). Returns the achieved rate.
 */
export async function sendAtRate(
  producer: Producer,
  messages: readonly EncodedMessage[],
  ratePerSecond: number,
  tickMs: number,
  onProgress: (sent: number, lastEventTime: number) => void = () => undefined,
): Promise<{ sent: number; seconds: number; behindMaxMs: number }> {
  const started = performance.now();
  let sent = 0;
  let behindMaxMs = 0;
  while (sent < messages.length) {
    const elapsed = performance.now() - started;
    const due = Math.min(messages.length, Math.floor((elapsed / 1000) * ratePerSecond));
    if (due > sent) {
      // How late the oldest record of this send is against its schedule.
      behindMaxMs = Math.max(behindMaxMs, elapsed - (sent / ratePerSecond) * 1000);
      await sendBatch(producer, messages.slice(sent, due));
      sent = due;
      onProgress(sent, messages[sent - 1]?.eventTime ?? 0);
    }
    const nextDue = ((sent + 1) / ratePerSecond) * 1000;
    const wait = Math.max(1, Math.min(tickMs, nextDue - (performance.now() - started)));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return { sent, seconds: (performance.now() - started) / 1000, behindMaxMs };
}

/** High watermark per topic/partition, and their sum. */
export async function endOffsets(
  admin: Admin,
  topics: readonly string[],
): Promise<{ total: number; byTopic: Map<string, number> }> {
  const byTopic = new Map<string, number>();
  let total = 0;
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const sum = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    byTopic.set(topic, sum);
    total += sum;
  }
  return { total, byTopic };
}

export interface BareResult {
  readonly records: number;
  readonly undecodable: number;
  /** From the GROUP_JOIN event to the last record decoded. */
  readonly sinceJoinMs: number;
  /** From the first record received to the last record decoded. */
  readonly sinceFirstMs: number;
  /** From consumer.connect() to the last record decoded. */
  readonly totalMs: number;
}

/**
 * The baseline: a plain kafkajs consumer in a new group, reading the input topics from the
 * beginning and only decoding the Avro values, with the service's fetch settings
 * (maxBytesPerPartition, partitions processed concurrently). Stops once `expected` records
 * have been read.
 */
export async function bareConsume(options: {
  readonly kafka: Kafka;
  readonly codec: AvroCodec;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly expected: number;
  readonly partitionsConsumedConcurrently: number;
  readonly timeoutMs: number;
}): Promise<BareResult> {
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  const started = performance.now();
  let joinedAt: number | null = null;
  let firstAt: number | null = null;
  let records = 0;
  let undecodable = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt ??= performance.now();
  });
  let finish: (at: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
      eachBatch: async ({ batch }) => {
        firstAt ??= performance.now();
        for (const message of batch.messages) {
          if (message.value !== null) {
            const decoded = await options.codec.decode(message.value);
            if (!decoded.ok) undecodable += 1;
          }
          records += 1;
        }
        if (records >= options.expected) finish(performance.now());
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bare consumer read ${records} of ${options.expected} records in time`)),
        options.timeoutMs,
      );
      void finished.then(() => clearTimeout(timer));
    });
    const doneAt = await Promise.race([finished, timeout]);
    return {
      records,
      undecodable,
      sinceJoinMs: doneAt - (joinedAt ?? started),
      sinceFirstMs: doneAt - (firstAt ?? started),
      totalMs: doneAt - started,
    };
  } finally {
    await consumer.disconnect();
  }
}
