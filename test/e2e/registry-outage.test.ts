/**
 * The schema registry down when the service starts (it often comes up after it): the service
 * waits with back-off, says so once, starts when the registry answers, and ends equal to replay.
 * The registry is reached through a TCP relay of the test's own that refuses connections at first.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runProduce } from '../../src/cli/produce.js';
import { startService, type RunningService } from '../../src/service.js';
import { captureIo, tempDir } from '../support/cli.js';
import { pipelineRows, replayRows } from '../support/pipeline-rows.js';
import { cleanupIsolated, configOf, eventually, isolatedEnv, SERVICES } from '../support/services.js';

const pool = createPool(SERVICES.DATABASE_URL);
afterAll(() => closePool(pool));

const rows = (schema: string): Promise<string[]> => pipelineRows(pool, schema);

/** A port nothing listens on yet; `open()` relays it to the real registry. */
async function registryRelay(): Promise<{
  url: string;
  open: () => Promise<void>;
  close: () => Promise<void>;
}> {
  const target = new URL(SERVICES.SCHEMA_REGISTRY_URL);
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  let relay: Server | null = null;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    open: () =>
      new Promise<void>((resolve) => {
        relay = createServer((client) => {
          const upstream = createConnection(Number(target.port), target.hostname);
          client.pipe(upstream).pipe(client);
          const end = (): void => void (client.destroy(), upstream.destroy());
          client.on('error', end);
          upstream.on('error', end);
        });
        relay.listen(port, '127.0.0.1', resolve);
      }),
    close: () => new Promise<void>((resolve) => (relay === null ? resolve() : relay.close(() => resolve()))),
  };
}

describe('the schema registry down at start', { timeout: 120_000 }, () => {
  it('is waited for with back-off, said once, and the service then ends equal to replay', async () => {
    const relay = await registryRelay();
    const env = isolatedEnv('registrydown');
    const dir = tempDir('touchline-registrydown-');
    expect(
      await runGenerate(
        [
          '--out',
          dir,
          '--contacts',
          '200',
          '--opportunities',
          '100',
          '--touches',
          '1500',
          '--seed',
          '53',
          '--dirty-rate',
          '0',
        ],
        captureIo(),
      ),
    ).toBe(0);
    const data = join(dir, 'events');
    const expected = replayRows(data);
    expect(await runProduce(['--data', data], captureIo(), env)).toBe(0);

    const logged: string[] = [];
    let service: RunningService | null = null;
    const starting = startService(
      configOf({ ...env, SCHEMA_REGISTRY_URL: relay.url }),
      (level, message) => void logged.push(`${level} ${message}`),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const failing = logged.filter((l) =>
        l.startsWith(`warn reaching the schema registry at ${relay.url} failing (`),
      );
      expect(failing).toHaveLength(1);
      await relay.open();
      service = await starting;
      expect(
        logged.filter((l) =>
          l.startsWith(`info reaching the schema registry at ${relay.url} works again after`),
        ),
      ).toHaveLength(1);
      expect(
        await eventually(
          () => rows(env.PG_SCHEMA ?? ''),
          (r) => JSON.stringify(r) === JSON.stringify(expected),
          60_000,
        ),
      ).toEqual(expected);
    } finally {
      service ??= await starting.catch(() => null);
      await service?.stop();
      await relay.close();
      await cleanupIsolated(env);
    }
  });
});
