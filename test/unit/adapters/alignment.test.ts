import { describe, expect, it } from 'vitest';
import { createAlignment } from '../../../src/adapters/kafka/alignment.js';

const DAY = 86_400_000;

function setup() {
  let now = 0;
  const alignment = createAlignment({ slackMs: DAY, maxPauseMs: 3_000, staleMs: 10_000, clock: () => now });
  const resumed: string[] = [];
  const pause = (source: string) => alignment.paused(source, () => resumed.push(source));
  return { alignment, resumed, pause, advance: (ms: number) => (now += ms) };
}

describe('event-time alignment of partitions', () => {
  it('pauses a partition more than the slack ahead of the slowest backlog, and resumes it when that catches up', () => {
    const { alignment, resumed, pause } = setup();
    alignment.observe('touches/0', 10 * DAY, 5_000);
    alignment.observe('opps/0', 200 * DAY, 9_000);
    expect(alignment.isAhead('opps/0')).toBe(true);
    expect(alignment.isAhead('touches/0')).toBe(false);
    pause('opps/0');
    alignment.observe('touches/0', 199.5 * DAY, 3_000);
    alignment.resumeDue();
    expect(resumed).toEqual(['opps/0']);
  });

  it('does not wait for partitions without a backlog, nor for ones not heard of lately', () => {
    const { alignment, advance } = setup();
    alignment.observe('touches/0', 10 * DAY, 0);
    alignment.observe('opps/0', 200 * DAY, 9_000);
    expect(alignment.isAhead('opps/0')).toBe(false);
    alignment.observe('touches/1', 10 * DAY, 10);
    expect(alignment.isAhead('opps/0')).toBe(true);
    advance(10_001);
    alignment.observe('opps/0', 201 * DAY, 8_000);
    expect(alignment.isAhead('opps/0')).toBe(false);
  });

  it('never holds a partition longer than the maximum pause', () => {
    const { alignment, resumed, pause, advance } = setup();
    alignment.observe('touches/0', 0, 5_000);
    alignment.observe('opps/0', 100 * DAY, 9_000);
    pause('opps/0');
    advance(2_999);
    alignment.resumeDue();
    expect(resumed).toEqual([]);
    advance(1);
    alignment.resumeDue();
    expect(resumed).toEqual(['opps/0']);
  });

  it('resumes everything and forgets positions on a rebalance', () => {
    const { alignment, resumed, pause } = setup();
    alignment.observe('touches/0', 0, 5_000);
    alignment.observe('opps/0', 100 * DAY, 9_000);
    pause('opps/0');
    alignment.resumeAll();
    expect(resumed).toEqual(['opps/0']);
    alignment.observe('opps/0', 100 * DAY, 9_000);
    expect(alignment.isAhead('opps/0')).toBe(false);
  });
});
