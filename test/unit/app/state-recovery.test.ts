import { describe, expect, it } from 'vitest';
import type { StateGeneration, StateGenerations } from '../../../src/app/ports.js';
import { openState, rebuildNow, type RecoveryDeps } from '../../../src/app/state-recovery.js';

/** The generation record as Redis keeps it (compare-and-set), in memory, with a fake clock. */
function world(initial: StateGeneration | null = null, committed = false) {
  let now = 1_000_000;
  let record: StateGeneration | null = initial;
  let ids = 0;
  const rebuilds: string[] = [];
  const logged: string[] = [];
  const generations: StateGenerations = {
    current: () => Promise.resolve(record),
    replace: (expected, next) => {
      if ((record?.id ?? null) !== expected) return Promise.resolve(false);
      record = next;
      return Promise.resolve(true);
    },
    heartbeat: (id, at) => {
      if (record?.id !== id) return Promise.resolve(false);
      record = { ...record, heartbeatAt: at };
      return Promise.resolve(true);
    },
    ready: (id, at) => {
      if (record?.id !== id) return Promise.resolve(false);
      record = { ...record, status: 'ready', heartbeatAt: at };
      return Promise.resolve(true);
    },
    discardOthers: () => Promise.resolve(7),
  };
  const deps: RecoveryDeps = {
    generations,
    owner: 'me',
    newId: () => `g${++ids}`,
    clock: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    hasCommittedInput: () => Promise.resolve(committed),
    rebuild: (id) => {
      rebuilds.push(id);
      now += 5_000;
      return Promise.resolve({ records: 42 });
    },
    log: (level, message) => void logged.push(`${level} ${message}`),
    staleAfterMs: 30_000,
    pollMs: 1_000,
  };
  return {
    deps,
    rebuilds,
    logged,
    record: () => record,
    set: (next: StateGeneration | null) => void (record = next),
    advance: (ms: number) => void (now += ms),
    now: () => now,
  };
}

