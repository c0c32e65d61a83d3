import { positionModel, type PositionModel } from './position.js';

/**
 * 22.5 % each to first touch, lead creation, opportunity creation and closed won, 10 % over the
 * middle (SPEC "Stage models"). Because closed_won has a share, it weighs the through-close
 * candidates: the account's touches in [created_at − W, C]. An opportunity not closed won has no
 * closed_won touch, and its 22.5 % goes evenly to the other roles (w_shaped's 30/30/30/10).
 */
export const fullPath: PositionModel = positionModel('full_path', {
  first: 22_500_000n,
  lead_creation: 22_500_000n,
  opportunity_creation: 22_500_000n,
  closed_won: 22_500_000n,
  middle: 10_000_000n,
});
