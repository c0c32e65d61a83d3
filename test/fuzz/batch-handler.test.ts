/**
 * Fuzzing the streaming entry point: the real Avro codec (real registry client, real avsc) over
 * an in-process registry, and the real batch handler, fed batches of random messages — valid
 * records with hostile fields, mutated and random bytes behind a valid magic byte and schema id,
 * unknown schema ids, newer and foreign schema versions, tombstones, missing keys and headers.
 * Properties: the handler always resolves while the store is up (no stalled partition), and every
 * message is either handed to processing or dead-lettered with a known reason and a bounded detail.
 */
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAvroCodec,
  createSchemaRegistry,
  readSchema,
  type AvroCodec,
} from '../../src/adapters/kafka/avro-codec.js';
import { createBatchHandler } from '../../src/adapters/kafka/batch-handler.js';
import type { DeadLetter } from '../../src/adapters/kafka/dead-letters.js';
import { DEFAULT_TOPICS } from '../../src/adapters/kafka/topics.js';
import { buildVocabularies } from '../../src/cli/settings.js';
import type { DomainEvent } from '../../src/domain/events.js';
import { REJECT_REASONS } from '../../src/domain/validate.js';
import { AppError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics.js';
import { startFakeRegistry, type FakeRegistry } from './support/fake-registry.js';
import {
  channelText,
  hostileMillis,
  hostileNanos,
  hostileText,
  idText,
  segmentText,
} from './support/hostile.js';

const TOPICS = DEFAULT_TOPICS;
const INPUT_TOPICS = [TOPICS.touchpoints, TOPICS.contacts, TOPICS.opportunities] as const;
const REASONS = new Set<string>([...REJECT_REASONS, 'undecodable', 'unknown_schema', 'processing_error']);
const MAX_DETAIL = 1000;
const UNKNOWN_ID = 987_654;

let registry: FakeRegistry;
let codec: AvroCodec;
/** Schema ids the codec did not register: a newer touchpoint version, a foreign record, non-records. */
const extra: Record<'touchV2' | 'foreign' | 'string' | 'null' | 'nullable' | 'scale2', number> = {
  touchV2: 0,
  foreign: 0,
  string: 0,
  null: 0,
  nullable: 0,
  scale2: 0,
};

beforeAll(async () => {
  registry = await startFakeRegistry();
  codec = await createAvroCodec(createSchemaRegistry(registry.url), TOPICS);
  const touch = JSON.parse(readSchema('touchpoint')) as { fields: unknown[] };
  extra.touchV2 = registry.add(
    `${TOPICS.touchpoints}-value`,
    JSON.stringify({
      ...touch,
      fields: [...touch.fields, { name: 'future_field', type: ['null', 'string'], default: null }],
    }),
  );
  extra.foreign = registry.add(
    'other-value',
    JSON.stringify({
      type: 'record',
      name: 'Foreign',
      fields: [
        { name: 'n', type: 'int' },
        { name: 's', type: 'string' },
      ],
    }),
  );
  extra.string = registry.add('other-value', '"string"');
  extra.null = registry.add('other-value', '"null"');
  extra.nullable = registry.add(
    'other-value',
    JSON.stringify(['null', { type: 'record', name: 'Maybe', fields: [{ name: 'n', type: 'int' }] }]),
  );
  extra.scale2 = registry.add(
    'other-value',
    JSON.stringify({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }),
  );
});
afterAll(() => registry.close());

const frame = (id: number, payload: Uint8Array): Buffer => {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, payload]);
};

/** A value a real producer would send, with hostile field contents; encoded at the test's start. */
type Plan =
  | { kind: 'touch'; value: Record<string, unknown> }
  | { kind: 'contact'; value: Record<string, unknown> }
  | { kind: 'opportunity'; value: Record<string, unknown> };

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 5 });
const planArb: fc.Arbitrary<Plan> = fc.oneof(
  fc
    .record({
      touchpoint_id: idText('T'),
      source: fc.constantFrom('marketing', 'sales', 'telepathy', ''),
      channel: channelText,
      contact_id: optional(idText('C')),
      occurred_at: hostileMillis,
      email: optional(hostileText),
    })
    .map((value) => ({ kind: 'touch' as const, value })),
  fc
    .record({ contact_id: idText('C'), account_id: optional(idText('A')), updated_at: hostileMillis })
    .map((value) => ({ kind: 'contact' as const, value })),
  fc
    .record({
      opportunity_id: idText('O'),
      op: fc.constantFrom('UPSERT', 'DELETE'),
      account_id: optional(idText('A')),
      amount: optional(hostileNanos),
      created_at: optional(hostileMillis),
      sales_segment: optional(segmentText),
      updated_at: hostileMillis,
    })
    .map((value) => ({ kind: 'opportunity' as const, value })),
);
const topicOf = (plan: Plan): string =>
  plan.kind === 'touch'
    ? TOPICS.touchpoints
    : plan.kind === 'contact'
      ? TOPICS.contacts
      : TOPICS.opportunities;
