import { readFileSync } from 'node:fs';
import { AppError } from '../../errors.js';

/**
 * The text of a configuration file (channel rules, custom models): an unreadable one is a
 * CONFIG_INVALID naming what it is and why ("channel rules file x.yaml: cannot be read (file not found)").
 */
export function readConfigText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found'
        : error instanceof Error
          ? error.message
          : String(error);
    throw new AppError('CONFIG_INVALID', `${what} ${path}: cannot be read (${reason})`, { cause: error });
  }
}
