import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SourcedRecord } from '../../app/ingest.js';
import { FileLine } from '../../app/quality.js';
import { AppError } from '../../errors.js';

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

export async function* readEventsDir(dir: string): AsyncGenerator<SourcedRecord> {
  for (const file of [EVENT_FILES.contacts, EVENT_FILES.touchpoints, EVENT_FILES.opportunities]) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new AppError('INPUT_NOT_FOUND', `${path}: file not found (the events format needs ${Object.values(EVENT_FILES).join(', ')})`);
    yield* readEventsFile(path, file);
  }
}

async function* readEventsFile(path: string, source: string): AsyncGenerator<SourcedRecord> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const origin = new FileLine(source, lineNumber);
    yield toRecord(line, source, origin);
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
    if (typeof value === 'boolean' || (typeof value === 'number' && key !== 'amount')) raw[key] = String(value);
    else return { kind: 'malformed', origin, detail: `field ${key} must be a string${key === 'amount' ? ' (a decimal string, for exactness)' : ''}` };
  }
  const fields = raw as Record<string, string | null>;
  if (source === EVENT_FILES.contacts) return { kind: 'contact', raw: fields, origin };
  if (source === EVENT_FILES.opportunities) return { kind: 'opportunity', raw: fields, origin };
  const touchSource = fields['source'];
  if (touchSource !== 'marketing' && touchSource !== 'sales') {
    return { kind: 'malformed', origin, detail: `source must be "marketing" or "sales", got ${JSON.stringify(touchSource ?? null)}` };
  }
  return { kind: 'touch', touchSource, raw: fields, origin };
}
