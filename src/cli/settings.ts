import type { AttributionSettings } from '../domain/attribute.js';
import { createVocabulary, DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from '../domain/catalog.js';
import { ALL_MODELS } from '../domain/models/index.js';
import { MS_PER_DAY } from '../domain/time.js';
import type { Vocabularies } from '../domain/validate.js';
import { AppError } from '../errors.js';

export const DEFAULT_WINDOW_DAYS = 90;
export const DEFAULT_HALF_LIFE_DAYS = 7;

/** Builds attribution settings from optional overrides; an unknown model name is a usage error. */
export function buildSettings(input: {
  windowDays?: number;
  halfLifeDays?: number;
  models?: string;
}): AttributionSettings {
  const names = input.models
    ?.split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const models =
    names === undefined || names.length === 0
      ? ALL_MODELS
      : names.map((name) => {
          const model = ALL_MODELS.find((m) => m.name === name);
          if (model === undefined)
            throw new AppError(
              'USAGE',
              `unknown model "${name}" (known: ${ALL_MODELS.map((m) => m.name).join(', ')})`,
            );
          return model;
        });
  return {
    windowMs: Math.round((input.windowDays ?? DEFAULT_WINDOW_DAYS) * MS_PER_DAY),
    halfLifeMs: Math.round((input.halfLifeDays ?? DEFAULT_HALF_LIFE_DAYS) * MS_PER_DAY),
    models,
  };
}

export function buildVocabularies(channels?: readonly string[], segments?: readonly string[]): Vocabularies {
  return {
    channels: createVocabulary(channels ?? DEFAULT_CHANNELS),
    segments: createVocabulary(segments ?? DEFAULT_SEGMENTS),
  };
}
