import { describe, expect, it } from 'vitest';
import { runServe } from '../../../src/cli/serve.js';
import { loadConfig } from '../../../src/config.js';
import { captureIo } from '../../support/cli.js';

const VALID = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
};

describe('touchline serve configuration', () => {
  it('lists every problem, each naming its variable, and exits 2 before connecting anywhere', async () => {
    const io = captureIo();
    let started = false;
    const code = await runServe(
      [],
      io,
      { KAFKA_BROKERS: 'kafka', HTTP_PORT: 'eighty', MODELS: 'first_touch,markov', REDIS_URL: 'http://x' },
      {
        untilStopped: () => {
          started = true;
          return Promise.resolve();
        },
      },
    );
    expect(code).toBe(2);
    expect(started).toBe(false);
    expect(io.err()).toBe(
      [
        'touchline serve: invalid configuration:',
        '  - KAFKA_BROKERS: must list host:port brokers, comma-separated',
        '  - SCHEMA_REGISTRY_URL: required but not set',
        '  - REDIS_URL: must be a URL starting with redis: or rediss:',
        '  - DATABASE_URL: required but not set',
        '  - HTTP_PORT: Invalid input: expected number, received NaN',
        '  - MODELS: must name known models: first_touch, last_touch, linear, u_shaped, time_decay, w_shaped, full_path',
        '',
      ].join('\n'),
    );
  });

  it('refuses the stage models, which run in batch only so far, naming the ones it computes', () => {
    const loaded = loadConfig({ ...VALID, MODELS: 'first_touch,w_shaped' });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems.join('\n')).toContain(
      'MODELS: the stage models (w_shaped, full_path) run in batch only so far (touchline replay); streaming computes first_touch, last_touch, linear, u_shaped, time_decay',
    );
    const defaults = loadConfig(VALID);
    expect(defaults.ok && defaults.config.MODELS).toEqual([
      'first_touch',
      'last_touch',
      'linear',
      'u_shaped',
      'time_decay',
    ]);
  });

  it('applies the documented defaults', () => {
    const loaded = loadConfig(VALID);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.config).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:19092'],
      KAFKA_GROUP_ID: 'touchline',
      PG_SCHEMA: 'touchline',
      HTTP_PORT: 8080,
      WINDOW_DAYS: 90,
      HALF_LIFE_DAYS: 7,
      ALLOWED_LATENESS_DAYS: 30,
      TOPIC_TOUCHPOINTS: 'marketing.touchpoints.v1',
      TOPIC_DLQ: 'attribution.dlq.v1',
      MODELS: ['first_touch', 'last_touch', 'linear', 'u_shaped', 'time_decay'],
    });
  });

  it('prints usage for --help and refuses unknown flags', async () => {
    const io = captureIo();
    expect(await runServe(['--help'], io, {}, { untilStopped: () => Promise.resolve() })).toBe(0);
    expect(io.out()).toContain('Usage: touchline serve');
    await expect(
      runServe(['--port', '1'], captureIo(), {}, { untilStopped: () => Promise.resolve() }),
    ).rejects.toThrow(/Unknown option '--port'/);
  });
});
