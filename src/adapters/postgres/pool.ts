import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { AppError } from '../../errors.js';
import { certificateProblem } from '../../security.js';
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

/** SQLSTATEs of a refused login: wrong password, no pg_hba line for it, no such role. */
const REFUSED_LOGIN = new Set(['28P01', '28000']);

/**
 * Opens one connection and runs `SELECT 1`. A refused login or an untrusted server certificate
 * is final (a non-retriable STORE_UNAVAILABLE saying which); other failures keep the store's
 * usual classification. `where` names the server in messages (never the password).
 */
export async function checkConnection(pool: pg.Pool, where: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    const certificate = certificateProblem(error);
    if (certificate !== undefined)
      throw new AppError('STORE_UNAVAILABLE', `Postgres at ${where}: ${certificate}`, { cause: error });
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSED_LOGIN.has(code)) {
      throw new AppError(
        'STORE_UNAVAILABLE',
        `Postgres at ${where} refused the login: ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw toStoreError(error, `connection to ${where}`);
  }
}

/** host:port/database of a connection URL, user included, password left out. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
    return `${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return '<unparseable DATABASE_URL>';
  }
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
