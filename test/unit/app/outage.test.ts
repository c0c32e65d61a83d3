import { describe, expect, it } from 'vitest';
import { trackOutage } from '../../../src/app/outage.js';

describe('trackOutage', () => {
  it('logs an outage once when it starts and once when it ends, however many retries fail between', () => {
    let now = 10_000;
    const logged: string[] = [];
    const changes: boolean[] = [];
    const tracker = trackOutage('attributing', {
      clock: () => now,
      log: (level, message) => void logged.push(`${level} ${message}`),
      onChange: (down) => void changes.push(down),
    });
    tracker.succeeded();
    expect(tracker.down).toBeNull();
    tracker.failed(new Error('connection refused'));
    now += 1_500;
    tracker.failed(new Error('connection refused'));
    tracker.failed(new Error('timeout'));
    expect(tracker.down).toEqual({ since: 10_000, cause: 'timeout', failures: 3 });
    now += 2_000;
    tracker.succeeded();
    tracker.succeeded();
    expect(tracker.down).toBeNull();
    expect(logged.filter((l) => !l.startsWith('debug'))).toEqual([
      'warn attributing failing (connection refused); retrying with back-off until it works (logged again when it does)',
      'info attributing works again after 3.5 s (3 failed attempts)',
    ]);
    expect(logged.filter((l) => l.startsWith('debug'))).toHaveLength(2);
    expect(changes).toEqual([true, false]);
  });
});
