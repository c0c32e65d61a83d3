import type { AttributionModel, CandidateSet } from './model.js';
import { ROLES, roleIndices, type Role, type RoleIndices } from './roles.js';

/**
 * Position (stage) models of SPEC "Stage models": each role (roles.ts) holds a declared share of
 * 100 %, and a `middle` share covers the candidates that hold no role. Shares are exact bigints
 * in millionths of a percent (22.5 % = 22_500_000n), so the weights stay integers and the core
 * splits money exactly, largest remainder to the nano, as for every model.
 *
 * The weighing, for one candidate list (canonical order, never empty):
 * 1. Roles whose share is 0 hold nothing: they claim no touch, and a touch holding only such a
 *    role is a middle touch. The other roles are placed by roles.ts.
 * 2. If no role holds a touch (only a custom model can get there, when all its roles are absent),
 *    every candidate gets an equal weight, and nothing else below applies.
 * 3. With k = the number of roles that hold a touch (roles, not touches: two roles on one touch
 *    count twice) and R = the total share of the roles that hold none, each holding role gets
 *    share + R / k. Everything is scaled by k to stay in integers: role weight = share·k + R.
 * 4. A touch holding several roles gets the sum of their weights.
 * 5. The middle share goes evenly to the c candidates holding no role: scaled by c again, each
 *    of them gets middle·k and each role weight is multiplied by c. With c = 0 the middle goes to
 *    the role touches in proportion to their weights from step 3, which leaves the proportions as
 *    they are: the weights of steps 3–4 are kept unchanged.
 * 6. The weights are divided by their greatest common divisor (one touch → [1]).
 * A middle touch gets weight 0 when the middle share is 0; the role touches then share 100 %.
 */

/** The keys a position model declares a share for. */
export type ShareKey = Role | 'middle';

export const SHARE_KEYS: readonly ShareKey[] = [...ROLES, 'middle'];

export type PositionWeights = Readonly<Partial<Record<ShareKey, bigint>>>;

/** Millionths of a percent in one percent, and in the 100 % that a model's shares sum to. */
export const SHARE_UNITS_PER_PERCENT = 1_000_000n;
export const HUNDRED_PERCENT = 100n * SHARE_UNITS_PER_PERCENT;

const SHARE = /^(\d+)(?:\.(\d{1,6}))?$/;

/**
 * A percentage as millionths of a percent ("22.5" and 22.5 → 22_500_000n); null unless it is a
 * non-negative plain decimal with at most 6 decimal places. A number is read through its shortest
 * decimal text (JavaScript's String), so 22.5 is exact and 1e-7 is refused like "0.0000001".
 */
export function parseShare(text: string | number): bigint | null {
  const raw = typeof text === 'number' ? (Number.isFinite(text) ? String(text) : '') : text.trim();
  const match = SHARE.exec(raw);
  if (match === null) return null;
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').padEnd(6, '0');
  return BigInt(whole) * SHARE_UNITS_PER_PERCENT + BigInt(fraction);
}

/** Millionths of a percent as decimal text without trailing zeros (22_500_000n → "22.5"). */
export function formatShare(share: bigint): string {
  const sign = share < 0n ? '-' : '';
  const abs = share < 0n ? -share : share;
  const whole = abs / SHARE_UNITS_PER_PERCENT;
  const fraction = (abs % SHARE_UNITS_PER_PERCENT).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

export interface PositionModel extends AttributionModel {
  readonly candidates: CandidateSet;
  /** Every share, absent ones as 0n, in millionths of a percent. */
  readonly weights: Readonly<Record<ShareKey, bigint>>;
}

/**
 * A position model from its shares (absent = 0). Throws a RangeError unless every share is ≥ 0
 * and they sum to exactly 100 %. It weighs the through-close candidates exactly when closed_won
 * has a share: that role is the only one that looks past the opportunity's creation.
 */
export function positionModel(name: string, weights: PositionWeights): PositionModel {
  const shares = Object.fromEntries(SHARE_KEYS.map((key) => [key, weights[key] ?? 0n])) as Record<
    ShareKey,
    bigint
  >;
  let total = 0n;
  for (const key of SHARE_KEYS) {
    if (shares[key] < 0n) throw new RangeError(`model ${name}: the ${key} share is negative`);
    total += shares[key];
  }
  if (total !== HUNDRED_PERCENT)
    throw new RangeError(`model ${name}: shares sum to ${formatShare(total)} %, must be exactly 100 %`);
  const weighed = ROLES.filter((role) => shares[role] > 0n);
  return {
    name,
    candidates: shares.closed_won > 0n ? 'through_close' : 'window',
    weights: shares,
    weigh: (touches, context) =>
      positionWeights(touches.length, roleIndices(touches, context, weighed), weighed, shares),
  };
}

/** Steps 2–6 of the module comment for n candidates whose roles sit at `indices`. */
function positionWeights(
  n: number,
  indices: RoleIndices,
  weighed: readonly Role[],
  shares: Readonly<Record<ShareKey, bigint>>,
): bigint[] {
  const held = weighed.filter((role) => indices[role] >= 0);
  if (held.length === 0) return Array.from({ length: n }, () => 1n);
  const k = BigInt(held.length);
  let absent = 0n;
  for (const role of weighed) if (indices[role] < 0) absent += shares[role];

  const weights = Array.from({ length: n }, () => 0n);
  const isRoleTouch = Array.from({ length: n }, () => false);
  let roleTouches = 0;
  for (const role of held) {
    const index = indices[role];
    if (!isRoleTouch[index]) roleTouches += 1;
    isRoleTouch[index] = true;
    weights[index] = (weights[index] as bigint) + shares[role] * k + absent;
  }
  const middleCount = n - roleTouches;
  if (middleCount > 0) {
    const c = BigInt(middleCount);
    const middle = shares.middle * k;
    for (let i = 0; i < n; i += 1) weights[i] = isRoleTouch[i] ? (weights[i] as bigint) * c : middle;
  }
  return dividedByGcd(weights);
}

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
};

function dividedByGcd(weights: bigint[]): bigint[] {
  let divisor = 0n;
  for (const weight of weights) divisor = gcd(divisor, weight);
  return divisor <= 1n ? weights : weights.map((weight) => weight / divisor);
}
