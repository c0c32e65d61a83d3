/**
 * A store that goes away is waited for, never dead-lettered: the service runs on its own Redis
 * (a private redis-server with an append-only file, so a restart keeps the state), Redis is
 * stopped while records arrive, started again, and the result still equals replay with an
 * empty DLQ.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { startService } from '../../src/service.js';
import { captureIo, tempDir } from '../support/cli.js';
import { metricTotal, pipelineRows, replayRows } from '../support/pipeline-rows.js';
import {
  cleanupIsolated,
  configOf,
  eventually,
  groupCaughtUp,
  isolatedEnv,
  SERVICES,
} from '../support/services.js';

const pool = createPool(SERVICES.DATABASE_URL);
afterAll(() => closePool(pool));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });

function startRedis(port: number, dir: string): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  return { child, exited: new Promise((resolve) => child.on('exit', () => resolve())) };
}

const rows = (schema: string): Promise<string[]> => pipelineRows(pool, schema);

const total = metricTotal;

describe('a store outage', { timeout: 180_000 }, () => {
  it('is retried with back-off while Redis is down, dead-letters nothing, and ends equal to replay', async () => {
    const port = await freePort();
    const redisDir = tempDir('touchline-redis-');
    let redis = startRedis(port, redisDir);
    const env = isolatedEnv('outage', { REDIS_URL: `redis://127.0.0.1:${port}` });
    const dir = tempDir('touchline-outage-');
    expect(
      await runGenerate(
        [
          '--out',
          dir,
          '--contacts',
          '300',
          '--opportunities',
          '150',
          '--touches',
          '3000',
          '--seed',
          '31',
          '--dirty-rate',
          '0',
        ],
        captureIo(),
      ),
    ).toBe(0);
    const data = join(dir, 'events');
    const expected = replayRows(data);

    await eventually(
      async () =>
        await fetch(`http://127.0.0.1:${port}`).then(
          () => true,
          (e: { cause?: { code?: string } }) => e.cause?.code !== 'ECONNREFUSED',
        ),
      (up) => up,
      10_000,
    );
    const logged: string[] = [];
    const service = await startService(
      configOf(env),
      (level, message) => void logged.push(`${level} ${message}`),
    );
    try {
      // The outage comes mid-run: once the state is open and the group joined.
      const ready = (): Promise<boolean> =>
        fetch(`http://127.0.0.1:${service.port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      expect(await eventually(ready, (ok) => ok, 30_000)).toBe(true);
      redis.child.kill('SIGTERM');
      await redis.exited;
      // Records arrive while Redis is down.
      expect(await runProduce(['--data', data], captureIo(), env)).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // The outage must have been met and waited out, not slept through: records were tried
      // against the stopped Redis and retried with back-off, said once (not once per retry),
      // and /readyz says so.
      const failing = /^warn consuming the inputs \(Redis state, schema registry\) failing \(Redis .*failed/;
      expect(logged.filter((line) => failing.test(line))).toHaveLength(1);
      // Consuming fails on Redis; attributing (which reads the state) may too.
      expect(
        (await service.metrics.outage.get()).values.find((v) => v.labels.activity === 'consume')?.value,
      ).toBe(1);
      const probe = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(probe.status).toBe(503);
      expect(await probe.text()).toMatch(
        /consuming the inputs \(Redis state, schema registry\) failing for \d+ s: Redis/,
      );
      redis = startRedis(port, redisDir);
      expect(
        await eventually(
          () => rows(env.PG_SCHEMA ?? ''),
          (r) => JSON.stringify(r) === JSON.stringify(expected),
          120_000,
        ),
      ).toEqual(expected);
      expect(
        await eventually(
          () => groupCaughtUp(env),
          (done) => done,
        ),
      ).toBe(true);
      expect(logged.filter((line) => failing.test(line))).toHaveLength(1);
      expect(
        logged.filter((line) =>
          /^info consuming the inputs \(Redis state, schema registry\) works again after [\d.]+ s \(\d+ failed attempts\)$/.test(
            line,
          ),
        ),
      ).toHaveLength(1);
      expect(await total(service.metrics.outage)).toBe(0);
      expect((await fetch(`http://127.0.0.1:${service.port}/readyz`)).status).toBe(200);
      const dead = (await service.metrics.dlq.get()).values.reduce((n, v) => n + v.value, 0);
      expect(dead).toBe(0);
    } finally {
      await service.stop();
      redis.child.kill('SIGTERM');
      await redis.exited;
      await cleanupIsolated(env);
    }
  });
});
