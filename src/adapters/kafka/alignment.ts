/**
 * Event-time alignment of input partitions during catch-up. Replaying history, the small
 * opportunities topic runs far ahead of the touches in event time: every opportunity is then
 * attributed before its touches arrive and restated as they do (measured: each answer written
 * ~2.5 times). A partition whose latest event time is more than `slackMs` ahead of the slowest
 * partition that still has a backlog is paused until the others catch up (or `maxPauseMs`
 * passes, so a stalled partition never stops the rest). Scheduling only: results do not depend
 * on it (the streaming = batch tests hold with or without it).
 */
export interface Alignment {
  /** Records where a partition stands after a chunk: its latest event time and remaining lag. */
  observe(source: string, latestEventTime: number | null, lag: number): void;
  /** Whether the partition should pause now. */
  isAhead(source: string): boolean;
  paused(source: string, resume: () => void): void;
  /** Resumes the paused partitions that are no longer ahead or have waited long enough. */
  resumeDue(): void;
  /** Resumes everything (shutdown, rebalance). */
  resumeAll(): void;
}

export function createAlignment(options: { slackMs: number; maxPauseMs: number; staleMs: number; clock: () => number }): Alignment {
  /** `at`: when observed; a partition not heard of for `staleMs` (revoked, idle) is not waited for. */
  const positions = new Map<string, { time: number; lag: number; at: number }>();
  const pausedAt = new Map<string, { since: number; resume: () => void }>();

  const slowest = (): number | null => {
    const now = options.clock();
    let min: number | null = null;
    for (const [source, { time, lag, at }] of positions) {
      const live = now - at < options.staleMs || pausedAt.has(source);
      if (live && lag > 0 && (min === null || time < min)) min = time;
    }
    return min;
  };
  const ahead = (source: string): boolean => {
    const position = positions.get(source);
    const min = slowest();
    return position !== undefined && position.lag > 0 && min !== null && position.time > min + options.slackMs;
  };

  return {
    observe(source, latestEventTime, lag) {
      const time = latestEventTime ?? positions.get(source)?.time ?? Number.MIN_SAFE_INTEGER;
      positions.set(source, { time, lag, at: options.clock() });
    },
    isAhead: ahead,
    paused(source, resume) {
      pausedAt.set(source, { since: options.clock(), resume });
    },
    resumeDue() {
      const now = options.clock();
      for (const [source, { since, resume }] of pausedAt) {
        if (!ahead(source) || now - since >= options.maxPauseMs) {
          pausedAt.delete(source);
          resume();
        }
      }
    },
    resumeAll() {
      for (const { resume } of pausedAt.values()) resume();
      pausedAt.clear();
      positions.clear();
    },
  };
}
