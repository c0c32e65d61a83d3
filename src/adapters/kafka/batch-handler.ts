import type { KafkaMessage } from 'kafkajs';
import { validateRecord } from '../../app/ingest.js';
import { UNASSIGNED } from '../../domain/channel-rules.js';
import type { Decision } from '../../domain/decide.js';
import type { DomainEvent } from '../../domain/events.js';
import type { Vocabularies } from '../../domain/validate.js';
import { isAppError, isStateLost } from '../../errors.js';
import type { OutageTracker } from '../../app/outage.js';
import type { Metrics } from '../../metrics.js';
import type { AvroCodec } from './avro-codec.js';
import type { DeadLetter } from './dead-letters.js';
import { protectEmail } from './personal-data.js';
import { toSourcedRecord } from './records.js';
import type { TopicNames } from './topics.js';

export interface BatchHandlerDeps {
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly vocab: Vocabularies;
  /**
   * Records valid events of one source (topic/partition) and marks what they affect;
   * `markedAt` is the earliest Kafka timestamp among them (attribution latency starts there).
   */
  readonly process: (
    events: readonly DomainEvent[],
    source: string,
    markedAt: number,
  ) => Promise<{ readonly decisions: readonly Decision[] }>;
  /**
   * Sends the batch's dead letters; `through` is the offset after the batch's last record, for a
   * sender that commits it with them (one Kafka transaction: letters exactly once).
   */
  readonly sendDeadLetters: (
    letters: readonly DeadLetter[],
    through: CommitPoint,
    fence?: () => Promise<void>,
  ) => Promise<void>;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (level: 'warn' | 'error', message: string) => void;
  /** Key of the hash that replaces e-mail addresses (PII_HASH_KEY); without it they are dropped. */
  readonly piiKey?: string;
  /**
   * Told of each retriable failure and of the success after it (one log line per outage, not
   * per retry); without it each retry is logged.
   */
  readonly outage?: OutageTracker;
}

/** The consumer position after a batch: committing it says every record before it is done. */
export interface CommitPoint {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (last record's offset + 1), as Kafka's string. */
  readonly offset: string;
}

const OUTCOME_LABEL: Record<Decision, string> = {
  apply: 'accepted',
  duplicate: 'duplicate',
  stale: 'superseded',
  'conflict-replace': 'conflict',
  'conflict-keep': 'conflict',
};
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000, 8000];

/**
 * Handles one partition's batch: decode, validate (the same path as batch replay), process the
 * valid events in one go, and send everything refused to the dead-letter topic. A bad record
 * never stalls its partition; a store that is down is retried with back-off, never dead-lettered.
 */
