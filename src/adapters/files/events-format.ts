import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SourcedRecord } from '../../app/ingest.js';
import { FileLine } from '../../app/quality.js';
import { AppError } from '../../errors.js';
import { readLineChunks } from './lines.js';

/**
 * Touchline's own event files: newline-delimited JSON, one file per input topic, fields named
 * as in the Avro schemas (snake_case). Amounts are decimal strings: a JSON number would pass
 * through a double and lose the exactness money needs.
 */
export const EVENT_FILES = {
  contacts: 'contacts.ndjson',
  touchpoints: 'touchpoints.ndjson',
  opportunities: 'opportunities.ndjson',
} as const;

export const isEventsDir = (dir: string): boolean =>
  Object.values(EVENT_FILES).some((file) => existsSync(join(dir, file)));

/** The records of the three files, contacts first, read synchronously. */
export function* readEventsDir(dir: string): Generator<SourcedRecord> {
  for (const file of [EVENT_FILES.contacts, EVENT_FILES.touchpoints, EVENT_FILES.opportunities]) {
    const path = join(dir, file);
    if (!existsSync(path))
      throw new AppError(
        'INPUT_NOT_FOUND',
        `${path}: file not found (the events format needs ${Object.values(EVENT_FILES).join(', ')})`,
      );
    yield* readEventsFile(path, file);
  }
}

function* readEventsFile(path: string, source: string): Generator<SourcedRecord> {
  for (const chunk of readLineChunks(path)) {
    let lineNumber = chunk.firstLine;
    for (const line of chunk.lines) {
      const number = lineNumber;
      lineNumber += 1;
      if (line.trim() === '') continue;
      yield toRecord(line, source, new FileLine(source, number));
    }
  }
}

export function toRecord(line: string, source: string, origin: SourcedRecord['origin']): SourcedRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: 'malformed', origin, detail: 'not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'malformed', origin, detail: 'a line must be one JSON object' };
  }
  // The parsed object is used as it is when every value is already a string or null (the
  // usual case); only other scalars are converted, into the same object.
  const raw = parsed as Record<string, unknown>;
  for (const key in raw) {
    const value = raw[key];
    if (value === null || typeof value === 'string') continue;
    if (typeof value === 'boolean' || (typeof value === 'number' && key !== 'amount'))
      raw[key] = String(value);
    else
      return {
        kind: 'malformed',
        origin,
        detail: `field ${key} must be a string${key === 'amount' ? ' (a decimal string, for exactness)' : ''}`,
      };
  }
  const fields = raw as Record<string, string | null>;
  if (source === EVENT_FILES.contacts) return { kind: 'contact', raw: fields, origin };
  if (source === EVENT_FILES.opportunities) return { kind: 'opportunity', raw: fields, origin };
  const touchSource = fields['source'];
  if (touchSource !== 'marketing' && touchSource !== 'sales') {
    return {
      kind: 'malformed',
      origin,
      detail: `source must be "marketing" or "sales", got ${JSON.stringify(touchSource ?? null)}`,
    };
  }
  return { kind: 'touch', touchSource, raw: fields, origin };
}
