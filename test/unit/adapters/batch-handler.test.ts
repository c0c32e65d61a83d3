/**
 * The batch handler with a fake codec (values are JSON behind a one-byte tag) and a scripted
 * process function: which records reach the DLQ and why, and that a store outage is retried,
 * never dead-lettered.
 */
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { AvroCodec, DecodeResult } from '../../../src/adapters/kafka/avro-codec.js';
import { createBatchHandler } from '../../../src/adapters/kafka/batch-handler.js';
import type { CommitPoint } from '../../../src/adapters/kafka/batch-handler.js';
import type { DeadLetter } from '../../../src/adapters/kafka/dead-letters.js';
import { DEFAULT_TOPICS } from '../../../src/adapters/kafka/topics.js';
import { buildVocabularies } from '../../../src/cli/settings.js';
import type { Decision } from '../../../src/domain/decide.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { AppError } from '../../../src/errors.js';
import { createMetrics } from '../../../src/metrics.js';

const T = Date.UTC(2024, 0, 10);
const codec: AvroCodec = {
  ids: {},
  encodeKey: (_topic, key) =>
    Promise.resolve(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(key))])),
  encodeValue: (_topic, value) =>
    Promise.resolve(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value))])),
  decode: (buffer): Promise<DecodeResult> =>
    Promise.resolve(
      buffer[0] === 1
        ? {
            ok: true,
            value: JSON.parse(buffer.subarray(1).toString()) as Record<string, unknown>,
            schemaId: 1,
          }
        : { ok: false, reason: 'undecodable', detail: 'not framed' },
    ),
};

let offset = 0;
const message = (value: Record<string, unknown> | Buffer): KafkaMessage => ({
  key: null,
  value: Buffer.isBuffer(value)
    ? value
    : Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value))]),
  offset: String(offset++),
  timestamp: String(T),
  attributes: 0,
  headers: {},
});
const touch = (id: string, extra: Record<string, unknown> = {}) =>
  message({
    touchpoint_id: id,
    source: 'marketing',
    channel: 'Webinar',
    contact_id: 'C1',
    occurred_at: T,
    email: null,
    ...extra,
  });

type Outcome = { readonly decisions: readonly Decision[] };

function handler(process: (events: readonly DomainEvent[]) => Promise<Outcome>, piiKey?: string) {
  const letters: DeadLetter[] = [];
  const commits: CommitPoint[] = [];
  const slept: number[] = [];
  const metrics = createMetrics();
  const handle = createBatchHandler({
    codec,
    topics: DEFAULT_TOPICS,
    vocab: buildVocabularies(),
    process: (events) => process(events),
    sendDeadLetters: (sent, through) => {
      letters.push(...sent);
      commits.push(through);
      return Promise.resolve();
    },
    metrics,
    clock: () => T + 1000,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    log: () => undefined,
    piiKey,
  });
  return {
    handle: (messages: KafkaMessage[]) => handle(DEFAULT_TOPICS.touchpoints, 0, messages),
    letters,
    commits,
    slept,
    metrics,
  };
}

const outcome = (decisions: Decision[]): Outcome => ({ decisions });

