import type { Touch } from '../events.js';
import type { Instant } from '../time.js';
import type { ModelContext } from './model.js';

/**
 * The stage roles of SPEC "Stage models", chosen in a model's candidate list (canonical order:
 * occurredAt, then id). E is the prefix of that list with occurredAt ≤ createdAt: the whole list for
 * a `window` model, and for a `through_close` one the part before the touches after creation.
 *
 * - `first`: E's first touch (ties on time: smallest id, the canonical order's first).
 * - `opportunity_creation`: E's last touch (ties: largest id).
 * - `lead_creation`: the last touch of E with occurredAt ≤ L, L = context.leadCreatedAt (the caller
 *   has already chosen the earliest lead_created_at in the window); none when L is null or every
 *   touch of E is after L.
 * - `closed_won`: the last candidate with occurredAt ≤ C, C = context.closedWonAt (ties: largest
 *   id); none when C is null.
 *
 * Every "ties" rule is the canonical order itself, so a role is one index found by binary search.
 */
export type Role = 'first' | 'lead_creation' | 'opportunity_creation' | 'closed_won';

export const ROLES: readonly Role[] = ['first', 'lead_creation', 'opportunity_creation', 'closed_won'];

/** The context the roles read; ModelContext satisfies it. */
export type RoleContext = Pick<ModelContext, 'createdAt' | 'leadCreatedAt' | 'closedWonAt'>;

/** For each role, the index of its touch in `touches`, or -1 when the role holds no touch. */
export type RoleIndices = Readonly<Record<Role, number>>;

/** The last index below `end` whose touch occurred at or before `instant`; -1 when there is none. */
function lastAtOrBefore(touches: readonly Touch[], instant: Instant, end: number): number {
  let low = 0;
  let high = end;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((touches[mid] as Touch).occurredAt <= instant) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/**
 * Where each role falls in `touches` (canonical order, as a model receives them). Roles not in
 * `wanted` are -1: a model that gives a role no weight does not let it claim a touch.
 */
export function roleIndices(
  touches: readonly Touch[],
  context: RoleContext,
  wanted: readonly Role[] = ROLES,
): RoleIndices {
  const eligible = lastAtOrBefore(touches, context.createdAt, touches.length) + 1;
  const { leadCreatedAt, closedWonAt } = context;
  const indices: Record<Role, number> = {
    first: -1,
    lead_creation: -1,
    opportunity_creation: -1,
    closed_won: -1,
  };
  for (const role of wanted) {
    if (role === 'first') indices.first = eligible > 0 ? 0 : -1;
    else if (role === 'opportunity_creation') indices.opportunity_creation = eligible - 1;
    else if (role === 'lead_creation')
      indices.lead_creation = leadCreatedAt === null ? -1 : lastAtOrBefore(touches, leadCreatedAt, eligible);
    else
      indices.closed_won = closedWonAt === null ? -1 : lastAtOrBefore(touches, closedWonAt, touches.length);
  }
  return indices;
}
