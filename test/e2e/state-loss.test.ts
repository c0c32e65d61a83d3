/**
 * Redis losing the state (keys deleted, as a restart of a Redis that keeps nothing on disk
 * does): the service must notice, stop attributing, say so (log, /readyz, metrics), rebuild the
 * state from Kafka and end equal to `touchline replay` of the same events — mid-catch-up, while
 * idle, and when an operator runs `touchline rebuild-state`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { runRebuildState } from '../../src/cli/rebuild-state.js';
import type { Metrics } from '../../src/metrics.js';
import { startService } from '../../src/service.js';
import { captureIo, tempDir } from '../support/cli.js';
import { metricTotal, pipelineRows, replayRows } from '../support/pipeline-rows.js';
import {
  cleanupIsolated,
  configOf,
  deleteRedisKeys,
  eventually,
  groupCaughtUp,
  isolatedEnv,
  SERVICES,
} from '../support/services.js';

const pool = createPool(SERVICES.DATABASE_URL);
afterAll(() => closePool(pool));

const rows = (schema: string): Promise<string[]> => pipelineRows(pool, schema);

const total = metricTotal;

/** Polls /readyz and the rebuilding gauge until stopped; what they said, in order of change. */
function watch(port: number, metrics: Metrics) {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      const rebuilding = await total(metrics.stateRebuilding);
      const now = `${status}/${rebuilding}`;
      if (seen.at(-1) !== now) seen.push(now);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('the Redis state lost', { timeout: 300_000 }, () => {
  it('is detected, reported and rebuilt from Kafka: mid-catch-up, idle, and on demand; the totals end equal to replay', async () => {
    const env = isolatedEnv('stateloss');
    const dir = tempDir('touchline-stateloss-');
    expect(
      await runGenerate(
        [
          '--out',
          dir,
          '--contacts',
          '1500',
          '--opportunities',
          '800',
          '--touches',
          '40000',
          '--seed',
          '47',
          '--dirty-rate',
          '0',
        ],
        captureIo(),
      ),
    ).toBe(0);
    const data = join(dir, 'events');
    const expected = replayRows(data);
    // The generated dataset's rows, plus its FX rate rows (a rebuild reads the rates back too).
    const rates = readFileSync(join(data, 'fx_rates.csv'), 'utf8').trim().split('\n').length - 1;
    expect(rates).toBeGreaterThan(0);
    // Every line of the three event files (the generator adds contact and closing versions to
    // the 1500 contacts, 800 opportunities and 40000 touches asked for), counted from the files.
    const lines = (file: string): number =>
      readFileSync(join(data, file), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length;
    const records =
      lines('contacts.ndjson') + lines('touchpoints.ndjson') + lines('opportunities.ndjson') + rates;
    expect(records).toBeGreaterThanOrEqual(1500 + 800 + 40000 + rates);
    expect(await runProduce(['--data', data], captureIo(), env)).toBe(0);

    const logged: string[] = [];
    const service = await startService(
      configOf(env),
      (level, message) => void logged.push(`${level} ${message}`),
    );
    const probes = watch(service.port, service.metrics);
    try {
      // 1. Mid-catch-up: once a tenth of the records has been consumed, and before the end.
      const consumed = await eventually(
        () => total(service.metrics.eventsIn),
        (n) => n >= records / 10,
        60_000,
      );
      expect(await deleteRedisKeys(env)).toBeGreaterThan(0);
      expect(consumed).toBeLessThan(records);
      expect(
        await eventually(
          () => rows(env.PG_SCHEMA ?? ''),
          (r) => JSON.stringify(r) === JSON.stringify(expected),
          180_000,
        ),
      ).toEqual(expected);
      expect(
        await eventually(
          () => groupCaughtUp(env),
          (done) => done,
        ),
      ).toBe(true);
      expect(
        logged.some((line) =>
          /^error Redis state lost: generation \S+ is gone \(no generation key.*; pausing attribution and rebuilding the state from Kafka$/.test(
            line,
          ),
        ),
      ).toBe(true);
      expect(
        logged.some((line) => /^info state rebuilt into generation \S+: \d+ records read back/.test(line)),
      ).toBe(true);
      expect(await total(service.metrics.stateRebuilds)).toBe(1);
      // Not ready while rebuilding (503 with the gauge at 1), ready again after (200, gauge 0).
      expect(probes.seen).toContain('503/1');
      expect(probes.seen.at(-1)).toBe('200/0');
      expect(probes.seen.slice(probes.seen.indexOf('503/1'))).toContain('200/0');

      // 2. Idle: nothing is consumed, yet the loss is noticed and repaired.
      expect(await deleteRedisKeys(env)).toBeGreaterThan(0);
      expect(
        await eventually(
          () => total(service.metrics.stateRebuilds),
          (n) => n === 2,
          60_000,
        ),
      ).toBe(2);
      await eventually(
        () => fetch(`http://127.0.0.1:${service.port}/readyz`).then((r) => r.status),
        (s) => s === 200,
        30_000,
      );
      expect(await rows(env.PG_SCHEMA ?? '')).toEqual(expected);

      // 3. On demand: `touchline rebuild-state` makes a new generation; the service adopts it
      //    without rebuilding again itself.
      const io = captureIo();
      expect(await runRebuildState([], io, env)).toBe(0);
      const made = /state generation (\S+) is ready: (\d+) records read back/.exec(io.out());
      expect(made).not.toBeNull();
      expect(Number(made?.[2])).toBe(records);
      await eventually(
        () =>
          Promise.resolve(
            logged.some((line) => line === `info state generation ${made?.[1]} is ready; resuming`),
          ),
        (ok) => ok,
        30_000,
      );
      expect(await total(service.metrics.stateRebuilds)).toBe(2);
      await eventually(
        () => fetch(`http://127.0.0.1:${service.port}/readyz`).then((r) => r.status),
        (s) => s === 200,
        30_000,
      );
      expect(await rows(env.PG_SCHEMA ?? '')).toEqual(expected);
      expect(await total(service.metrics.dlq)).toBe(0);
    } finally {
      await probes.stop();
      await service.stop();
      await cleanupIsolated(env);
    }
  });
});
