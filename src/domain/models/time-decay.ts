import type { AttributionModel } from './model.js';

/**
 * Weight 2^(−Δ/H) with Δ = created_at − occurred_at and half-life H, normalised to 100 %.
 * The weight is a ratio, not money: it is computed in floating point once and fixed to an integer
 * at a scale of 10^15 (Math.pow is deterministic within one runtime, so batch and streaming agree);
 * the amount itself is then split exactly by the integer weights. Every eligible touch keeps a
 * weight of at least 1 so it is never dropped by underflow.
 */
const SCALE = 1e15;

export const timeDecay: AttributionModel = {
  name: 'time_decay',
  weigh: (touches, { createdAt, halfLifeMs }) =>
    touches.map((touch) => {
      const halfLives = (createdAt - touch.occurredAt) / halfLifeMs;
      const weight = Math.round(Math.pow(2, -halfLives) * SCALE);
      return BigInt(Math.max(1, weight));
    }),
};
