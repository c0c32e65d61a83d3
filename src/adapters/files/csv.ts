import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface CsvRow {
  /** 1-based line number of the row's first line in the file (the header is line 1). */
  readonly line: number;
  readonly fields: string[];
}

/**
 * Streams a CSV file: strips a UTF-8 BOM, accepts CRLF or LF and a missing final newline,
 * RFC 4180 quotes (doubled quotes inside, commas and newlines within quoted fields).
 */
export async function* readCsv(path: string): AsyncGenerator<CsvRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  let pending: { start: number; text: string } | null = null;
  for await (let line of lines) {
    lineNumber += 1;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    const text: string = pending === null ? line : `${pending.text}\n${line}`;
    const start: number = pending?.start ?? lineNumber;
    const fields = splitCsvLine(text);
    if (fields === null) {
      pending = { start, text };
      continue;
    }
    pending = null;
    if (text.trim() === '') continue;
    yield { line: start, fields };
  }
  if (pending !== null) yield { line: pending.start, fields: [pending.text] };
}

/** Splits one record; null when a quoted field is still open at the end of the text. */
export function splitCsvLine(text: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

/** Quotes a field only when it must be quoted. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
