import { describe, expect, it } from 'vitest';
import { protectEmail } from '../../src/adapters/kafka/personal-data.js';
import { loadConfig } from '../../src/config.js';
import { kafkaSecurity, postgresSsl, redisTls, registryAuth } from '../../src/security.js';

const BASE = {
  KAFKA_BROKERS: 'b1:9093',
  SCHEMA_REGISTRY_URL: 'https://registry:8081',
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://touchline@db/touchline',
};
const files: Record<string, string> = {
  '/ca/kafka.pem': 'KAFKA-CA',
  '/ca/pg.pem': 'PG-CA',
  '/ca/redis.pem': 'REDIS-CA',
};
const read = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};
const config = (extra: Record<string, string>) => {
  const loaded = loadConfig({ ...BASE, ...extra });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
};

describe('client security from the config', () => {
  it('uses no TLS and no credentials by default', () => {
    const c = config({});
    expect(kafkaSecurity(c, read)).toEqual({});
    expect(postgresSsl(c, read)).toBe(false);
    expect(redisTls(c, read)).toBeUndefined();
    expect(registryAuth(c)).toBeUndefined();
    expect(c.MIGRATE_ON_START).toBe(true);
  });

  it('gives kafkajs TLS verified against the CA and SCRAM-SHA-512 credentials', () => {
    const c = config({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: '/ca/kafka.pem',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'touchline',
      KAFKA_SASL_PASSWORD: 's3cret',
    });
    expect(kafkaSecurity(c, read)).toEqual({
      ssl: { ca: ['KAFKA-CA'], rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'touchline', password: 's3cret' },
    });
  });

  it('verifies Postgres and Redis servers against their CAs', () => {
    const c = config({
      PG_SSL_MODE: 'verify-full',
      PG_SSL_CA_FILE: '/ca/pg.pem',
      REDIS_URL: 'rediss://touchline:pw@redis:6380',
      REDIS_TLS_CA_FILE: '/ca/redis.pem',
    });
    expect(postgresSsl(c, read)).toEqual({ ca: 'PG-CA', rejectUnauthorized: true });
    expect(redisTls(c, read)).toEqual({ ca: 'REDIS-CA', rejectUnauthorized: true });
    expect(postgresSsl(config({ PG_SSL_MODE: 'verify-full' }), read)).toEqual({ rejectUnauthorized: true });
  });

  it('names the setting when a CA file cannot be read', () => {
    const c = config({ PG_SSL_MODE: 'verify-full', PG_SSL_CA_FILE: '/ca/missing.pem' });
    expect(() => postgresSsl(c, read)).toThrow('PG_SSL_CA_FILE: cannot read /ca/missing.pem');
  });

  it.each([
    [
      { KAFKA_SASL_MECHANISM: 'scram-sha-512' },
      [
        'KAFKA_SSL: must be true when SASL is used: credentials are never sent in clear text',
        'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is scram-sha-512',
      ],
    ],
    [
      { SCHEMA_REGISTRY_USERNAME: 'u' },
      ['SCHEMA_REGISTRY_PASSWORD: SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together'],
    ],
    [{ REDIS_TLS_CA_FILE: '/ca/redis.pem' }, ['REDIS_TLS_CA_FILE: needs a rediss:// REDIS_URL']],
    [
      { PG_SSL_MODE: 'prefer' },
      ['PG_SSL_MODE: Invalid option: expected one of "disable"|"require"|"verify-full"'],
    ],
    [{ KAFKA_SSL: 'yes' }, ['KAFKA_SSL: must be true or false']],
    [{ PII_HASH_KEY: 'short' }, ['PII_HASH_KEY: must be at least 16 characters']],
  ])('refuses %j, naming each variable and never echoing a value', (extra, problems) => {
    const loaded = loadConfig({ ...BASE, KAFKA_SASL_PASSWORD: 'do-not-print-me', ...extra });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect([...loaded.problems].sort()).toEqual([...problems].sort());
    expect(loaded.problems.join('\n')).not.toContain('do-not-print-me');
  });
});

describe('protectEmail', () => {
  it('replaces an address by a keyed HMAC-SHA256 (case and spaces normalised), or drops it without a key', () => {
    // Computed apart: printf '%s' 'ada@example.com' | openssl dgst -sha256 -hmac 'a-key-of-16-chars'
    const expected = 'hmac-sha256:118b476b9f5e4934722c45661f1c1a82105ac06e47b568d939058d3d9fda390c';
    expect(protectEmail(' Ada@Example.com ', 'a-key-of-16-chars')).toBe(expected);
    expect(protectEmail('ada@example.com', 'another-key-16-chars')).not.toBe(expected);
    expect(protectEmail('ada@example.com', undefined)).toBeNull();
  });
});
