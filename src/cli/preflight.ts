import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Log } from '../adapters/kafka/client.js';
import { checkConnection, closePool, createPool, describeDatabaseUrl } from '../adapters/postgres/pool.js';
import type { Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import { certificateProblem, kafkaSecurity, postgresSsl } from '../security.js';

/**
 * Checks made by `touchline serve` before the service starts, for failures a retry cannot mend:
 * a refused login or an untrusted certificate. Each becomes one non-retriable AppError naming the
 * server and the cause, printed as one line. Servers that are merely down are left to the
 * service's own retries (the checks pass them by).
 */
export async function preflight(config: Config, timeoutMs = 10_000): Promise<void> {
  await Promise.all([checkPostgres(config, timeoutMs), checkKafkaCertificates(config, timeoutMs)]);
}

/** One connection with the service's URL and TLS settings (with MIGRATE_ON_START=false nothing else would try before the first drain). */
async function checkPostgres(config: Config, timeoutMs: number): Promise<void> {
  const pool = createPool(config.DATABASE_URL, {
    max: 1,
    ssl: postgresSsl(config),
    connectionTimeoutMs: timeoutMs,
    applicationName: 'touchline-preflight',
  });
  try {
    await checkConnection(pool, describeDatabaseUrl(config.DATABASE_URL));
  } catch (error) {
    if (isAppError(error) && !error.retriable) throw error;
  } finally {
    await closePool(pool);
  }
}

/**
 * kafkajs treats a certificate failure as a connection error and retries it for about a minute;
 * one TLS handshake per seed broker finds it at once.
 */
async function checkKafkaCertificates(config: Config, timeoutMs: number): Promise<void> {
  const { ssl } = kafkaSecurity(config);
  if (ssl === undefined || ssl === false) return;
  const options: ConnectionOptions = ssl === true ? {} : ssl;
  const problems = await Promise.all(
    config.KAFKA_BROKERS.map((broker) => handshakeProblem(broker, options, timeoutMs)),
  );
  const found = problems.findIndex((p) => p !== undefined);
  if (found >= 0) {
    throw new AppError(
      'BROKER_UNAVAILABLE',
      `Kafka at ${config.KAFKA_BROKERS[found] ?? ''}: ${problems[found] ?? ''}`,
    );
  }
}

function handshakeProblem(
  broker: string,
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<string | undefined> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...options, host, port, ...(isIP(host) === 0 ? { servername: host } : {}) });
    const done = (problem: string | undefined): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (error) => done(certificateProblem(error)));
  });
}

/** The one line for a start-up failure whose cause is a refused Kafka login (kafkajs does not retry it). */
export function describeStartFailure(error: unknown, config: Config): unknown {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      const user = config.KAFKA_SASL_USERNAME ?? '';
      return new AppError(
        'BROKER_UNAVAILABLE',
        `Kafka at ${config.KAFKA_BROKERS.join(',')} refused the SASL login of user "${user}" (${config.KAFKA_SASL_MECHANISM}): ${e.message}`,
        {
          cause: error,
        },
      );
    }
  }
  return error;
}

/**
 * Holds kafkajs' own log lines back while the service starts: a refused start is reported by
 * one line that names the cause, not by the client's retries before it. Once started, the held
 * lines are written and everything passes straight through.
 */
export function holdClientLinesDuringStart(log: Log): { log: Log; started: () => void; failed: () => void } {
  let held: Parameters<Log>[] | undefined = [];
  return {
    log: (level, message) => {
      if (held !== undefined && message.startsWith('kafka ')) held.push([level, message]);
      else log(level, message);
    },
    started: () => {
      const lines = held ?? [];
      held = undefined;
      for (const [level, message] of lines) log(level, message);
    },
    failed: () => {
      const lines = held ?? [];
      held = undefined;
      for (const [, message] of lines) log('debug', message);
    },
  };
}
