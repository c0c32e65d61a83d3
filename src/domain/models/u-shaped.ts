import type { AttributionModel } from './model.js';

/**
 * 40 % first, 40 % last, 20 % spread evenly over the middle; one touch takes 100 %, two split 50/50.
 * With m = n − 2 middle touches, weights 2m : 1 … 1 : 2m give 2m/5m = 40 % and m·1/5m = 20 %.
 */
export const uShaped: AttributionModel = {
  name: 'u_shaped',
  weigh: (touches) => {
    const n = touches.length;
    if (n <= 2) return touches.map(() => 1n);
    const middle = BigInt(n - 2);
    return touches.map((_, index) => (index === 0 || index === n - 1 ? 2n * middle : 1n));
  },
};
