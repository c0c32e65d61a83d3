/**
 * Poison records go to the dead-letter topic with their original bytes and Kafka Connect
 * error headers while good records keep flowing; answers are published to
 * attribution.pipeline.v1 with revisions, and a deletion publishes tombstones.
 */
import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createAvroCodec, createSchemaRegistry } from '../../src/adapters/kafka/avro-codec.js';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { topicsFromEnv } from '../../src/adapters/kafka/topics.js';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { readPipelineTable } from '../../src/adapters/postgres/queries.js';
import { startService } from '../../src/service.js';
import { cleanupIsolated, configOf, eventually, isolatedEnv, SERVICES } from '../support/services.js';

const pool = createPool(SERVICES.DATABASE_URL);
afterAll(() => closePool(pool));

const T = Date.UTC(2024, 5, 1);

describe('dead letters and published answers', { timeout: 180_000 }, () => {
  it('dead-letters garbage, unknown schemas and invalid content, keeps good records flowing, publishes revisions and tombstones', async () => {
    const env = isolatedEnv('dlq', { PII_HASH_KEY: 'e2e-key-0123456789' });
    const topics = topicsFromEnv(env);
    const service = await startService(configOf(env), () => undefined);
    const kafka = createKafka({
      brokers: [SERVICES.KAFKA_BROKERS],
      clientId: 'dlq-test',
      log: () => undefined,
    });
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `${env.KAFKA_GROUP_ID ?? ''}-reader` });
    const received: Record<string, KafkaMessage[]> = { [topics.dlq]: [], [topics.pipeline]: [] };
    try {
      const codec = await createAvroCodec(createSchemaRegistry(SERVICES.SCHEMA_REGISTRY_URL), topics);
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.dlq, topics.pipeline], fromBeginning: true });
      await consumer.run({
        eachMessage: ({ topic, message }) => Promise.resolve(void received[topic]?.push(message)),
      });

      const unknownSchema = Buffer.concat([Buffer.from([0, 0, 0x0f, 0x42, 0x3f]), Buffer.from('whatever')]);
      const opportunity = (id: string, amount: bigint, op = 'UPSERT') => ({
        opportunity_id: id,
        op,
        account_id: 'ACC1',
        amount,
        created_at: T,
        sales_segment: 'Enterprise',
        updated_at: op === 'DELETE' ? T + 1000 : T,
      });
      const send = async (topic: string, key: object, value: Buffer | null): Promise<void> => {
        await producer.send({ topic, messages: [{ key: await codec.encodeKey(topic, key), value }] });
      };
      await send(topics.touchpoints, { contact_id: 'C1' }, Buffer.from('garbage bytes'));
      await send(topics.touchpoints, { contact_id: 'C1' }, unknownSchema);
      const withEmail = {
        touchpoint_id: 'TP-PII',
        source: 'marketing',
        channel: 'Webinar',
        contact_id: null,
        occurred_at: T,
        email: 'ada@example.com',
      };
      await send(
        topics.touchpoints,
        { contact_id: '' },
        await codec.encodeValue(topics.touchpoints, withEmail),
      );
      await send(
        topics.opportunities,
        { opportunity_id: 'BAD' },
        await codec.encodeValue(topics.opportunities, opportunity('BAD', -5n)),
      );
      await send(
        topics.opportunities,
        { opportunity_id: 'GOOD' },
        await codec.encodeValue(topics.opportunities, opportunity('GOOD', 1_500_000_000_001n)),
      );

      const table = await eventually(
        () => readPipelineTable(pool, env.PG_SCHEMA ?? '').catch(() => []),
        (rows) => rows.length === 5,
      );
      expect(
        table.map((r) => [
          r.model,
          r.channel,
          r.sales_segment,
          r.pipeline_amount,
          Number(r.opportunity_count),
        ]),
      ).toEqual(
        ['first_touch', 'last_touch', 'linear', 'time_decay', 'u_shaped'].map((m) => [
          m,
          'Unattributed',
          'Enterprise',
          '1500.000000001',
          1,
        ]),
      );

      const letters = await eventually(
        () => Promise.resolve(received[topics.dlq] ?? []),
        (l) => l.length >= 4,
      );
      const byReason = new Map(letters.map((m) => [String(m.headers?.['touchline.error.reason']), m]));
      expect([...byReason.keys()].sort()).toEqual([
        'missing_contact',
        'negative_amount',
        'undecodable',
        'unknown_schema',
      ]);
      // The e-mail never reaches the DLQ in clear: it is replaced by its keyed hash.
      const pii = byReason.get('missing_contact');
      expect(String(pii?.headers?.['touchline.pii'])).toBe('email-protected');
      expect(pii?.value?.toString('latin1')).not.toContain('ada@example.com');
      const piiValue = pii?.value === null || pii?.value === undefined ? null : await codec.decode(pii.value);
      expect(piiValue?.ok === true ? piiValue.value : null).toMatchObject({
        touchpoint_id: 'TP-PII',
        // printf '%s' 'ada@example.com' | openssl dgst -sha256 -hmac 'e2e-key-0123456789'
        email: 'hmac-sha256:40effc8ca5543d0cf857f6f7f66dd67f66c8fad3c21ab055c731595034333abe',
      });
      const garbage = byReason.get('undecodable');
      expect(garbage?.value?.toString()).toBe('garbage bytes');
      expect(String(garbage?.headers?.['__connect.errors.topic'])).toBe(topics.touchpoints);
      expect(String(garbage?.headers?.['__connect.errors.offset'])).toMatch(/^\d+$/);
      expect(byReason.get('unknown_schema')?.value?.equals(unknownSchema)).toBe(true);
      expect(String(byReason.get('negative_amount')?.headers?.['__connect.errors.topic'])).toBe(
        topics.opportunities,
      );

      const answers = await eventually(
        () => Promise.resolve(received[topics.pipeline] ?? []),
        (l) => l.length >= 5,
      );
      const first = answers[0];
      const decoded =
        first?.value === null || first?.value === undefined ? null : await codec.decode(first.value);
      expect(decoded?.ok).toBe(true);
      expect(decoded?.ok === true ? decoded.value : null).toMatchObject({
        opportunity_id: 'GOOD',
        revision: 1,
        pipeline_amount: 1_500_000_000_001n,
        sales_segment: 'Enterprise',
      });

      await send(
        topics.opportunities,
        { opportunity_id: 'GOOD' },
        await codec.encodeValue(topics.opportunities, opportunity('GOOD', 0n, 'DELETE')),
      );
      const all = await eventually(
        () => Promise.resolve(received[topics.pipeline] ?? []),
        (l) => l.length >= 10,
      );
      const tombstones = all.slice(5).filter((m) => m.value === null);
      expect(tombstones).toHaveLength(5);
      expect(tombstones.map((m) => String(m.headers?.['touchline.revision']))).toEqual([
        '2',
        '2',
        '2',
        '2',
        '2',
      ]);
      expect(
        await eventually(
          () => readPipelineTable(pool, env.PG_SCHEMA ?? ''),
          (rows) => rows.length === 0,
        ),
      ).toEqual([]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await service.stop();
      await cleanupIsolated(env);
    }
  });
});
