import type { Touch } from '../events.js';
import type { Instant } from '../time.js';

export interface ModelContext {
  readonly createdAt: Instant;
  readonly halfLifeMs: number;
  /**
   * SPEC "Stage models": L, the earliest `lead_created_at` of the opportunity's account's contacts
   * with createdAt − W ≤ L ≤ createdAt; null when there is none.
   */
  readonly leadCreatedAt: Instant | null;
  /** The closed-won instant C when the opportunity is closed won with C ≥ createdAt; else null. */
  readonly closedWonAt: Instant | null;
}

/**
 * Which touches a model weighs. `window`: the eligible set E (createdAt − W ≤ t ≤ createdAt).
 * `through_close`: the account's touches in [createdAt − W, C] for an opportunity closed won at
 * C (full_path; SPEC "Stage models"), which is E when it is not closed won.
 */
export type CandidateSet = 'window' | 'through_close';

/**
 * An attribution model: given its candidate touches in canonical order (time, then id; never
 * empty), it returns one non-negative integer weight per touch, at least one positive. Integer
 * weights keep the money split exact: the core divides the amount in proportion, to the nano-unit.
 */
export interface AttributionModel {
  readonly name: string;
  /**
   * Absent = `window`. A model that declares it (the position models) also reads the stage
   * inputs of ModelContext (leadCreatedAt, closedWonAt); the others are given them but ignore them.
   */
  readonly candidates?: CandidateSet;
  weigh(touches: readonly Touch[], context: ModelContext): bigint[];
}
