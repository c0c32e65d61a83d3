import { compareTouches, type Touch } from './events.js';
import type { Instant } from './time.js';

/**
 * A touch is eligible for an opportunity created at `createdAt` when
 * createdAt − window ≤ occurredAt ≤ createdAt (exact instants, both ends inclusive).
 * Returns the eligible touches in canonical order (time, then id), without duplicate ids.
 */
export function eligibleTouches(candidates: readonly Touch[], createdAt: Instant, windowMs: number): Touch[] {
  const from = createdAt - windowMs;
  const byId = new Map<string, Touch>();
  for (const touch of candidates) {
    if (touch.occurredAt >= from && touch.occurredAt <= createdAt) byId.set(touch.id, touch);
  }
  return [...byId.values()].sort(compareTouches);
}
