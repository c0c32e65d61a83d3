import pg from 'pg';
import { AppError, isAppError } from '../../errors.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The quoted identifier of a schema name. Names are restricted to lower-case identifiers so the
 * same name works quoted and unquoted (psql, Grafana) and can never smuggle SQL.
 */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new AppError('CONFIG_INVALID', `postgres schema "${schema}" must match ${SCHEMA_NAME.source}`);
  }
  return pg.escapeIdentifier(schema);
}

/** SQLSTATE classes and codes after which the same work can succeed on a retry. */
const RETRIABLE_CLASSES = ['08', '53']; // connection exception, insufficient resources
const RETRIABLE_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /connection error/i,
];

/** Whether a retry can help: lost connections, overload, deadlocks — not constraint or syntax errors. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? '';
    return RETRIABLE_CODES.has(code) || RETRIABLE_CLASSES.includes(code.slice(0, 2));
  }
  if (error instanceof AggregateError) return error.errors.some(isRetriable);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * The error a store operation rethrows. An AppError (a corrupt row, or one thrown by the caller's
 * `beforeCommit`, e.g. BROKER_UNAVAILABLE) passes through unchanged so its code and `retriable`
 * survive; anything else becomes STORE_UNAVAILABLE.
 */
export function toStoreError(error: unknown, action: string): AppError {
  if (isAppError(error)) return error;
  const detail = error instanceof Error ? error.message || error.constructor.name : String(error);
  return new AppError('STORE_UNAVAILABLE', `postgres ${action} failed: ${detail}`, {
    retriable: isRetriable(error),
    cause: error,
  });
}
