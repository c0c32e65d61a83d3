import { firstTouch } from './first-touch.js';
import { lastTouch } from './last-touch.js';
import { linear } from './linear.js';
import type { AttributionModel } from './model.js';
import { timeDecay } from './time-decay.js';
import { uShaped } from './u-shaped.js';

export type { AttributionModel, ModelContext } from './model.js';

/** Every model Touchline computes side by side. A new model is one module added to this list. */
export const ALL_MODELS: readonly AttributionModel[] = [firstTouch, lastTouch, linear, uShaped, timeDecay];

export const MODEL_NAMES: readonly string[] = ALL_MODELS.map((model) => model.name);
