/**
 * The Avro codec's decode over an in-process registry (test/fuzz/support/fake-registry.ts):
 * regressions the fuzz tests found. A registry that answers "no" is a value, not an outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAvroCodec,
  createSchemaRegistry,
  type AvroCodec,
} from '../../../src/adapters/kafka/avro-codec.js';
import { DEFAULT_TOPICS } from '../../../src/adapters/kafka/topics.js';
import { startFakeRegistry, type FakeRegistry } from '../../fuzz/support/fake-registry.js';

let registry: FakeRegistry;
let codec: AvroCodec;
beforeAll(async () => {
  registry = await startFakeRegistry();
  codec = await createAvroCodec(createSchemaRegistry(registry.url), DEFAULT_TOPICS);
});
afterAll(() => registry.close());

const frame = (id: number, payload: number[]): Buffer => {
  const buffer = Buffer.alloc(5 + payload.length);
  buffer.writeInt32BE(id, 1);
  Buffer.from(payload).copy(buffer, 5);
  return buffer;
};

describe('avro codec decode', () => {
  it('round-trips a touchpoint', async () => {
    const value = {
      touchpoint_id: 'T1',
      source: 'marketing',
      channel: 'Webinar',
      contact_id: 'C1',
      occurred_at: 0,
      email: null,
    };
    const decoded = await codec.decode(await codec.encodeValue(DEFAULT_TOPICS.touchpoints, value));
    expect(decoded).toMatchObject({ ok: true, value });
  });

  // The 404's text "Schema 1584 not found" matched the 5xx pattern: an outage, retried forever.
  it.each([1584, 500, 987_654, -1_291_845_626])(
    'reads unknown schema id %i as unknown_schema, not as the registry being down',
    async (id) => {
      const decoded = await codec.decode(frame(id, [2, 65]));
      expect(decoded).toMatchObject({ ok: false, reason: 'unknown_schema' });
      expect(decoded.ok ? '' : decoded.detail).toContain(`schema id ${id}`);
    },
  );

  // A value decoding to null read as a tombstone, or crashed the batch handler.
  it.each([
    [
      'a nullable union',
      JSON.stringify(['null', { type: 'record', name: 'Maybe', fields: [{ name: 'n', type: 'int' }] }]),
      [0],
      'null',
    ],
    ['a string', '"string"', [2, 65], 'string'],
  ])('refuses a value of %s as undecodable', async (_name, schema, payload, got) => {
    const id = registry.add('other-value', schema);
    expect(await codec.decode(frame(id, payload))).toEqual({
      ok: false,
      reason: 'undecodable',
      detail: `schema id ${id} decodes to ${got}, not a record`,
    });
  });

  it('throws a retriable error when the registry cannot be reached', async () => {
    const down = await startFakeRegistry();
    const codecDown = await createAvroCodec(createSchemaRegistry(down.url), DEFAULT_TOPICS);
    await down.close();
    await expect(codecDown.decode(frame(4242, [2, 65]))).rejects.toMatchObject({
      code: 'SCHEMA_REGISTRY',
      retriable: true,
    });
  });
});
