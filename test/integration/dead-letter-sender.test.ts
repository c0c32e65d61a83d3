/**
 * The transactional dead-letter sender on the real broker: a batch's letters and its consumer
 * offset land together (read_committed sees the letters, the group has the offset); an aborted
 * transaction leaves neither visible to read_committed readers, though its records are in the log;
 * a fence that throws before the commit aborts the transaction.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { createTransactionalDeadLetters } from '../../src/adapters/kafka/dead-letter-sender.js';
import type { DeadLetter } from '../../src/adapters/kafka/dead-letters.js';
import { SERVICES } from '../support/services.js';

const kafka = createKafka({
  brokers: SERVICES.KAFKA_BROKERS.split(','),
  clientId: 'dlq-sender-test',
  log: () => undefined,
});
const admin = kafka.admin();
const id = `dlqsender_${randomBytes(4).toString('hex')}`;
const dlq = `${id}.dlq`;
const input = `${id}.input`;
const groupId = `${id}.group`;

beforeAll(async () => {
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: dlq, numPartitions: 1 },
      { topic: input, numPartitions: 1 },
    ],
  });
});
afterAll(async () => {
  await admin.deleteTopics({ topics: [dlq, input] }).catch(() => undefined);
  await admin.disconnect();
});

const letter = (offset: number): DeadLetter => ({
  topic: input,
  partition: 0,
  message: {
    key: null,
    value: Buffer.from(`bad ${offset}`),
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: {},
  },
  reason: 'undecodable',
  detail: `record ${offset}`,
});

/** The DLQ's records as a reader with the given isolation sees them. */
async function readDlq(readUncommitted: boolean): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: `${id}.reader.${randomBytes(3).toString('hex')}`,
    readUncommitted,
  });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: dlq, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => Promise.resolve(void seen.push(message.value?.toString() ?? '')),
  });
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  await consumer.disconnect();
  return seen;
}

describe('transactional dead letters', { timeout: 60_000 }, () => {
  it('commits the letters and the consumer offset together', async () => {
    const sender = createTransactionalDeadLetters(kafka, {
      topic: dlq,
      groupId,
      clientId: 'dlq-sender-test',
    });
    await sender.connect();
    try {
      // Two batches at once: they queue on the producer's one transaction at a time.
      await Promise.all([
        sender.send([letter(3)], { topic: input, partition: 0, offset: '5' }),
        sender.send([letter(7)], { topic: input, partition: 0, offset: '9' }),
      ]);
    } finally {
      await sender.disconnect();
    }
    expect((await readDlq(false)).sort()).toEqual(['bad 3', 'bad 7']);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(committed?.partitions).toEqual([{ partition: 0, offset: '9', metadata: null }]);
  });

  it('aborts when its fence throws (the instance may have lost the partition): no letter, no offset', async () => {
    const fencedGroup = `${groupId}.fenced`;
    const sender = createTransactionalDeadLetters(kafka, {
      topic: dlq,
      groupId: fencedGroup,
      clientId: 'dlq-sender-test',
    });
    await sender.connect();
    try {
      await expect(
        sender.send([letter(11)], { topic: input, partition: 0, offset: '12' }, () =>
          Promise.reject(new Error('the group rebalanced')),
        ),
      ).rejects.toThrow('the group rebalanced');
      // The producer is usable again: the next batch's transaction commits.
      await sender.send([letter(13)], { topic: input, partition: 0, offset: '14' }, () => Promise.resolve());
    } finally {
      await sender.disconnect();
    }
    const letters = await readDlq(false);
    expect(letters).not.toContain('bad 11');
    expect(letters).toContain('bad 13');
    expect(await readDlq(true)).toContain('bad 11');
    const [committed] = await admin.fetchOffsets({ groupId: fencedGroup, topics: [input] });
    expect(committed?.partitions).toEqual([{ partition: 0, offset: '14', metadata: null }]);
  });

  it('shows nothing of a transaction that was not committed to read_committed readers', async () => {
    const producer = kafka.producer({
      transactionalId: `${id}.aborted`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send({ topic: dlq, messages: [{ value: 'aborted letter' }] });
    await transaction.abort();
    await producer.disconnect();
    expect(await readDlq(true)).toContain('aborted letter');
    expect(await readDlq(false)).not.toContain('aborted letter');
  });
});
