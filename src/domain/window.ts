import { compareTouches, type Touch } from './events.js';
import type { Instant } from './time.js';

/**
 * The window rule, the only place it is written: a touch at `occurredAt` is eligible for an
 * opportunity created at `createdAt` when createdAt − window ≤ occurredAt ≤ createdAt (exact
 * instants, both ends inclusive).
 */
export const inWindow = (occurredAt: Instant, createdAt: Instant, windowMs: number): boolean =>
  occurredAt <= createdAt && occurredAt >= createdAt - windowMs;

/** The earliest instant still eligible for an opportunity created at `createdAt`. */
export const windowStart = (createdAt: Instant, windowMs: number): Instant => createdAt - windowMs;

/**
 * The eligible touches among `candidates` in canonical order (time, then id), without duplicate
 * ids. Candidates already in that order and unique (what WorkingState.touchesOf returns for
 * one contact) are filtered without sorting.
 */
export function eligibleTouches(candidates: readonly Touch[], createdAt: Instant, windowMs: number): Touch[] {
  const byId = new Map<string, Touch>();
  for (const touch of candidates) {
    if (inWindow(touch.occurredAt, createdAt, windowMs)) byId.set(touch.id, touch);
  }
  return [...byId.values()].sort(compareTouches);
}