const keyOf = (plan: Plan): object =>
  plan.kind === 'touch'
    ? { contact_id: typeof plan.value['contact_id'] === 'string' ? plan.value['contact_id'] : '' }
    : plan.kind === 'contact'
      ? { contact_id: plan.value['contact_id'] }
      : { opportunity_id: plan.value['opportunity_id'] };

/** How one message's value (and key) are made from a plan. */
type Shape =
  | { kind: 'valid' }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'known-id-random'; bytes: Uint8Array }
  | { kind: 'unknown-id'; bytes: Uint8Array }
  | { kind: 'extra-id'; which: keyof typeof extra; bytes: Uint8Array }
  | { kind: 'touch-v2' }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'tombstone' }
  | { kind: 'empty' };

const bytes = fc.uint8Array({ maxLength: 64 });
const shapeArb: fc.Arbitrary<Shape> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'valid' as const }), weight: 6 },
  {
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      at: fc.nat(),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('known-id-random' as const), bytes }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('unknown-id' as const), bytes }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('extra-id' as const),
      which: fc.constantFrom(...(Object.keys(extra) as (keyof typeof extra)[])),
      // What the "null", nullable union and "string" schemas decode cleanly (null, null, "A").
      bytes: fc.oneof(
        fc.constant(new Uint8Array(0)),
        fc.constant(Uint8Array.from([0])),
        fc.constant(Uint8Array.from([2, 65])),
        bytes,
      ),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'touch-v2' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('random' as const), bytes }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'tombstone' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'empty' as const }), weight: 1 },
);

const messageArb = fc.record({
  plan: planArb,
  value: shapeArb,
  key: fc.constantFrom('valid', 'missing', 'garbage', 'unknown-id'),
  timestamp: fc.oneof(hostileMillis.map(String), fc.constantFrom('-1', 'abc', '', '1e30')),
  headers: fc.constantFrom(undefined, {}, { 'content-type': Buffer.from('avro') }),
});
type MessageSpec = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

async function encodeOrNull(encode: () => Promise<Buffer>): Promise<Buffer | null> {
  try {
    return await encode();
  } catch {
    return null; // not encodable with our schema (e.g. an amount beyond 2^... is fine; a bad enum is not)
  }
}

async function valueBytes(spec: MessageSpec, topic: string): Promise<Buffer | null> {
  const shape = spec.value;
  const valid =
    (await encodeOrNull(() => codec.encodeValue(topic, spec.plan.value))) ??
    frame(codec.ids[topic]?.value ?? 1, Buffer.from([2]));
  switch (shape.kind) {
    case 'valid':
      return valid;
    case 'flip': {
      const copy = Buffer.from(valid);
      const at = shape.at % copy.length;
      copy[at] = (copy[at] ?? 0) ^ shape.xor;
      return copy;
    }
    case 'truncate':
      return valid.subarray(0, shape.keep % valid.length);
    case 'append':
      return Buffer.concat([valid, shape.bytes]);
    case 'known-id-random':
      return frame(codec.ids[topic]?.value ?? 1, shape.bytes);
    case 'unknown-id':
      return frame(UNKNOWN_ID, shape.bytes);
    case 'extra-id':
      return frame(extra[shape.which], shape.bytes);
    case 'touch-v2': {
      const registryClient = createSchemaRegistry(registry.url);
      return (
        (await encodeOrNull(() =>
          registryClient.encode(extra.touchV2, { ...spec.plan.value, future_field: 'c-1' }),
        )) ?? valid
      );
    }
    case 'random':
      return Buffer.from(shape.bytes);
    case 'tombstone':
      return null;
    case 'empty':
      return Buffer.alloc(0);
  }
}

