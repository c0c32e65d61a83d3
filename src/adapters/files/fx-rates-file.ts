import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RateRecord } from '../../app/ingest.js';
import { FileLine } from '../../app/quality.js';
import { AppError } from '../../errors.js';
import { readCsv } from './csv.js';

/** The rates file a dataset directory may hold, in either format: CSV `date,currency,rate`. */
export const FX_RATES_FILE = 'fx_rates.csv';

const COLUMNS = ['date', 'currency', 'rate'] as const;

/** The dataset's own rates file, when it has one. */
export const ratesFileIn = (dir: string): string | null => {
  const path = join(dir, FX_RATES_FILE);
  return existsSync(path) ? path : null;
};

/**
 * Reads a rates CSV (header naming date, currency and rate in any order, case-insensitively;
 * other columns ignored). Rows come with their file and line, for the one validation path
 * (domain/validate.ts validateRate) to judge; a row with the wrong number of fields is handed on
 * as it is, so its missing field is reported, not guessed.
 */
export function* readRatesFile(path: string): Generator<RateRecord> {
  if (!existsSync(path)) throw new AppError('INPUT_NOT_FOUND', `${path}: FX rates file not found`);
  const source = basename(path);
  let columns: number[] | null = null;
  for (const row of readCsv(path)) {
    if (columns === null) {
      const header = row.fields.map((f) => f.trim().toLowerCase());
      columns = COLUMNS.map((name) => header.indexOf(name));
      const missing = COLUMNS.filter((_, i) => columns?.[i] === -1);
      if (missing.length > 0)
        throw new AppError(
          'INPUT_FORMAT',
          `${path}:${row.line}: the header must name ${COLUMNS.join(', ')}; missing ${missing.join(', ')}`,
        );
      continue;
    }
    const origin = new FileLine(source, row.line);
    if (row.problem !== undefined) {
      yield { raw: { problem: row.problem }, origin };
      continue;
    }
    const raw: Record<string, string | null> = {};
    COLUMNS.forEach((name, i) => {
      raw[name] = row.fields[columns?.[i] ?? -1] ?? null;
    });
    yield { raw, origin };
  }
}
