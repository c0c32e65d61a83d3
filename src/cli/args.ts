import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's flags strictly: an unknown flag or a missing value is a usage error. */
export function parseCommandArgs(
  argv: readonly string[],
  options: Options,
  usage: string,
): { values: Record<string, string | boolean | undefined> } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return { values };
  } catch (error) {
    throw new AppError('USAGE', `${(error as Error).message}\n\n${usage}`);
  }
}

export function numberOption(
  value: unknown,
  name: string,
  { min = 0, integer = false } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || (integer && !Number.isInteger(parsed))) {
    throw new AppError(
      'USAGE',
      `--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${typeof value === 'string' ? value : JSON.stringify(value)}"`,
    );
  }
  return parsed;
}

export function stringOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
