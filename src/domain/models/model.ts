import type { Touch } from '../events.js';
import type { Instant } from '../time.js';

export interface ModelContext {
  readonly createdAt: Instant;
  readonly halfLifeMs: number;
}

/**
 * An attribution model: given the eligible touches in canonical order (time, then id; never
 * empty), it returns one non-negative integer weight per touch. Integer weights keep the money
 * split exact: the core divides the amount in proportion, to the nano-unit.
 */
export interface AttributionModel {
  readonly name: string;
  weigh(touches: readonly Touch[], context: ModelContext): bigint[];
}
