import type { AttributionModel } from './model.js';

/** Latest eligible touch gets 100 %; ties on time go to the largest id (last in order). */
export const lastTouch: AttributionModel = {
  name: 'last_touch',
  weigh: (touches) => touches.map((_, index) => (index === touches.length - 1 ? 1n : 0n)),
};
