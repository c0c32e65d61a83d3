import { firstTouch } from './first-touch.js';
import { fullPath } from './full-path.js';
import { lastTouch } from './last-touch.js';
import { linear } from './linear.js';
import type { AttributionModel } from './model.js';
import { timeDecay } from './time-decay.js';
import { uShaped } from './u-shaped.js';
import { wShaped } from './w-shaped.js';

export type { AttributionModel, CandidateSet, ModelContext } from './model.js';

/**
 * Every built-in model, side by side by default. A new model is one module added to this list;
 * custom position models come from a models file (adapters/files/models-file.ts).
 */
export const ALL_MODELS: readonly AttributionModel[] = [
  firstTouch,
  lastTouch,
  linear,
  uShaped,
  timeDecay,
  wShaped,
  fullPath,
];

export const MODEL_NAMES: readonly string[] = ALL_MODELS.map((model) => model.name);

/**
 * The models `touchline serve` computes so far: the stage models (w_shaped, full_path, custom
 * position models) need lead creation, stages and touches after creation, which the streaming
 * state does not carry yet (issue 10, streaming part). Batch computes every model.
 */
export const STREAMING_MODEL_NAMES: readonly string[] = [
  firstTouch.name,
  lastTouch.name,
  linear.name,
  uShaped.name,
  timeDecay.name,
];
export const STREAMING_MODELS: readonly AttributionModel[] = ALL_MODELS.filter((m) =>
  STREAMING_MODEL_NAMES.includes(m.name),
);
