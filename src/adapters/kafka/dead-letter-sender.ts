import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { CommitPoint } from './batch-handler.js';
import { EXACTLY_ONCE_RETRY } from './client.js';
import { toDeadLetterMessage, type DeadLetter } from './dead-letters.js';

/**
 * Dead letters exactly once: a batch's letters and the consumer offset after that batch go in
 * one Kafka transaction. If the instance dies before the commit, the letters are aborted
 * (read_committed readers never see them) and the offset stays where it was, so the batch is
 * consumed again and its letters sent again, once. If it dies after, the offset is committed
 * and the batch is not redelivered. (KIP-98 transactions; kafkajs `transaction.sendOffsets`.)
 *
 * The transactional id is unique per process: kafkajs has no KIP-447 group-metadata fencing, and
 * two live instances must not fence each other. A killed process's open transaction is aborted
 * by the coordinator after `transactionTimeoutMs`; until then read_committed readers of the DLQ
 * wait at that partition's last stable offset (they do not read past it), so the timeout is kept
 * short. Transactions on one producer are one at a time: sends queue behind each other.
 *
 * Nor does kafkajs's TxnOffsetCommit (v0/v1) carry the group generation, so the broker takes the
 * offset from an instance that has lost the partition — and moves the group's committed offset
 * back if the new owner has committed further. `fence`, checked just before the commit, aborts
 * such a transaction when the instance knows it may have lost the partition (the service's
 * fence: a rebalance seen since the batch began, or a failed heartbeat).
 *
 * A commit cut off by a broker restart leaves kafkajs's transaction in "COMMITTING" for good
 * (every later `transaction()` throws) and its outcome unknown: the producer is replaced under
 * the same transactional id, which settles the transaction, and the group's committed offset
 * tells whether it landed (then the batch is done) or not (then it runs again).
 */
export interface DeadLetterSender {
  connect(): Promise<void>;
  /** Commits the letters with the offset `through`; `fence` throws to abort instead. */
  send(letters: readonly DeadLetter[], through: CommitPoint, fence?: () => Promise<void>): Promise<void>;
  disconnect(): Promise<void>;
}

export function createTransactionalDeadLetters(
  kafka: Kafka,
  options: {
    readonly topic: string;
    readonly groupId: string;
    readonly clientId: string;
    readonly transactionTimeoutMs?: number;
  },
): DeadLetterSender {
  const transactionalId = `${options.clientId}-dlq-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const newProducer = (): Producer =>
    kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: EXACTLY_ONCE_RETRY,
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionTimeout: options.transactionTimeoutMs ?? 10_000,
    });
  let producer = newProducer();
  const admin = kafka.admin();
  /**
   * A new producer under the same transactional id: its InitProducerId makes the coordinator
   * finish the last transaction (complete a commit it had prepared, abort one still open)
   * before it answers, and leaves no client state stuck in "COMMITTING".
   */
  const reset = async (): Promise<void> => {
    await producer.disconnect().catch(() => undefined);
    producer = newProducer();
    await producer.connect();
  };
  /** Whether the group's committed offset of the partition is at `through` or beyond. */
  const committedThrough = async (through: CommitPoint): Promise<boolean> => {
    const [offsets] = await admin.fetchOffsets({ groupId: options.groupId, topics: [through.topic] });
    const at = offsets?.partitions.find((p) => p.partition === through.partition)?.offset ?? '-1';
    return BigInt(at) >= BigInt(through.offset);
  };
  let queue: Promise<void> = Promise.resolve();
  const sendOnce = async (
    letters: readonly DeadLetter[],
    through: CommitPoint,
    fence: (() => Promise<void>) | undefined,
  ): Promise<void> => {
    const transaction = await producer.transaction();
    let committing = false;
    try {
      await transaction.send({ topic: options.topic, acks: -1, messages: letters.map(toDeadLetterMessage) });
      await transaction.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [
          { topic: through.topic, partitions: [{ partition: through.partition, offset: through.offset }] },
        ],
      });
      await fence?.();
      committing = true;
      await transaction.commit();
    } catch (error) {
      if (!committing) {
        // Nothing of it is visible; the batch fails and is consumed again.
        if (
          !(await transaction.abort().then(
            () => true,
            () => false,
          ))
        )
          await reset();
        throw error;
      }
      // The commit failed part-way (the broker went away mid-commit): it may have landed. Once
      // the coordinator has settled it, the offset says which: committed means the letters are
      // in and the batch is done; else they were aborted and the batch runs again. Sending them
      // again after a commit that landed would put each in the DLQ twice.
      await reset();
      if (await committedThrough(through)) return;
      throw error;
    }
  };
  return {
    connect: async () => {
      await admin.connect();
      await producer.connect();
    },
    send(letters, through, fence) {
      const sent = queue.then(() => sendOnce(letters, through, fence));
      queue = sent.catch(() => undefined);
      return sent;
    },
    disconnect: async () => {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
