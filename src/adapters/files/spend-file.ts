import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FileLine, type RecordOrigin } from '../../app/quality.js';
import type { RawRecord } from '../../domain/validate.js';
import { AppError } from '../../errors.js';
import { readCsv } from './csv.js';

/** The spend file a dataset directory may hold: CSV `date,channel,campaign_id,amount,currency,updated_at`. */
export const SPEND_FILE = 'spend.csv';

const REQUIRED = ['date', 'channel', 'amount', 'currency'] as const;
const OPTIONAL = ['campaign_id', 'updated_at'] as const;

/** A spend row as the file gives it, for domain/spend.ts validateSpend to judge. */
export interface SpendRecord {
  readonly raw: RawRecord;
  readonly origin: RecordOrigin;
}

/** The dataset's own spend file, when it has one (absent is not an error: no spend, no ROI). */
export const spendFileIn = (dir: string): string | null => {
  const path = join(dir, SPEND_FILE);
  return existsSync(path) ? path : null;
};

/**
 * Reads a spend CSV: a header naming date, channel, amount and currency, and optionally
 * campaign_id and updated_at, in any order, case-insensitively (other columns ignored). Each row
 * comes with its file and line. A row whose field count differs from the header's, or whose
 * quote never closes, is handed on with a `problem` (validateSpend: malformed_record) rather than
 * read with its fields shifted. The file is read whole (spend files are small), so a missing file
 * or header is an AppError here and not at some later iteration. Whether a missing file is an
 * error is the caller's choice: it calls this for a path given explicitly, or after spendFileIn.
 */
export function readSpendFile(path: string): SpendRecord[] {
  if (!existsSync(path)) throw new AppError('INPUT_NOT_FOUND', `${path}: spend file not found`);
  const source = basename(path);
  const records: SpendRecord[] = [];
  let columns: [string, number][] | null = null;
  let width = 0;
  for (const row of readCsv(path)) {
    if (columns === null) {
      columns = headerColumns(path, row.line, row.fields);
      width = row.fields.length;
      continue;
    }
    const origin = new FileLine(source, row.line);
    if (row.problem !== undefined) {
      records.push({ raw: { problem: row.problem }, origin });
      continue;
    }
    if (row.fields.length !== width) {
      const problem = `expected ${width} fields as in the header, found ${row.fields.length}`;
      records.push({ raw: { problem }, origin });
      continue;
    }
    const raw: Record<string, string | undefined> = {};
    for (const [name, index] of columns) raw[name] = row.fields[index];
    records.push({ raw, origin });
  }
  if (columns === null) throw new AppError('INPUT_FORMAT', `${path}: the file is empty (no header line)`);
  return records;
}

function headerColumns(path: string, line: number, fields: readonly string[]): [string, number][] {
  const header = fields.map((field) => field.trim().toLowerCase());
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0)
    throw new AppError(
      'INPUT_MISSING_COLUMN',
      `${path}:${line}: missing column ${missing.map((name) => `"${name}"`).join(', ')} (header has: ${fields.join(', ')})`,
    );
  return [...REQUIRED, ...OPTIONAL]
    .map((name): [string, number] => [name, header.indexOf(name)])
    .filter(([, index]) => index !== -1);
}