describe('batch handler', () => {
  it('dead-letters undecodable and invalid records with their reason and processes the rest', async () => {
    const seen: string[] = [];
    const { handle, letters, commits } = handler((events) => {
      seen.push(...events.map((e) => (e.kind === 'touch' ? e.touch.id : '?')));
      return Promise.resolve(outcome(events.map(() => 'apply')));
    });
    await handle([
      touch('T1'),
      message(Buffer.from('garbage')),
      touch('T2', { channel: 'Telepathy' }),
      touch('T3', { contact_id: null }),
      touch('T4'),
    ]);
    expect(seen).toEqual(['T1', 'T4']);
    // One send for the batch, with the position after its last record (T4) to commit with it.
    expect(commits).toEqual([{ topic: DEFAULT_TOPICS.touchpoints, partition: 0, offset: String(offset) }]);
    expect(letters.map((l) => [l.message.offset, l.reason])).toEqual([
      [String(offset - 4), 'undecodable'],
      [String(offset - 3), 'unknown_channel'],
      [String(offset - 2), 'missing_contact'],
    ]);
  });

  it('dead-letters both sides of a conflict as conflicting_duplicate', async () => {
    const { handle, letters } = handler((events) =>
      Promise.resolve(outcome(events.map((_, i) => (i === 0 ? 'conflict-keep' : 'conflict-replace')))),
    );
    await handle([touch('T1'), touch('T2')]);
    expect(letters.map((l) => l.reason)).toEqual(['conflicting_duplicate', 'conflicting_duplicate']);
    expect(letters[0]?.detail).toContain('kept the earlier record');
    expect(letters[1]?.detail).toContain('kept this record');
  });

  it('finds the one event a retry cannot fix, dead-letters it as processing_error, keeps the others', async () => {
    const applied: string[] = [];
    const { handle, letters } = handler((events) => {
      if (events.some((e) => e.kind === 'touch' && e.touch.id === 'POISON'))
        return Promise.reject(new RangeError('model returned invalid weights'));
      applied.push(...events.map((e) => (e.kind === 'touch' ? e.touch.id : '?')));
      return Promise.resolve(outcome(events.map(() => 'apply')));
    });
    await handle([touch('T1'), touch('POISON'), touch('T3')]);
    expect(letters.map((l) => [l.reason, l.detail, l.message.offset])).toEqual([
      ['processing_error', 'model returned invalid weights', String(offset - 2)],
    ]);
    // The other records of the batch were applied, each once, in order.
    expect(applied).toEqual(['T1', 'T3']);
  });

  it('retries a store outage with back-off and never dead-letters it', async () => {
    let failures = 3;
    const { handle, letters, slept } = handler((events) =>
      failures-- > 0
        ? Promise.reject(new AppError('STORE_UNAVAILABLE', 'redis down', { retriable: true }))
        : Promise.resolve(outcome(events.map(() => 'apply'))),
    );
    await handle([touch('T1')]);
    expect(slept).toEqual([100, 250, 500]);
    expect(letters).toEqual([]);
  });

  it('gives up on a long outage by throwing (Kafka redelivers the batch), still without dead letters', async () => {
    const { handle, letters, slept } = handler(() =>
      Promise.reject(new AppError('STORE_UNAVAILABLE', 'redis down', { retriable: true })),
    );
    await expect(handle([touch('T1')])).rejects.toThrow('redis down');
    expect(slept).toEqual([100, 250, 500, 1000, 2000, 4000, 8000]);
    expect(letters).toEqual([]);
  });

  it('stops at once on a lost state: no retry, no record isolated, nothing dead-lettered', async () => {
    let calls = 0;
    const { handle, letters, slept } = handler(() => {
      calls += 1;
      return Promise.reject(new AppError('STATE_LOST', 'Redis state lost: generation g1 is gone'));
    });
    await expect(handle([touch('T1'), touch('T2'), touch('T3')])).rejects.toMatchObject({
      code: 'STATE_LOST',
    });
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
    expect(letters).toEqual([]);
  });

  it('replaces an e-mail by its keyed hash in the dead-lettered value', async () => {
    const { handle, letters } = handler(
      (events) => Promise.resolve(outcome(events.map(() => 'apply'))),
      'a-key-of-16-chars',
    );
    await handle([touch('T1', { contact_id: null, email: 'ada@example.com' })]);
    const value = letters[0]?.protectedValue?.subarray(1).toString() ?? '';
    expect(value).not.toContain('ada@example.com');
    // printf '%s' 'ada@example.com' | openssl dgst -sha256 -hmac 'a-key-of-16-chars'
    expect(JSON.parse(value)).toMatchObject({
      email: 'hmac-sha256:118b476b9f5e4934722c45661f1c1a82105ac06e47b568d939058d3d9fda390c',
    });
  });
});
