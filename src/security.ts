import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { Config } from './config.js';
import { AppError } from './errors.js';

/**
 * Transport security and credentials for every client, from the validated config. Certificates
 * are read from files (mounted Secrets); verification is never turned off: TLS either verifies
 * the server against the given CA (or the system's) or is not used.
 */
export type ReadFile = (path: string) => string;

const readCa =
  (read: ReadFile) =>
  (path: string | undefined, setting: string): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return read(path);
    } catch (cause) {
      throw new AppError('CONFIG_INVALID', `${setting}: cannot read ${path}`, { cause });
    }
  };

export const readTextFile: ReadFile = (path) => readFileSync(path, 'utf8');

export function kafkaSecurity(
  config: Pick<
    Config,
    'KAFKA_SSL' | 'KAFKA_SSL_CA_FILE' | 'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD'
  >,
  read: ReadFile = readTextFile,
): { ssl?: ConnectionOptions | boolean; sasl?: SASLOptions } {
  const ca = readCa(read)(config.KAFKA_SSL_CA_FILE, 'KAFKA_SSL_CA_FILE');
  const ssl = config.KAFKA_SSL
    ? ca === undefined
      ? true
      : { ca: [ca], rejectUnauthorized: true }
    : undefined;
  if (config.KAFKA_SASL_MECHANISM === 'none') return ssl === undefined ? {} : { ssl };
  const username = config.KAFKA_SASL_USERNAME ?? '';
  const password = config.KAFKA_SASL_PASSWORD ?? '';
  const sasl: SASLOptions =
    config.KAFKA_SASL_MECHANISM === 'plain'
      ? { mechanism: 'plain', username, password }
      : config.KAFKA_SASL_MECHANISM === 'scram-sha-256'
        ? { mechanism: 'scram-sha-256', username, password }
        : { mechanism: 'scram-sha-512', username, password };
  return ssl === undefined ? { sasl } : { ssl, sasl };
}

export function postgresSsl(
  config: Pick<Config, 'PG_SSL_MODE' | 'PG_SSL_CA_FILE'>,
  read: ReadFile = readTextFile,
): false | ConnectionOptions {
  switch (config.PG_SSL_MODE) {
    case 'disable':
      return false;
    // Encrypted, server not verified (libpq's "require"): for networks you already trust.
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full': {
      const ca = readCa(read)(config.PG_SSL_CA_FILE, 'PG_SSL_CA_FILE');
      return ca === undefined ? { rejectUnauthorized: true } : { ca, rejectUnauthorized: true };
    }
  }
}

/** TLS for rediss:// URLs (AUTH/ACL user and password travel in the URL). */
export function redisTls(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_TLS_CA_FILE'>,
  read: ReadFile = readTextFile,
): ConnectionOptions | undefined {
  if (!config.REDIS_URL.startsWith('rediss:')) return undefined;
  const ca = readCa(read)(config.REDIS_TLS_CA_FILE, 'REDIS_TLS_CA_FILE');
  return ca === undefined ? { rejectUnauthorized: true } : { ca, rejectUnauthorized: true };
}

export function registryAuth(
  config: Pick<Config, 'SCHEMA_REGISTRY_USERNAME' | 'SCHEMA_REGISTRY_PASSWORD'>,
): { username: string; password: string } | undefined {
  return config.SCHEMA_REGISTRY_USERNAME === undefined || config.SCHEMA_REGISTRY_PASSWORD === undefined
    ? undefined
    : { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD };
}

/** OpenSSL's verification failures as Node reports them (`error.code`): the peer is not trusted. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Why the server's certificate was refused, if that is what `error` (or one of its causes) says;
 * undefined for anything else. A certificate that does not verify will not verify on a retry
 * either, so callers refuse at once instead of retrying.
 */
export function certificateProblem(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code))
      return `server certificate not trusted: ${e.message}`;
  }
  return undefined;
}
