/**
 * A dependency that fails and is retried: one log line when it starts failing, one when it
 * works again, not one per retry. While it fails, `down` says since when and why (for /readyz
 * and a gauge).
 */
export interface Outage {
  readonly since: number;
  readonly cause: string;
  readonly failures: number;
}

export interface OutageTracker {
  readonly name: string;
  /** A retriable failure: the first of an outage is logged (warn), the rest only counted. */
  failed(error: Error): void;
  /** A success: ends an outage, if there was one, with a line saying how long it lasted. */
  succeeded(): void;
  readonly down: Outage | null;
}

export function trackOutage(
  name: string,
  deps: {
    readonly clock: () => number;
    readonly log: (level: 'debug' | 'info' | 'warn', message: string) => void;
    readonly onChange?: (down: boolean) => void;
  },
): OutageTracker {
  let down: Outage | null = null;
  return {
    name,
    failed(error) {
      if (down === null) {
        down = { since: deps.clock(), cause: error.message, failures: 1 };
        deps.log(
          'warn',
          `${name} failing (${error.message}); retrying with back-off until it works (logged again when it does)`,
        );
        deps.onChange?.(true);
        return;
      }
      down = { ...down, cause: error.message, failures: down.failures + 1 };
      deps.log('debug', `${name} still failing (${error.message}); ${down.failures} failed attempts`);
    },
    succeeded() {
      if (down === null) return;
      const { since, failures } = down;
      down = null;
      deps.log(
        'info',
        `${name} works again after ${((deps.clock() - since) / 1000).toFixed(1)} s (${failures} failed attempts)`,
      );
      deps.onChange?.(false);
    },
    get down() {
      return down;
    },
  };
}
