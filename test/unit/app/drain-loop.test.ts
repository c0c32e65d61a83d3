import { describe, expect, it } from 'vitest';
import type { Drained } from '../../../src/app/commit-answers.js';
import { startDrainLoop, type DrainLoopDeps } from '../../../src/app/drain-loop.js';
import { AppError } from '../../../src/errors.js';

const nothing: Drained = { claims: [], revisions: [], failed: [], pendingFx: null };

/** A loop over `sources` whose drains are recorded; it stops itself after `rounds` drains. */
function loop(
  overrides: Partial<DrainLoopDeps> & { rounds: number },
): Promise<{ drains: [string, number][]; errors: [string, number][]; sleeps: number[] }> {
  const drains: [string, number][] = [];
  const errors: [string, number][] = [];
  const sleeps: number[] = [];
  return new Promise((resolve) => {
    const running = startDrainLoop({
      sources: () => ['a', 'b'],
      horizon: () => Infinity,
      limit: 10,
      idleMs: 250,
      onDrained: () => undefined,
      onError: (error, retryInMs) => errors.push([error.message, retryInMs]),
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      ...overrides,
      drain: async (source, upTo, limit) => {
        drains.push([source, upTo]);
        if (drains.length >= overrides.rounds)
          void running.stop().then(() => resolve({ drains, errors, sleeps }));
        return (overrides.drain ?? (() => Promise.resolve(nothing)))(source, upTo, limit);
      },
    });
  });
}

describe('the drain loop', () => {
  it('asks for the horizon before each source, not once per round (the instance can fall behind mid-round)', async () => {
    const horizons = [Infinity, 1_000, 2_000, 3_000];
    let asked = 0;
    const { drains } = await loop({ rounds: 4, horizon: () => horizons[asked++] ?? 0 });
    expect(drains).toEqual([
      ['a', Infinity],
      ['b', 1_000],
      ['a', 2_000],
      ['b', 3_000],
    ]);
  });

  it('rests between rounds that drained nothing, and not after one that drained something', async () => {
    let n = 0;
    const { sleeps } = await loop({
      rounds: 6,
      drain: () =>
        Promise.resolve(
          (n += 1) <= 2
            ? { ...nothing, claims: [{ opportunityId: 'O1', token: 't', reason: 'touch', markedAt: 0 }] }
            : nothing,
        ),
    });
    // Round 1 drained: no rest; round 2 drained nothing: one idle rest.
    expect(sleeps).toEqual([250]);
  });

  it('backs off on a failing store, longer each time, and says a non-retriable error waits at least 1 s', async () => {
    let n = 0;
    const { errors, sleeps } = await loop({
      rounds: 4,
      drain: () => {
        n += 1;
        return Promise.reject(
          n === 3
            ? new AppError('CONFIG_INVALID', 'not retriable')
            : new AppError('STORE_UNAVAILABLE', 'down', { retriable: true }),
        );
      },
    });
    expect(errors.slice(0, 3)).toEqual([
      ['down', 100],
      ['down', 250],
      ['not retriable', 1000],
    ]);
    expect(sleeps.slice(0, 3)).toEqual([100, 250, 500]);
  });
});
