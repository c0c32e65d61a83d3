import type { AttributionModel } from './model.js';

/** Every eligible touch gets an equal share. */
export const linear: AttributionModel = {
  name: 'linear',
  weigh: (touches) => touches.map(() => 1n),
};
