import type { AttributionModel } from './model.js';

/** Earliest eligible touch gets 100 %; ties on time go to the smallest id (first in order). */
export const firstTouch: AttributionModel = {
  name: 'first_touch',
  weigh: (touches) => touches.map((_, index) => (index === 0 ? 1n : 0n)),
};
