import { readFileSync } from 'node:fs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AppError } from '../../errors.js';
import { DecimalType } from './decimal-type.js';
import { TOPIC_SCHEMAS, type TopicNames } from './topics.js';

const AVRO_DIR = new URL('../../../../avro/', import.meta.url);
const AVRO_DIR_FROM_SRC = new URL('../../../avro/', import.meta.url);

/** Reads avro/NAME.avsc whether running from src/ (tsx) or dist/src/ (compiled). */
export function readSchema(name: string): string {
  for (const dir of [AVRO_DIR_FROM_SRC, AVRO_DIR]) {
    try {
      return readFileSync(new URL(`${name}.avsc`, dir), 'utf8');
    } catch {
      // try the next location
    }
  }
  throw new AppError('INTERNAL', `schema file avro/${name}.avsc not found`);
}

export type DecodeResult =
  | { readonly ok: true; readonly value: Record<string, unknown>; readonly schemaId: number }
  | { readonly ok: false; readonly reason: 'undecodable' | 'unknown_schema'; readonly detail: string };

export interface AvroCodec {
  readonly ids: Readonly<Record<string, { key: number; value: number }>>;
  encodeKey(topic: string, key: object): Promise<Buffer>;
  encodeValue(topic: string, value: object): Promise<Buffer>;
  /** Decodes a Confluent-framed Avro payload; bad bytes are a value, an unreachable registry throws. */
  decode(buffer: Buffer): Promise<DecodeResult>;
}

export function createSchemaRegistry(
  url: string,
  auth?: { username: string; password: string },
): SchemaRegistry {
  return new SchemaRegistry(
    {
      host: url,
      clientId: 'touchline',
      retry: { retries: 3, initialRetryTimeInSecs: 0.2 },
      ...(auth === undefined ? {} : { auth }),
    },
    { [SchemaType.AVRO]: { logicalTypes: { decimal: DecimalType } } },
  );
}

/**
 * Registers every key and value schema under the TopicNameStrategy subjects `<topic>-key` and
 * `<topic>-value` (idempotent: the registry answers the existing id) and encodes with those ids.
 */
export async function createAvroCodec(registry: SchemaRegistry, topics: TopicNames): Promise<AvroCodec> {
  const ids: Record<string, { key: number; value: number }> = {};
  try {
    for (const [name, files] of Object.entries(TOPIC_SCHEMAS)) {
      const topic = topics[name as keyof typeof TOPIC_SCHEMAS];
      const register = (file: string, suffix: string): Promise<number> =>
        registerOnce(registry, readSchema(file), `${topic}-${suffix}`);
      ids[topic] = { key: await register(files.key, 'key'), value: await register(files.value, 'value') };
    }
  } catch (error) {
    throw new AppError('SCHEMA_REGISTRY', `registering schemas failed: ${(error as Error).message}`, {
      retriable: isUnreachable(error),
      cause: error,
    });
  }
  const idsOf = (topic: string): { key: number; value: number } => {
    const found = ids[topic];
    if (found === undefined) throw new AppError('INTERNAL', `no schema registered for topic ${topic}`);
    return found;
  };
  return {
    ids,
    encodeKey: (topic, key) => registry.encode(idsOf(topic).key, key),
    encodeValue: (topic, value) => registry.encode(idsOf(topic).value, value),
    async decode(buffer) {
      if (buffer.length < 6 || buffer[0] !== 0) {
        return {
          ok: false,
          reason: 'undecodable',
          detail: 'not Confluent wire format (magic byte 0 + 4-byte schema id)',
        };
      }
      const schemaId = buffer.readInt32BE(1);
      try {
        const value: unknown = await registry.decode(buffer);
        // Every key and value Touchline reads is a record; a schema of null, a string or a union
        // that decodes to null would be taken for a tombstone or crash the reader.
        if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) {
          return {
            ok: false,
            reason: 'undecodable',
            detail: `schema id ${schemaId} decodes to ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not a record`,
          };
        }
        return { ok: true, value: value as Record<string, unknown>, schemaId };
      } catch (error) {
        if (isUnreachable(error)) {
          throw new AppError('SCHEMA_REGISTRY', `schema registry unreachable: ${(error as Error).message}`, {
            retriable: true,
            cause: error,
          });
        }
        const message = (error as Error).message;
        const unknown = /40403|not found|404/i.test(message);
        return {
          ok: false,
          reason: unknown ? 'unknown_schema' : 'undecodable',
          detail: `schema id ${schemaId}: ${message}`,
        };
      }
    },
  };
}

/**
 * Registers a schema, riding out one Apicurio race: on a subject's first registration the client
 * also sets the subject's compatibility; when two instances start at once both try, and Apicurio
 * (unlike Confluent) answers the second with 409 "A rule named 'COMPATIBILITY' already exists".
 * The schema itself is registered by then, so registering again finds the rule and succeeds.
 */
async function registerOnce(registry: SchemaRegistry, schema: string, subject: string): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await registry.register({ type: SchemaType.AVRO, schema }, { subject })).id;
    } catch (error) {
      const conflict =
        (error as { status?: unknown }).status === 409 && /already exists/i.test((error as Error).message);
      if (!conflict || attempt >= 3) throw error;
    }
  }
}

/**
 * Whether the registry could not be asked (retry) rather than answered no (a value). An HTTP
 * answer counts by its status, never by digits in its text: "Schema 1584 not found" is a 404.
 * The client reports a failed connection as status 400 carrying the socket error's text.
 */
function isUnreachable(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status !== 400) return status >= 500 || status === 408 || status === 429;
  const code = (error as { code?: unknown } | null)?.code;
  const text = `${(error as Error | null)?.message ?? ''} ${typeof code === 'string' ? code : ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|socket hang up|timeout/i.test(
    text,
  );
}
