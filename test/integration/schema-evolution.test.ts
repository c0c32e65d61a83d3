/**
 * Schema evolution on the real registry (Apicurio, Confluent API) and avsc. Version 2 of the
 * touchpoint and opportunity values adds optional fields with null defaults (campaign and UTM
 * fields, currency) and makes channel optional: under BACKWARD compatibility the registry must
 * accept it over version 1 and refuse a change that breaks readers; records written with
 * version 1 must read under version 2 with the new fields null, and the service, which decodes
 * with the writer's schema, must hand both versions to validation under the same field names.
 */
import { randomBytes } from 'node:crypto';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchemaRegistry, readSchema } from '../../src/adapters/kafka/avro-codec.js';
import { DecimalType } from '../../src/adapters/kafka/decimal-type.js';
import { toSourcedRecord } from '../../src/adapters/kafka/records.js';
import { DEFAULT_TOPICS } from '../../src/adapters/kafka/topics.js';
import { validateRecord } from '../../src/app/ingest.js';
import { buildVocabularies } from '../../src/cli/settings.js';
import { SERVICES } from '../support/services.js';

/** Fixture: avro/touchpoint.avsc, version 1 as published in 0.1.0 (do not edit). */
const TOUCHPOINT_V1 = String.raw`{
  "type": "record",
  "name": "Touchpoint",
  "namespace": "io.touchline.v1",
  "doc": "A marketing or sales touch on one contact. Topic marketing.touchpoints.v1, key = TouchpointKey (contact id).",
  "fields": [
    { "name": "touchpoint_id", "type": "string" },
    { "name": "source", "type": "string", "doc": "marketing | sales" },
    { "name": "channel", "type": "string", "doc": "Channel text as the source system spells it; Touchline normalises and validates it." },
    { "name": "contact_id", "type": ["null", "string"], "default": null },
    { "name": "occurred_at", "type": { "type": "long", "logicalType": "timestamp-millis" } },
    { "name": "email", "type": ["null", "string"], "default": null, "doc": "Optional; never stored in clear (replaced by a keyed hash)." }
  ]
}`;

/** Fixture: avro/opportunity.avsc, version 1 as published in 0.1.0 (do not edit). */
const OPPORTUNITY_V1 = String.raw`{
  "type": "record",
  "name": "Opportunity",
  "namespace": "io.touchline.v1",
  "doc": "CRM opportunity, created and updated versions. Topic crm.opportunities.v1, key = OpportunityKey. A tombstone (null value) or op DELETE removes it.",
  "fields": [
    { "name": "opportunity_id", "type": "string" },
    { "name": "op", "type": { "type": "enum", "name": "OpportunityOp", "symbols": ["UPSERT", "DELETE"] }, "default": "UPSERT" },
    { "name": "account_id", "type": ["null", "string"], "default": null },
    { "name": "amount", "type": ["null", { "type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 9 }], "default": null },
    { "name": "created_at", "type": ["null", { "type": "long", "logicalType": "timestamp-millis" }], "default": null },
    { "name": "sales_segment", "type": ["null", "string"], "default": null },
    { "name": "updated_at", "type": { "type": "long", "logicalType": "timestamp-millis" }, "doc": "Version: the latest wins; a delete at a version beats updates at or before it." }
  ]
}`;

const TOUCH_V1_VALUE = {
  touchpoint_id: 'T1',
  source: 'marketing',
  channel: 'Webinar',
  contact_id: 'C1',
  occurred_at: Date.UTC(2024, 0, 2),
  email: null,
};
const TOUCH_V2_VALUE = {
  ...TOUCH_V1_VALUE,
  channel: null,
  campaign_id: 'CMP-7',
  campaign_name: 'Spring launch',
  utm_source: 'google',
  utm_medium: 'cpc',
  utm_campaign: 'spring_24',
};
const OPPORTUNITY_V1_VALUE = {
  opportunity_id: 'O1',
  op: 'UPSERT',
  account_id: 'A1',
  amount: 1_500_250_000_000n,
  created_at: Date.UTC(2024, 0, 3),
  sales_segment: 'Enterprise',
  updated_at: Date.UTC(2024, 0, 4),
};
const NO_TAGS = {
  campaign_id: null,
  campaign_name: null,
  utm_source: null,
  utm_medium: null,
  utm_campaign: null,
};

