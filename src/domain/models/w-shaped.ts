import { positionModel, type PositionModel } from './position.js';

/**
 * 30 % first touch, 30 % lead creation, 30 % opportunity creation, 10 % over the middle
 * (SPEC "Stage models"); collisions and absent roles are resolved as position.ts describes.
 */
export const wShaped: PositionModel = positionModel('w_shaped', {
  first: 30_000_000n,
  lead_creation: 30_000_000n,
  opportunity_creation: 30_000_000n,
  middle: 10_000_000n,
});
