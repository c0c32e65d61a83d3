import { describe, expect, it } from 'vitest';
import { describeDatabaseUrl } from '../../../src/adapters/postgres/pool.js';
import { describeStartFailure, holdClientLinesDuringStart } from '../../../src/cli/preflight.js';
import { loadConfig } from '../../../src/config.js';
import { AppError } from '../../../src/errors.js';
import { certificateProblem } from '../../../src/security.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('certificateProblem', () => {
  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"],
  ])('names %s as an untrusted server certificate', (code, message) => {
    expect(certificateProblem(withCode(message, code))).toBe(`server certificate not trusted: ${message}`);
  });

  it('finds it among the causes, and says nothing of other failures', () => {
    const wrapped = new Error('Connection error', {
      cause: withCode('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    });
    expect(certificateProblem(wrapped)).toBe(
      'server certificate not trusted: unable to verify the first certificate',
    );
    expect(certificateProblem(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'))).toBeUndefined();
    expect(certificateProblem(new Error('WRONGPASS invalid username-password pair'))).toBeUndefined();
    expect(certificateProblem('not an error')).toBeUndefined();
  });
});

describe('serve start-up messages', () => {
  const loaded = loadConfig({
    KAFKA_BROKERS: 'b1:9093,b2:9093',
    SCHEMA_REGISTRY_URL: 'http://registry:8081',
    REDIS_URL: 'redis://127.0.0.1:6379',
    DATABASE_URL: 'postgres://touchline:s3cret@db:5432/touchline',
    KAFKA_SSL: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD: 'hunter2',
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const config = loaded.config;

  it('turns a refused SASL login into one line naming the brokers, user and mechanism, never the password', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    const failure = describeStartFailure(
      new AppError('BROKER_UNAVAILABLE', 'cannot reach Kafka at b1:9093,b2:9093: ...', { cause: sasl }),
      config,
    );
    expect(failure).toBeInstanceOf(AppError);
    expect((failure as AppError).message).toBe(
      'Kafka at b1:9093,b2:9093 refused the SASL login of user "svc" (scram-sha-512): SASL SCRAM SHA512 authentication failed: invalid credentials',
    );
    expect((failure as AppError).retriable).toBe(false);
    expect((failure as AppError).message).not.toContain('hunter2');
  });

  it('leaves every other failure as it was', () => {
    const other = new AppError(
      'STORE_UNAVAILABLE',
      'Redis at redis://127.0.0.1:6379 refused the credentials: WRONGPASS',
    );
    expect(describeStartFailure(other, config)).toBe(other);
  });

  it('names a database by user, host and name, without the password', () => {
    expect(describeDatabaseUrl('postgres://touchline:s3cret@db:5432/touchline')).toBe(
      'touchline@db:5432/touchline',
    );
    expect(describeDatabaseUrl('postgres://db/touchline')).toBe('db/touchline');
    expect(describeDatabaseUrl('nonsense')).toBe('<unparseable DATABASE_URL>');
  });

  it('holds kafkajs lines during start-up: written after a start, demoted to debug after a refusal', () => {
    const run = (end: 'started' | 'failed'): string[] => {
      const lines: string[] = [];
      const held = holdClientLinesDuringStart((level, message) => lines.push(`${level} ${message}`));
      held.log('error', 'kafka ERROR: Response SaslAuthenticate');
      held.log('info', 'created topics a, b');
      held[end]();
      held.log('warn', 'kafka WARN: later');
      return lines;
    };
    expect(run('started')).toEqual([
      'info created topics a, b',
      'error kafka ERROR: Response SaslAuthenticate',
      'warn kafka WARN: later',
    ]);
    expect(run('failed')).toEqual([
      'info created topics a, b',
      'debug kafka ERROR: Response SaslAuthenticate',
      'warn kafka WARN: later',
    ]);
  });
});
