/**
 * The dead-letter sender's failure paths, on a fake kafkajs (the real broker is in
 * test/integration/dead-letter-sender.test.ts): a commit cut off part-way replaces the producer
 * and asks the group's committed offset whether it landed.
 */
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createTransactionalDeadLetters } from '../../../src/adapters/kafka/dead-letter-sender.js';
import type { DeadLetter } from '../../../src/adapters/kafka/dead-letters.js';

interface FakeOptions {
  /** Per producer made (0 = the first): its commit throws. */
  readonly commitFails?: readonly number[];
  readonly abortFails?: boolean;
  /** The group's committed offset of in/0 as the admin reports it. */
  committed: string;
}

function fakeKafka(options: FakeOptions) {
  const calls: string[] = [];
  const transactionalIds: string[] = [];
  let made = 0;
  const kafka = {
    producer: (config: { transactionalId: string }) => {
      const n = made++;
      transactionalIds.push(config.transactionalId);
      return {
        connect: () => Promise.resolve(void calls.push(`p${n} connect`)),
        disconnect: () => Promise.resolve(void calls.push(`p${n} disconnect`)),
        transaction: () =>
          Promise.resolve({
            send: () => Promise.resolve(void calls.push(`p${n} send`)),
            sendOffsets: () => Promise.resolve(void calls.push(`p${n} sendOffsets`)),
            commit: () => {
              calls.push(`p${n} commit`);
              return options.commitFails?.includes(n)
                ? Promise.reject(new Error('Connection error: ECONNREFUSED'))
                : Promise.resolve();
            },
            abort: () => {
              calls.push(`p${n} abort`);
              return options.abortFails === true ? Promise.reject(new Error('bad state')) : Promise.resolve();
            },
          }),
      };
    },
    admin: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchOffsets: () =>
        Promise.resolve([
          { topic: 'in', partitions: [{ partition: 0, offset: options.committed, metadata: null }] },
        ]),
    }),
  } as unknown as Kafka;
  return { kafka, calls, transactionalIds };
}

const letter: DeadLetter = {
  topic: 'in',
  partition: 0,
  message: { key: null, value: Buffer.from('x'), offset: '4', timestamp: '0', attributes: 0, headers: {} },
  reason: 'undecodable',
  detail: 'x',
};
const through = { topic: 'in', partition: 0, offset: '5' };

async function sender(options: FakeOptions) {
  const fake = fakeKafka(options);
  const s = createTransactionalDeadLetters(fake.kafka, { topic: 'dlq', groupId: 'g', clientId: 'c' });
  await s.connect();
  return { ...fake, sender: s };
}

describe('the transactional dead-letter sender when things fail', () => {
  it('a commit cut off that landed: a new producer under the same id, and the batch counts as done', async () => {
    const { sender: s, calls, transactionalIds } = await sender({ commitFails: [0], committed: '5' });
    await expect(s.send([letter], through)).resolves.toBeUndefined();
    expect(calls).toEqual([
      'p0 connect',
      'p0 send',
      'p0 sendOffsets',
      'p0 commit',
      'p0 disconnect',
      'p1 connect',
    ]);
    expect(new Set(transactionalIds).size).toBe(1);
  });

  it('a commit cut off that did not land: the batch fails (it runs again), and the next one uses the new producer', async () => {
    const fake = await sender({ commitFails: [0], committed: '2' });
    await expect(fake.sender.send([letter], through)).rejects.toThrow('ECONNREFUSED');
    await fake.sender.send([letter], through);
    expect(fake.calls.filter((c) => c.startsWith('p1 '))).toEqual([
      'p1 connect',
      'p1 send',
      'p1 sendOffsets',
      'p1 commit',
    ]);
  });

  it('a fence that throws aborts on the same producer; an abort that fails replaces the producer', async () => {
    const kept = await sender({ committed: '-1' });
    await expect(
      kept.sender.send([letter], through, () => Promise.reject(new Error('rebalanced'))),
    ).rejects.toThrow('rebalanced');
    expect(kept.calls).toEqual(['p0 connect', 'p0 send', 'p0 sendOffsets', 'p0 abort']);

    const replaced = await sender({ committed: '-1', abortFails: true });
    await expect(
      replaced.sender.send([letter], through, () => Promise.reject(new Error('rebalanced'))),
    ).rejects.toThrow('rebalanced');
    expect(replaced.calls).toEqual([
      'p0 connect',
      'p0 send',
      'p0 sendOffsets',
      'p0 abort',
      'p0 disconnect',
      'p1 connect',
    ]);
  });
});
