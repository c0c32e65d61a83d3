/**
 * The real process, as an orchestrator runs it: `touchline serve` becomes ready, answers its
 * probes and metrics, and on SIGTERM drains and exits 0; a bad setting exits 2 with the list
 * of problems before connecting anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupIsolated, eventually, isolatedEnv } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');

function serve(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => output, exit };
}

const get = async (url: string): Promise<{ status: number; body: string }> => {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
};

describe('touchline serve as a process', { timeout: 120_000 }, () => {
  it('becomes ready, serves probes and metrics, and drains on SIGTERM with exit code 0', async () => {
    const env = isolatedEnv('proc', { LOG_LEVEL: 'info' });
    const run = serve(env);
    try {
      const port = await eventually(
        () => Promise.resolve(/metrics on http:\/\/[^:]+:(\d+)\/metrics/.exec(run.output())?.[1]),
        (p) => p !== undefined,
        60_000,
      );
      expect(port).toBeDefined();
      const base = `http://127.0.0.1:${port ?? ''}`;
      expect(
        (
          await eventually(
            () => get(`${base}/readyz`),
            (r) => r.status === 200,
            60_000,
          )
        ).body,
      ).toBe('ready\n');
      expect((await get(`${base}/healthz`)).status).toBe(200);
      const metrics = await get(`${base}/metrics`);
      expect(metrics.body).toContain('# TYPE touchline_events_total counter');
      expect(metrics.body).toContain('process_resident_memory_bytes');
      expect((await get(`${base}/nope`)).status).toBe(404);

      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(run.output()).toContain('SIGTERM, draining and shutting down');
    } finally {
      run.child.kill('SIGKILL');
      await cleanupIsolated(env);
    }
  });

  it('exits 2 listing every bad setting, before connecting anywhere', async () => {
    const run = serve({
      KAFKA_BROKERS: '127.0.0.1:1',
      SCHEMA_REGISTRY_URL: 'not a url',
      REDIS_URL: 'redis://127.0.0.1:1',
      DATABASE_URL: 'postgres://x@127.0.0.1:1/db',
      WINDOW_DAYS: '-3',
    });
    expect(await run.exit).toBe(2);
    expect(run.output()).toContain('SCHEMA_REGISTRY_URL: must be a URL starting with http: or https:');
    expect(run.output()).toContain('WINDOW_DAYS: Too small: expected number to be >0');
  });
});
