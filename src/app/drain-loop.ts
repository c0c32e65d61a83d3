import type { Instant } from '../domain/time.js';
import { isAppError } from '../errors.js';
import type { Drained } from './commit-answers.js';

export interface DrainLoopDeps {
  /** Drains up to `limit` pending opportunities of the source created at or before `upTo`. */
  readonly drain: (source: string, upTo: Instant, limit: number) => Promise<Drained>;
  /** The sources (input topic-partitions) this instance owns now. */
  readonly sources: () => readonly string[];
  /**
   * How far to drain: +Infinity while the instance is live (its lag is small), else the slowest
   * input's event-time watermark — an opportunity created before it has seen every in-window
   * touch that any input will bring in order, so its answer is computed once, not per batch.
   */
  readonly horizon: () => Instant;
  readonly onDrained: (source: string, drained: Drained) => void;
  readonly onError: (error: Error, retryInMs: number) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Opportunities per commit. */
  readonly limit: number;
  /** How long to wait for a wake-up when nothing was drainable. */
  readonly idleMs: number;
}

export interface DrainLoop {
  /** New marks were written: drain soon. */
  wake(): void;
  /** Finishes the chunk in flight and stops; safe to call twice. */
  stop(): Promise<void>;
}

const BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * One loop per instance that drains the pending sets of the partitions it owns, chunk by chunk,
 * round-robin. A store that is down is waited out with back-off; the marks stay in Redis, so
 * nothing is lost while it waits, and whoever owns a partition next finishes its pending set.
 */
export function startDrainLoop(deps: DrainLoopDeps): DrainLoop {
  let running = true;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  const rest = (ms: number): Promise<void> =>
    woken
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wakeUp = resolve;
          void deps.sleep(ms).then(resolve);
        });

  async function loop(): Promise<void> {
    let failures = 0;
    while (running) {
      woken = false;
      let drainedAny = false;
      try {
        for (const source of deps.sources()) {
          if (!running) break;
          // Asked per source: one round over many sources takes long enough for the instance
          // to go from live to catching up (a join, a first batch), and Infinity then would
          // attribute opportunities whose touches are still unread.
          const drained = await deps.drain(source, deps.horizon(), deps.limit);
          deps.onDrained(source, drained);
          if (drained.claims.length > 0) drainedAny = true;
        }
        failures = 0;
      } catch (error) {
        const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] ?? 5000;
        failures += 1;
        const known = error instanceof Error ? error : new Error(String(error));
        deps.onError(known, isAppError(known) && !known.retriable ? Math.max(delay, 1000) : delay);
        await deps.sleep(delay);
        continue;
      }
      if (!drainedAny && running) await rest(deps.idleMs);
      wakeUp = null;
    }
  }
  const done = loop();
  let stopping: Promise<void> | null = null;
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        woken = true;
        wakeUp?.();
        await done;
      })();
      return stopping;
    },
  };
}
