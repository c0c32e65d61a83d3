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
  const producer: Producer = kafka.producer({
    transactionalId: `${options.clientId}-dlq-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: EXACTLY_ONCE_RETRY,
    createPartitioner: Partitioners.DefaultPartitioner,
    transactionTimeout: options.transactionTimeoutMs ?? 10_000,
  });
  let queue: Promise<void> = Promise.resolve();
  const sendOnce = async (
    letters: readonly DeadLetter[],
    through: CommitPoint,
    fence: (() => Promise<void>) | undefined,
  ): Promise<void> => {
    const transaction = await producer.transaction();
    try {
      await transaction.send({ topic: options.topic, acks: -1, messages: letters.map(toDeadLetterMessage) });
      await transaction.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [
          { topic: through.topic, partitions: [{ partition: through.partition, offset: through.offset }] },
        ],
      });
      await fence?.();
      await transaction.commit();
    } catch (error) {
      // Nothing of it is visible; the batch fails and is consumed again.
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  };
  return {
    connect: () => producer.connect(),
    send(letters, through, fence) {
      const sent = queue.then(() => sendOnce(letters, through, fence));
      queue = sent.catch(() => undefined);
      return sent;
    },
    disconnect: () => producer.disconnect(),
  };
}