describe('openState', () => {
  it('uses a ready generation as it is', async () => {
    const w = world({ id: 'g0', status: 'ready', owner: 'other', heartbeatAt: 0 }, true);
    expect(await openState(w.deps)).toEqual({ generation: 'g0', rebuilt: null });
    expect(w.rebuilds).toEqual([]);
  });

  it('starts an empty generation on a first start (no generation, nothing committed)', async () => {
    const w = world(null, false);
    expect(await openState(w.deps)).toEqual({ generation: 'g1', rebuilt: null });
    expect(w.record()).toMatchObject({ id: 'g1', status: 'ready', owner: 'me' });
    expect(w.rebuilds).toEqual([]);
    expect(w.logged).toEqual(['info started state generation g1 (first start: no input read yet)']);
  });

  it('rebuilds when the generation is gone but the group has committed input (Redis lost it)', async () => {
    const w = world(null, true);
    const opened = await openState(w.deps);
    expect(opened).toEqual({ generation: 'g1', rebuilt: { records: 42, durationMs: 5_000 } });
    expect(w.rebuilds).toEqual(['g1']);
    expect(w.record()).toMatchObject({ id: 'g1', status: 'ready' });
    expect(w.logged.at(-1)).toBe(
      'info state rebuilt into generation g1: 42 records read back in 5000 ms; 7 old keys discarded',
    );
  });

  it('rebuilds when the ready generation is the one found lost, replacing it', async () => {
    const w = world({ id: 'g0', status: 'ready', owner: 'me', heartbeatAt: 0 }, true);
    const opened = await openState(w.deps, 'g0');
    expect(opened.generation).toBe('g1');
    expect(w.rebuilds).toEqual(['g1']);
    expect(w.logged).toContain('info rebuilding the state from Kafka into generation g1 (replacing g0)');
  });

  it('uses a newer generation another instance made after the one that was lost', async () => {
    const w = world({ id: 'g9', status: 'ready', owner: 'other', heartbeatAt: 0 }, true);
    expect(await openState(w.deps, 'g0')).toEqual({ generation: 'g9', rebuilt: null });
    expect(w.rebuilds).toEqual([]);
  });

  it('waits for a rebuild another instance is running and uses its result', async () => {
    const w = world(null, true);
    w.set({ id: 'g7', status: 'rebuilding', owner: 'other', heartbeatAt: w.now() });
    const sleep = w.deps.sleep;
    let polls = 0;
    const opened = await openState({
      ...w.deps,
      sleep: async (ms) => {
        polls += 1;
        await sleep(ms);
        // The other instance heartbeats, then finishes after three polls.
        const record = w.record();
        if (record !== null)
          w.set({ ...record, heartbeatAt: w.now(), status: polls >= 3 ? 'ready' : 'rebuilding' });
      },
    });
    expect(opened).toEqual({ generation: 'g7', rebuilt: null });
    expect(polls).toBe(3);
    expect(w.rebuilds).toEqual([]);
    expect(w.logged.filter((l) => l.includes('being rebuilt by other'))).toHaveLength(1);
  });

  it('takes over a rebuild whose heartbeat went stale (its instance died)', async () => {
    const w = world(null, true);
    w.set({ id: 'g7', status: 'rebuilding', owner: 'other', heartbeatAt: w.now() - 30_001 });
    const opened = await openState(w.deps);
    expect(opened.generation).toBe('g1');
    expect(w.rebuilds).toEqual(['g1']);
    expect(w.logged[0]).toBe(
      'warn the rebuild of state generation g7 by other stopped (no heartbeat for 30001 ms); taking it over',
    );
  });

  it('tries again with a new generation when a rebuild fails', async () => {
    const w = world(null, true);
    let calls = 0;
    const opened = await openState({
      ...w.deps,
      rebuild: (id, heartbeat) => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('broker went away')) : w.deps.rebuild(id, heartbeat);
      },
    });
    expect(opened.generation).toBe('g2');
    expect(w.logged).toContain('error rebuilding the state into generation g1 failed: broker went away');
    expect(w.record()).toMatchObject({ id: 'g2', status: 'ready' });
  });

  it('gives a rebuild up when another instance replaces its generation meanwhile', async () => {
    const w = world(null, true);
    let calls = 0;
    const opened = await openState({
      ...w.deps,
      rebuild: async (id, heartbeat) => {
        calls += 1;
        if (calls === 1) {
          // Another instance took over (it judged this one stale) and finished.
          w.set({ id: 'gX', status: 'ready', owner: 'other', heartbeatAt: w.now() });
          w.advance(10_000);
          await heartbeat();
        }
        return { records: 1 };
      },
    });
    expect(opened).toEqual({ generation: 'gX', rebuilt: null });
    expect(w.logged).toContain(
      'error rebuilding the state into generation g1 failed: state generation g1 was replaced during its rebuild',
    );
  });

  it('makes concurrent instances run one rebuild between them', async () => {
    const w = world(null, true);
    const [a, b] = await Promise.all([openState(w.deps), openState({ ...w.deps, owner: 'twin' })]);
    expect(a.generation).toBe(b.generation);
    expect(w.rebuilds).toHaveLength(1);
  });
});

describe('rebuildNow', () => {
  it('replaces a ready generation with a rebuilt one', async () => {
    const w = world({ id: 'g0', status: 'ready', owner: 'other', heartbeatAt: 0 }, true);
    const opened = await rebuildNow(w.deps);
    expect(opened).toEqual({ generation: 'g1', rebuilt: { records: 42, durationMs: 5_000 } });
    expect(w.record()).toMatchObject({ id: 'g1', status: 'ready', owner: 'me' });
  });

  it('refuses while another rebuild is alive', async () => {
    const w = world(null, true);
    w.set({ id: 'g7', status: 'rebuilding', owner: 'other', heartbeatAt: w.now() });
    await expect(rebuildNow(w.deps)).rejects.toThrow(
      'a rebuild of state generation g7 by other is running; wait for it to finish',
    );
    expect(w.rebuilds).toEqual([]);
  });

  it('reports the failure of its rebuild', async () => {
    const w = world(null, true);
    await expect(
      rebuildNow({ ...w.deps, rebuild: () => Promise.reject(new Error('no broker')) }),
    ).rejects.toThrow('no broker');
  });
});
