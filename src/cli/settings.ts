import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChannelRules } from '../adapters/files/channel-rules-file.js';
import { ratesFileIn, readRatesFile } from '../adapters/files/fx-rates-file.js';
import type { ReplayDeps } from '../app/replay.js';
import type { AttributionSettings } from '../domain/attribute.js';
import { compileChannelRules, type ChannelRules } from '../domain/channel-rules.js';
import { createVocabulary, DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from '../domain/catalog.js';
import { readModelsFile } from '../adapters/files/models-file.js';
import {
  ALL_MODELS,
  MODEL_NAMES,
  STREAMING_MODEL_NAMES,
  type AttributionModel,
} from '../domain/models/index.js';
import { MS_PER_DAY } from '../domain/time.js';
import type { Vocabularies } from '../domain/validate.js';
import { AppError } from '../errors.js';

export const DEFAULT_WINDOW_DAYS = 90;
export const DEFAULT_HALF_LIFE_DAYS = 7;

/**
 * Builds attribution settings from optional overrides; an unknown model name is a usage error.
 * The known models are the built-in ones plus `custom` (a models file); all of them by default.
 */
export function buildSettings(input: {
  windowDays?: number;
  halfLifeDays?: number;
  models?: string;
  custom?: readonly AttributionModel[];
}): AttributionSettings {
  const known = [...ALL_MODELS, ...(input.custom ?? [])];
  const names = input.models
    ?.split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const models =
    names === undefined || names.length === 0
      ? known
      : names.map((name) => {
          const model = known.find((m) => m.name === name);
          if (model === undefined)
            throw new AppError(
              'USAGE',
              `unknown model "${name}" (known: ${known.map((m) => m.name).join(', ')})`,
            );
          return model;
        });
  return {
    windowMs: Math.round((input.windowDays ?? DEFAULT_WINDOW_DAYS) * MS_PER_DAY),
    halfLifeMs: Math.round((input.halfLifeDays ?? DEFAULT_HALF_LIFE_DAYS) * MS_PER_DAY),
    models,
  };
}

/** Custom position models from a models file (every problem listed), or none without one. */
export function loadCustomModels(path: string | undefined): readonly AttributionModel[] {
  return path === undefined ? [] : readModelsFile(path, MODEL_NAMES);
}

/**
 * The vocabularies, with the channel rules when given: the known channels are the configured
 * ones plus those the rules file declares, and the rules are compiled once.
 */
export function buildVocabularies(
  channels?: readonly string[],
  segments?: readonly string[],
  rules?: ChannelRules,
): Vocabularies {
  const names = [...(channels ?? DEFAULT_CHANNELS)];
  for (const extra of rules?.channels ?? []) if (!names.includes(extra)) names.push(extra);
  const channelVocabulary = createVocabulary(names);
  return {
    channels: channelVocabulary,
    segments: createVocabulary(segments ?? DEFAULT_SEGMENTS),
    ...(rules === undefined ? {} : { channelRules: compileChannelRules(rules, channelVocabulary) }),
  };
}

/**
 * The channel rules file shipped with Touchline (modelled on GA4's default channel group): the
 * default when none is configured. Found from this module upwards, so it is the same file under
 * tsx (src/cli) and in the build (dist/src/cli) or the image.
 */
export function defaultChannelRulesPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up += 1) {
    const candidate = join(dir, 'config', 'channel-rules.yaml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new AppError(
    'INPUT_NOT_FOUND',
    'the shipped config/channel-rules.yaml was not found next to Touchline',
  );
}

/** The rules from a file (validated, every problem listed), or the shipped default. */
export function loadRules(path: string | undefined, channels?: readonly string[]): ChannelRules {
  const file = path ?? defaultChannelRulesPath();
  try {
    return loadChannelRules(file, channels ?? DEFAULT_CHANNELS);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('CONFIG_INVALID', (error as Error).message);
  }
}

/**
 * What `touchline serve` attributes with under its defaults (the shipped channel rules, USD),
 * in `timeZone`, with the FX rates of the dataset in `dir` (its fx_rates.csv, which `touchline
 * produce` publishes to the rates topic): what a replay compared with such a service must use.
 */
export function serveDefaults(dir: string, timeZone = 'UTC'): Pick<ReplayDeps, 'settings' | 'vocab' | 'fx'> {
  const vocab = buildVocabularies(undefined, undefined, loadRules(undefined));
  const settings: AttributionSettings = {
    ...buildSettings({ models: STREAMING_MODEL_NAMES.join(',') }),
    timeZone,
    ...(vocab.channelRules === undefined ? {} : { channelRules: vocab.channelRules }),
  };
  const ratesFile = ratesFileIn(dir);
  return {
    settings,
    vocab,
    fx: { reportingCurrency: 'USD', timeZone, rates: ratesFile === null ? [] : readRatesFile(ratesFile) },
  };
}
