/**
 * Why the chaos suite reads the DLQ through scripts/chaos/committed-records.ts: on the real
 * broker, when a transaction that began first is aborted last, kafkajs 2.2.4's read_committed
 * consumer returns its record (the broker lists aborted transactions in abort order; kafkajs
 * assumes first-offset order). The verifier's reader returns only what was committed. If the
 * kafkajs assertion ever fails, kafkajs was fixed and the workaround can go.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { readTopics } from '../../scripts/chaos/verify.js';
import { SERVICES } from '../support/services.js';

const kafka = createKafka({
  brokers: SERVICES.KAFKA_BROKERS.split(','),
  clientId: 'committed-records-test',
  log: () => undefined,
});
const admin = kafka.admin();
const topic = `committed_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  const p1 = kafka.producer({ transactionalId: `${topic}-1`, idempotent: true, maxInFlightRequests: 1 });
  const p2 = kafka.producer({ transactionalId: `${topic}-2`, idempotent: true, maxInFlightRequests: 1 });
  const plain = kafka.producer();
  await Promise.all([p1.connect(), p2.connect(), plain.connect()]);
  try {
    const t1 = await p1.transaction();
    await t1.send({ topic, messages: [{ value: 'p1 aborted last' }] });
    const t2 = await p2.transaction();
    await t2.send({ topic, messages: [{ value: 'p2 aborted first' }] });
    await t2.abort();
    await plain.send({ topic, messages: [{ value: 'plain' }] });
    const t3 = await p2.transaction();
    await t3.send({ topic, messages: [{ value: 'p2 committed' }] });
    await t3.commit();
    await t1.abort();
  } finally {
    await Promise.all([p1.disconnect(), p2.disconnect(), plain.disconnect()]);
  }
}, 60_000);
afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

/** What a plain kafkajs read_committed consumer hands the application. */
async function kafkajsReadCommitted(): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `${topic}.plain.${randomBytes(3).toString('hex')}` });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachBatch: ({ batch }) => {
      for (const m of batch.messages) seen.push(m.value?.toString() ?? '');
      if (Number(batch.lastOffset()) >= 6) done(); // 4 records, 3 markers: offsets 0-6
      return Promise.resolve();
    },
  });
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  await consumer.disconnect();
  return seen;
}

describe('reading committed records when transactions interleave', () => {
  it('kafkajs read_committed lets the first-begun, last-aborted record through', async () => {
    expect(await kafkajsReadCommitted()).toEqual(['p1 aborted last', 'plain', 'p2 committed']);
  }, 30_000);

  it('the verifier reads exactly the committed and plain records', async () => {
    const read = await readTopics(kafka, `${topic}.verifier`, [topic], 20_000);
    expect((read.get(topic) ?? []).map((m) => m.value?.toString())).toEqual(['plain', 'p2 committed']);
  }, 30_000);
});
