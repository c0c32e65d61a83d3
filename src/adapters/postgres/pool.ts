import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { AppError } from '../../errors.js';
import { toStoreError } from './errors.js';

export interface PoolOptions {
  /** Connections at most (default 10). */
  readonly max?: number;
  readonly applicationName?: string;
  /** Give up connecting after this long (default 10 s). */
  readonly connectionTimeoutMs?: number;
  /** Server-side statement_timeout for every session (default: none). */
  readonly statementTimeoutMs?: number;
  /** TLS options for pg (false = no TLS), from PG_SSL_MODE. */
  readonly ssl?: false | ConnectionOptions;
  /** Errors of idle connections (the server went away); without a listener they would crash the process. */
  readonly onIdleError?: (error: Error) => void;
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const max = options.max ?? 10;
  if (!Number.isInteger(max) || max < 1)
    throw new AppError('CONFIG_INVALID', `postgres pool max must be a positive integer, got ${max}`);
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: options.applicationName ?? 'touchline',
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
  });
  pool.on('error', options.onIdleError ?? (() => undefined));
  return pool;
}

const closing = new WeakMap<pg.Pool, Promise<void>>();

/** Waits for checked-out clients to be released and closes every connection; safe to call twice. */
export function closePool(pool: pg.Pool): Promise<void> {
  let done = closing.get(pool);
  if (done === undefined) {
    done = pool.ended ? Promise.resolve() : pool.end();
    closing.set(pool, done);
  }
  return done;
}

/**
 * Runs `work` in a READ COMMITTED transaction (explicitly: the store takes its locks first and
 * must read what the previous lock holder committed, which a snapshot from before the lock would
 * not show). Rolls back and rethrows as a store error on any failure; a client whose rollback
 * failed is discarded rather than returned to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  action: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient | undefined;
  let broken: Error | undefined;
  try {
    client = await pool.connect();
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (client !== undefined) {
      broken = await client.query('ROLLBACK').then(
        () => undefined,
        (rollbackError: unknown) =>
          rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)),
      );
    }
    throw toStoreError(error, action);
  } finally {
    client?.release(broken);
  }
}
