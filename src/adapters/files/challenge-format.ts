import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SourcedRecord } from '../../app/ingest.js';
import { FileLine } from '../../app/quality.js';
import type { TouchSource } from '../../domain/events.js';
import { AppError } from '../../errors.js';
import { readCsvChunks } from './csv.js';

/**
 * The challenge's four CSV files. Each column is mapped onto Touchline's field names; header
 * names match case-insensitively (the opportunity file capitalises Opportunity_Created_Date).
 */
interface FileSpec {
  readonly file: string;
  readonly kind: 'touch' | 'contact' | 'opportunity';
  readonly touchSource?: TouchSource;
  /** Touchline field ← column in the file. */
  readonly columns: Readonly<Record<string, string>>;
}

export const CHALLENGE_FILES: readonly FileSpec[] = [
  {
    file: 'de_hw_contact_data.csv',
    kind: 'contact',
    columns: { contact_id: 'contact_id', account_id: 'account_id' },
  },
  {
    file: 'de_hw_marketing_data.csv',
    kind: 'touch',
    touchSource: 'marketing',
    columns: {
      touchpoint_id: 'marketing_touchpoint_id',
      channel: 'channel_name',
      contact_id: 'contact_id',
      occurred_at: 'marketing_touchpoint_date',
    },
  },
  {
    file: 'de_hw_sales_outreach_data.csv',
    kind: 'touch',
    touchSource: 'sales',
    columns: {
      touchpoint_id: 'sales_touchpoint_id',
      channel: 'channel_name',
      contact_id: 'contact_id',
      occurred_at: 'sales_touchpoint_date',
    },
  },
  {
    file: 'de_hw_opportunity_data.csv',
    kind: 'opportunity',
    columns: {
      opportunity_id: 'opportunity_id',
      account_id: 'account_id',
      amount: 'pipeline_amount',
      created_at: 'opportunity_created_date',
      sales_segment: 'sales_segment',
    },
  },
];

export const isChallengeDir = (dir: string): boolean =>
  CHALLENGE_FILES.some((spec) => existsSync(join(dir, spec.file)));

/** The records of the four files, in the order of CHALLENGE_FILES (contacts first), read synchronously. */
export function* readChallengeDir(dir: string): Generator<SourcedRecord> {
  for (const spec of CHALLENGE_FILES) {
    const path = join(dir, spec.file);
    if (!existsSync(path))
      throw new AppError(
        'INPUT_NOT_FOUND',
        `${path}: file not found (the challenge format needs all four de_hw_*.csv files)`,
      );
    yield* readChallengeFile(path, spec);
  }
}

function* readChallengeFile(path: string, spec: FileSpec): Generator<SourcedRecord> {
  const source = basename(path);
  let positions: [string, number][] | null = null;
  let width = 0;
  for (const rows of readCsvChunks(path)) {
    for (const row of rows) {
      if (positions === null) {
        positions = headerPositions(path, row.fields, spec);
        width = row.fields.length;
        continue;
      }
      const origin = new FileLine(source, row.line);
      if (row.problem !== undefined) {
        yield { kind: 'malformed', origin, detail: row.problem };
        continue;
      }
      if (row.fields.length !== width) {
        const spans =
          row.lastLine === undefined
            ? ''
            : ` (a quoted field carries the row over lines ${row.line}-${row.lastLine})`;
        yield {
          kind: 'malformed',
          origin,
          detail: `expected ${width} fields, found ${row.fields.length}${spans}`,
        };
        continue;
      }
      const raw: Record<string, string | undefined> = {};
      for (const [field, index] of positions) raw[field] = row.fields[index];
      if (spec.kind === 'touch')
        yield { kind: 'touch', touchSource: spec.touchSource ?? 'marketing', raw, origin };
      else yield { kind: spec.kind, raw, origin };
    }
  }
  if (positions === null) throw new AppError('INPUT_FORMAT', `${path}: the file is empty (no header line)`);
}

function headerPositions(path: string, header: string[], spec: FileSpec): [string, number][] {
  const names = header.map((name) => name.trim().toLowerCase());
  return Object.entries(spec.columns).map(([field, column]) => {
    const index = names.indexOf(column.toLowerCase());
    if (index === -1) {
      throw new AppError(
        'INPUT_MISSING_COLUMN',
        `${path}:1: missing column "${column}" (header has: ${header.join(', ')})`,
      );
    }
    return [field, index];
  });
}
