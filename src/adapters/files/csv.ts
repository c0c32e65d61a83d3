import { readLineChunks } from './lines.js';

export interface CsvRow {
  /** 1-based line number of the row's first line in the file (the header is line 1). */
  readonly line: number;
  readonly fields: string[];
}

/**
 * Reads a CSV file synchronously, a large chunk at a time: strips a UTF-8 BOM, accepts CRLF or
 * LF and a missing final newline, RFC 4180 quotes (doubled quotes inside, commas and newlines
 * within quoted fields). Blank lines are skipped. Rows come a chunk at a time, so a reader
 * pays no promise and no generator step per row.
 */
export function* readCsvChunks(path: string): Generator<CsvRow[]> {
  let pending: { start: number; text: string } | null = null;
  for (const chunk of readLineChunks(path)) {
    const rows: CsvRow[] = [];
    let lineNumber = chunk.firstLine;
    for (const line of chunk.lines) {
      const number = lineNumber;
      lineNumber += 1;
      if (pending === null && line.indexOf('"') === -1) {
        // The common case: no quotes, so the fields are what lies between the commas.
        if (line.trim() === '') continue;
        rows.push({ line: number, fields: line.split(',') });
        continue;
      }
      const text: string = pending === null ? line : `${pending.text}\n${line}`;
      const start: number = pending?.start ?? number;
      const fields = splitCsvLine(text);
      if (fields === null) {
        pending = { start, text };
        continue;
      }
      pending = null;
      if (text.trim() === '') continue;
      rows.push({ line: start, fields });
    }
    if (rows.length > 0) yield rows;
  }
  if (pending !== null) yield [{ line: pending.start, fields: [pending.text] }];
}

/** The rows of a CSV file one by one (see readCsvChunks). */
export function* readCsv(path: string): Generator<CsvRow> {
  for (const rows of readCsvChunks(path)) yield* rows;
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