const CASES = [
  { name: 'touchpoint', v1: TOUCHPOINT_V1 },
  { name: 'opportunity', v1: OPPORTUNITY_V1 },
] as const;

const run = `schema_evolution_${randomBytes(4).toString('hex')}`;
const subjects: string[] = [];

afterAll(async () => {
  for (const subject of subjects) {
    await call('DELETE', `/subjects/${subject}`).catch(() => undefined);
    await call('DELETE', `/subjects/${subject}?permanent=true`).catch(() => undefined);
  }
});

/** One request to the registry's Confluent API; the answer's status and JSON body. */
async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${SERVICES.SCHEMA_REGISTRY_URL}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** A subject of its own holding version 1 of `v1`, with compatibility BACKWARD; its schema id. */
async function subjectAtVersion1(name: string, v1: string): Promise<{ subject: string; id: number }> {
  const subject = `${run}.${name}.${subjects.length}-value`;
  subjects.push(subject);
  const id = await register(subject, v1);
  expect(await call('PUT', `/config/${subject}`, { compatibility: 'BACKWARD' })).toMatchObject({
    status: 200,
    body: { compatibility: 'BACKWARD' },
  });
  expect((await call('GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: 'BACKWARD' });
  return { subject, id };
}

/** Registers `schema` under `subject`: the id the registry answers (any other answer fails the test). */
async function register(subject: string, schema: string): Promise<number> {
  const answer = await call('POST', `/subjects/${subject}/versions`, { schema });
  const id = (answer.body as { id?: unknown }).id;
  expect({ status: answer.status, id: typeof id }).toEqual({ status: 200, id: 'number' });
  return id as number;
}

const isCompatible = async (subject: string, schema: string): Promise<unknown> =>
  call('POST', `/compatibility/subjects/${subject}/versions/latest`, { schema });

/** avro/NAME.avsc with its field list changed by `change`, as schema text. */
function changed(name: string, change: (fields: Record<string, unknown>[]) => void): string {
  const schema = JSON.parse(readSchema(name)) as { fields: Record<string, unknown>[] };
  change(schema.fields);
  return JSON.stringify(schema);
}

const INCOMPATIBLE = [
  {
    change: 'a new field without a default',
    apply: (fields: Record<string, unknown>[]) => void fields.push({ name: 'region', type: 'string' }),
  },
  {
    change: 'the id field turned from string into int',
    apply: (fields: Record<string, unknown>[]) => void Object.assign(fields[0] ?? {}, { type: 'int' }),
  },
];

describe.each(CASES)('the registry on $name value schemas', { timeout: 30_000 }, ({ name, v1 }) => {
  it('accepts avro/*.avsc as BACKWARD compatible with version 1, then registers it as version 2', async () => {
    const { subject, id: v1Id } = await subjectAtVersion1(name, v1);
    const v2 = readSchema(name);
    expect(await isCompatible(subject, v2)).toEqual({ status: 200, body: { is_compatible: true } });
    expect(await register(subject, v2)).not.toBe(v1Id);
    expect((await call('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    const latest = (await call('GET', `/subjects/${subject}/versions/latest`)).body as { schema: string };
    expect(JSON.parse(latest.schema)).toEqual(JSON.parse(v2));
  });

  it.each(INCOMPATIBLE)('refuses version 1 + $change (is_compatible false, 409)', async ({ apply }) => {
    const { subject } = await subjectAtVersion1(name, v1);
    const broken = changed(name, apply);
    expect(await isCompatible(subject, broken)).toEqual({ status: 200, body: { is_compatible: false } });
    const registered = await call('POST', `/subjects/${subject}/versions`, { schema: broken });
    expect(registered).toMatchObject({ status: 409, body: { error_code: 409 } });
    expect((await call('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
  });
});

const typeOf = (schema: string): avro.Type =>
  avro.Type.forSchema(JSON.parse(schema) as avro.Schema, { logicalTypes: { decimal: DecimalType } });

describe('avsc: version 2 as reader of version 1, and version 2 round trips', () => {
  it.each([
    ['touchpoint', TOUCHPOINT_V1, TOUCH_V1_VALUE, NO_TAGS],
    ['opportunity', OPPORTUNITY_V1, OPPORTUNITY_V1_VALUE, { currency: null }],
  ] as const)(
    'reads a version 1 %s with version 2 as reader, the new fields null',
    (name, v1, value, added) => {
      const [writer, reader] = [typeOf(v1), typeOf(readSchema(name))];
      const decoded: unknown = reader.fromBuffer(writer.toBuffer(value), reader.createResolver(writer));
      expect(decoded).toEqual({ ...value, ...added });
    },
  );

  it.each([
    ['touchpoint', TOUCH_V2_VALUE],
    ['touchpoint', { ...TOUCH_V2_VALUE, channel: 'Paid Search', utm_medium: null }],
    ['opportunity', { ...OPPORTUNITY_V1_VALUE, currency: 'EUR' }],
  ] as const)('round-trips a version 2 %s with the new fields set', (name, value) => {
    const type = typeOf(readSchema(name));
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });
});

describe('the service reads records of both versions through the registry', { timeout: 30_000 }, () => {
  const vocab = buildVocabularies();
  /** Encodes with schema `id`, decodes as the codec does (writer's schema), maps as records.ts does. */
  async function throughRegistry(topic: string, id: number, value: object): Promise<Record<string, unknown>> {
    const registry = createSchemaRegistry(SERVICES.SCHEMA_REGISTRY_URL);
    const decoded = (await registry.decode(await registry.encode(id, value))) as Record<string, unknown>;
    const record = toSourcedRecord(
      DEFAULT_TOPICS,
      topic,
      null,
      decoded,
      { source: topic, location: 'test' },
      0,
    );
    const validated = validateRecord(record, vocab);
    expect(validated.ok ? null : validated.rejection).toBeNull();
    return record.kind === 'malformed' ? { malformed: record.detail } : { ...record.raw };
  }

  it('hands version 1 and version 2 touches to validation with the new fields', async () => {
    const { subject, id: v1Id } = await subjectAtVersion1('touchpoint', TOUCHPOINT_V1);
    const v2Id = await register(subject, readSchema('touchpoint'));
    const topic = DEFAULT_TOPICS.touchpoints;
    expect(await throughRegistry(topic, v1Id, TOUCH_V1_VALUE)).toMatchObject({
      channel: 'Webinar',
      ...NO_TAGS,
    });
    expect(await throughRegistry(topic, v2Id, TOUCH_V2_VALUE)).toMatchObject({
      channel: null,
      campaign_id: 'CMP-7',
      campaign_name: 'Spring launch',
      utm_source: 'google',
      utm_medium: 'cpc',
      utm_campaign: 'spring_24',
    });
  });

  it('hands version 1 and version 2 opportunities to validation with the currency', async () => {
    const { subject, id: v1Id } = await subjectAtVersion1('opportunity', OPPORTUNITY_V1);
    const v2Id = await register(subject, readSchema('opportunity'));
    const topic = DEFAULT_TOPICS.opportunities;
    expect(await throughRegistry(topic, v1Id, OPPORTUNITY_V1_VALUE)).toMatchObject({ currency: null });
    expect(await throughRegistry(topic, v2Id, { ...OPPORTUNITY_V1_VALUE, currency: 'EUR' })).toMatchObject({
      amount: '1500.25',
      currency: 'EUR',
    });
  });
});