async function keyBytes(spec: MessageSpec, topic: string): Promise<Buffer | null> {
  switch (spec.key) {
    case 'missing':
      return null;
    case 'garbage':
      return Buffer.from('not avro');
    case 'unknown-id':
      return frame(UNKNOWN_ID, Buffer.from([2, 65]));
    case 'valid':
      return (await encodeOrNull(() => codec.encodeKey(topic, keyOf(spec.plan)))) ?? null;
  }
}

async function toMessages(specs: readonly MessageSpec[], topic: string): Promise<KafkaMessage[]> {
  const messages: KafkaMessage[] = [];
  for (const [i, spec] of specs.entries()) {
    messages.push({
      key: await keyBytes(spec, topic),
      value: await valueBytes(spec, topic),
      offset: String(i),
      timestamp: spec.timestamp,
      attributes: 0,
      ...(spec.headers === undefined ? {} : { headers: spec.headers }),
    } as KafkaMessage);
  }
  return messages;
}

/** The handler with a process function that fails (not retriably) for the events `poison` picks. */
function harness(poison: (event: DomainEvent) => boolean) {
  const letters: DeadLetter[] = [];
  let processed = 0;
  const handle = createBatchHandler({
    codec,
    topics: TOPICS,
    vocab: buildVocabularies(),
    process: (events) => {
      if (events.some(poison)) return Promise.reject(new RangeError('poison event'));
      processed += events.length;
      return Promise.resolve({ decisions: events.map(() => 'apply' as const) });
    },
    sendDeadLetters: (sent) => {
      letters.push(...sent);
      return Promise.resolve();
    },
    metrics: createMetrics(),
    clock: () => 0,
    sleep: () => Promise.resolve(),
    log: () => undefined,
    piiKey: 'a-key-of-16-chars',
  });
  return { handle, letters, processed: () => processed };
}

const batchArb = fc.record({
  topicIndex: fc.nat({ max: INPUT_TOPICS.length - 1 }),
  /** Most messages go to their own topic; some land on another input topic (a producer's mistake). */
  sameTopic: fc.boolean(),
  specs: fc.array(messageArb, { minLength: 1, maxLength: 12 }),
  poisonEvery: fc.option(fc.integer({ min: 2, max: 5 }), { nil: null }),
});

describe('fuzz: batch handler over the real Avro codec', () => {
  it('always resolves, and every message is processed or dead-lettered with a known reason and bounded detail', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async ({ topicIndex, sameTopic, specs, poisonEvery }) => {
        const topic = sameTopic ? topicOf(specs[0]!.plan) : INPUT_TOPICS[topicIndex]!;
        const messages = await toMessages(specs, topic);
        let seen = 0;
        const { handle, letters, processed } = harness(
          () => poisonEvery !== null && ++seen % poisonEvery === 0,
        );
        await handle(topic, 0, messages);
        for (const letter of letters) {
          expect(REASONS.has(letter.reason), letter.reason).toBe(true);
          expect(letter.detail.length).toBeGreaterThan(0);
          expect(letter.detail.length, letter.detail.slice(0, 200)).toBeLessThanOrEqual(MAX_DETAIL);
          expect(letter.topic).toBe(topic);
        }
        const offsets = letters.map((l) => l.message.offset);
        expect(new Set(offsets).size).toBe(offsets.length);
        expect(processed() + letters.length).toBe(messages.length);
      }),
      { numRuns: 250 },
    );
  });

  it('throws (for Kafka to redeliver) and dead-letters nothing while the store is down', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 6 }), async (specs) => {
        const topic = topicOf(specs[0]!.plan);
        const messages = await toMessages(specs, topic);
        const letters: DeadLetter[] = [];
        const handle = createBatchHandler({
          codec,
          topics: TOPICS,
          vocab: buildVocabularies(),
          process: () => Promise.reject(new AppError('STORE_UNAVAILABLE', 'redis down', { retriable: true })),
          sendDeadLetters: (sent) => {
            letters.push(...sent);
            return Promise.resolve();
          },
          metrics: createMetrics(),
          clock: () => 0,
          sleep: () => Promise.resolve(),
          log: () => undefined,
        });
        const outcome = await handle(topic, 0, messages).then(
          () => 'resolved',
          (error: unknown) =>
            error instanceof AppError && error.retriable ? 'retriable' : `other: ${String(error)}`,
        );
        // A batch with nothing valid has nothing to store: it resolves, its letters sent.
        expect(['resolved', 'retriable']).toContain(outcome);
        if (outcome === 'retriable') expect(letters).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
