import { parse } from 'yaml';
import { customModelsFrom } from '../../domain/models/custom-models.js';
import type { AttributionModel } from '../../domain/models/model.js';
import { AppError } from '../../errors.js';
import { readConfigText } from './config-file.js';

/**
 * The custom models file (config/models.example.yaml shows the format): YAML declaring position
 * models by role weights, validated by domain/models/custom-models.ts. A file that cannot be read
 * or parsed, or any problem in it, is a CONFIG_INVALID AppError naming the file and listing every
 * problem, each with where it is.
 */
export function parseModelsFile(
  text: string,
  source: string,
  reserved: readonly string[],
): AttributionModel[] {
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: true });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new AppError('CONFIG_INVALID', `models file ${source}: not valid YAML: ${detail}`, {
      cause: error,
    });
  }
  // An empty file is an empty document: report what it lacks, not that "null" is not an object.
  const result = customModelsFrom(document ?? {}, reserved);
  if (!result.ok)
    throw new AppError(
      'CONFIG_INVALID',
      `models file ${source}:\n${result.problems.map((p) => `  ${p}`).join('\n')}`,
    );
  return result.models;
}

/** Reads and validates a models file (the path comes from config); `reserved`: built-in names. */
export function readModelsFile(path: string, reserved: readonly string[]): AttributionModel[] {
  const text = readConfigText(path, 'models file');
  return parseModelsFile(text, path, reserved);
}