export function createBatchHandler(deps: BatchHandlerDeps) {
  return async function handleBatch(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
    /** Throws if this instance may no longer own the partition; checked before letters are committed. */
    fence?: () => Promise<void>,
  ): Promise<void> {
    const events: DomainEvent[] = [];
    const sources: KafkaMessage[] = [];
    const letters: DeadLetter[] = [];
    /** Re-encoded values of records that carried an e-mail, in case they are dead-lettered. */
    const protectedValues = new Map<KafkaMessage, Buffer>();
    for (const message of messages) {
      const origin = { source: topic, location: `${topic}/${partition}@${message.offset}` };
      // A registry that cannot be reached is an outage (retried), not a bad record.
      const key =
        message.key === null ? null : await withRetry(() => deps.codec.decode(message.key as Buffer));
      const value =
        message.value === null ? null : await withRetry(() => deps.codec.decode(message.value as Buffer));
      if (value !== null && !value.ok) {
        letters.push({ topic, partition, message, reason: value.reason, detail: value.detail });
        continue;
      }
      const email = value?.ok === true ? value.value['email'] : undefined;
      if (value?.ok === true && typeof email === 'string') {
        // If the record cannot be re-encoded with our schema, its value is withheld (empty)
        // rather than letting the address reach the dead-letter topic.
        const reencoded = await deps.codec
          .encodeValue(topic, { ...value.value, email: protectEmail(email, deps.piiKey) })
          .catch(() => Buffer.alloc(0));
        protectedValues.set(message, reencoded);
      }
      const record = toSourcedRecord(
        deps.topics,
        topic,
        key?.ok === true ? key.value : null,
        value?.value ?? null,
        origin,
        Number(message.timestamp),
      );
      const validated = validateRecord(record, deps.vocab);
      if (!validated.ok) {
        letters.push({
          topic,
          partition,
          message,
          reason: validated.rejection.reason,
          detail: validated.rejection.detail,
        });
        continue;
      }
      events.push(validated.value);
      sources.push(message);
    }

    const outcomes = await processIsolating(events, sources, topic, partition, letters);
    outcomes.forEach((decision, i) => {
      const message = sources[i];
      if (message === undefined || decision === null) return;
      deps.metrics.eventsIn.inc({ topic, outcome: OUTCOME_LABEL[decision] });
      const event = events[i];
      if (decision === 'apply' && event?.kind === 'touch' && event.touch.channel === UNASSIGNED)
        deps.metrics.notices.inc({ notice: 'unmapped_channel' });
      if (decision === 'conflict-keep' || decision === 'conflict-replace') {
        const kept = decision === 'conflict-replace' ? 'this record' : 'the earlier record';
        letters.push({
          topic,
          partition,
          message,
          reason: 'conflicting_duplicate',
          detail: `same id and version as an earlier record with different content; kept ${kept}`,
        });
      }
    });
    if (letters.length > 0) {
      const last = messages.at(-1);
      const through = {
        topic,
        partition,
        offset: last === undefined ? '0' : (BigInt(last.offset) + 1n).toString(),
      };
      await deps.sendDeadLetters(
        letters.map((letter) => {
          const protectedValue = protectedValues.get(letter.message);
          return protectedValue === undefined ? letter : { ...letter, protectedValue };
        }),
        through,
        fence,
      );
    }
    for (const letter of letters) {
      if (letter.reason !== 'conflicting_duplicate')
        deps.metrics.eventsIn.inc({ topic, outcome: 'rejected' });
      deps.metrics.dlq.inc({ topic, reason: letter.reason });
    }
    deps.metrics.batchSize.observe(messages.length);
  };

  /** Processes all events; if that fails for a reason a retry cannot fix, finds the poison event alone. */
  async function processIsolating(
    events: DomainEvent[],
    sources: KafkaMessage[],
    topic: string,
    partition: number,
    letters: DeadLetter[],
  ): Promise<(Decision | null)[]> {
    if (events.length === 0) return [];
    let markedAt = Infinity;
    for (const message of sources) markedAt = Math.min(markedAt, Number(message.timestamp));
    if (!Number.isFinite(markedAt)) markedAt = deps.clock();
    try {
      return [
        ...(await withRetry(() => deps.process(events, `${topic}/${partition}`, markedAt), true)).decisions,
      ];
    } catch (error) {
      // A store outage, or a state that is gone (it is rebuilt, then the batch runs again): no
      // record is at fault, so none is isolated or dead-lettered.
      if (isAppError(error) && (error.retriable || isStateLost(error))) throw error;
      deps.log(
        'warn',
        `batch on ${topic}/${partition} failed (${(error as Error).message}); isolating the record at fault`,
      );
    }
    const outcomes: (Decision | null)[] = [];
    for (const [i, event] of events.entries()) {
      try {
        outcomes.push(
          (await withRetry(() => deps.process([event], `${topic}/${partition}`, markedAt), true))
            .decisions[0] ?? null,
        );
      } catch (error) {
        if (isAppError(error) && (error.retriable || isStateLost(error))) throw error;
        const message = sources[i];
        if (message !== undefined)
          letters.push({
            topic,
            partition,
            message,
            reason: 'processing_error',
            detail: (error as Error).message,
          });
        outcomes.push(null);
      }
    }
    return outcomes;
  }

  async function withRetry<T>(run: () => Promise<T>, storeWrite = false): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await run();
        // A success after a failure ends the outage; so does any store write (`process`) — the
        // outage may have begun in another batch — but not a decode served from the cache.
        if (attempt > 0 || storeWrite) deps.outage?.succeeded();
        return result;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (!isAppError(error) || !error.retriable || delay === undefined) throw error;
        if (deps.outage === undefined) deps.log('warn', `retrying after ${delay} ms: ${error.message}`);
        else deps.outage.failed(error);
        await deps.sleep(delay);
      }
    }
  }
}
