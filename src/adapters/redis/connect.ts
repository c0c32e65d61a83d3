import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { AppError } from '../../errors.js';
import { certificateProblem } from '../../security.js';

export interface RedisConnectOptions {
  /** CLIENT SETNAME, so `CLIENT LIST` shows who is connected. */
  readonly connectionName?: string;
  readonly connectTimeoutMs?: number;
  /** How often a command caught by a dropped connection is resent after reconnecting. */
  readonly maxRetriesPerRequest?: number;
  /** Upper bound of the reconnect back-off. */
  readonly maxReconnectDelayMs?: number;
  /** TLS options for rediss:// (certificate verification stays on). */
  readonly tls?: ConnectionOptions;
}

/**
 * Opens an ioredis client and waits until it is ready. Failing to connect is a retriable
 * STORE_UNAVAILABLE. Commands issued while the connection is down fail at once instead of
 * queueing (no offline queue): the consumer backs off and retries its batch, and memory stays
 * bounded during an outage. The caller owns the client; close it with `closeRedis`.
 */
export async function connectRedis(url: string, options: RedisConnectOptions = {}): Promise<Redis> {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: options.connectionName ?? 'touchline',
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, maxDelay),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  // Without a listener ioredis reports every failed reconnect attempt on stderr; the failures
  // reach callers as rejected commands, which is where they are handled. While connecting, the
  // last error is kept: connect() itself only says "Connection is closed."
  client.on('error', () => undefined);
  let failure: unknown;
  const remember = (error: unknown): void => void (failure = error);
  client.on('error', remember);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw connectFailure(url, failure ?? error);
  } finally {
    client.off('error', remember);
  }
  return client;
}

/** Refused credentials (ACL/AUTH) and untrusted certificates are final; anything else may pass. */
function connectFailure(url: string, cause: unknown): AppError {
  const where = `Redis at ${redactUrl(url)}`;
  const message = cause instanceof Error ? cause.message : String(cause);
  const certificate = certificateProblem(cause);
  if (certificate !== undefined)
    return new AppError('STORE_UNAVAILABLE', `${where}: ${certificate}`, { cause });
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/i.test(message)) {
    return new AppError('STORE_UNAVAILABLE', `${where} refused the credentials: ${message}`, { cause });
  }
  return new AppError('STORE_UNAVAILABLE', `cannot connect to ${where}: ${message}`, {
    retriable: true,
    cause,
  });
}

const closing = new WeakMap<Redis, Promise<void>>();

/** Closes gracefully (QUIT waits for replies in flight), or drops the socket if that fails. Safe to call twice. */
export function closeRedis(client: Redis): Promise<void> {
  let done = closing.get(client);
  if (done === undefined) {
    done = quit(client);
    closing.set(client, done);
  }
  return done;
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
  // QUIT resolves on the server's reply; the socket closes just after.
  // (status is read again: quit() changed it.)
  if ((client.status as string) !== 'end') await ended;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable Redis URL>';
  }
}
