import { existsSync, statSync } from 'node:fs';
import type { SourcedRecord } from '../../app/ingest.js';
import { AppError } from '../../errors.js';
import { isChallengeDir, readChallengeDir } from './challenge-format.js';
import { isEventsDir, readEventsDir } from './events-format.js';

export type DatasetFormat = 'challenge' | 'events';

/**
 * Recognises a data directory's format and reads its records: a synchronous iterable (files are
 * read in large chunks, see lines.ts), which `for await` also accepts.
 */
export function openDataset(dir: string): { format: DatasetFormat; records: Generator<SourcedRecord> } {
  if (!existsSync(dir)) throw new AppError('INPUT_NOT_FOUND', `${dir}: directory not found`);
  if (!statSync(dir).isDirectory()) throw new AppError('INPUT_NOT_FOUND', `${dir}: not a directory`);
  if (isChallengeDir(dir)) return { format: 'challenge', records: readChallengeDir(dir) };
  if (isEventsDir(dir)) return { format: 'events', records: readEventsDir(dir) };
  throw new AppError(
    'INPUT_FORMAT',
    `${dir}: holds neither the challenge CSVs (de_hw_*.csv) nor Touchline event files (contacts/touchpoints/opportunities.ndjson)`,
  );
}
