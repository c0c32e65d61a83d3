import { readLineChunks } from './lines.js';

export interface CsvRow {
  /** 1-based line number of the row's first line in the file (the header is line 1). */
  readonly line: number;
  /** Line number of the row's last line, when a quoted field carried it over several lines. */
  readonly lastLine?: number;
  readonly fields: string[];
  /** Why the row is no row (a quote never closed); its fields are then the raw text of its line. */
  readonly problem?: string;
}

/**
 * Reads a CSV file synchronously, a large chunk at a time: strips a UTF-8 BOM, accepts CRLF or
 * LF and a missing final newline, RFC 4180 quotes (doubled quotes inside, commas and newlines
 * within quoted fields). Blank lines are skipped. Rows come a chunk at a time, so a reader
 * pays no promise and no generator step per row. A quote still open at the end of the file
 * costs only the row it opened on: that row is reported with a problem and the lines after
 * it are read again as rows, so one stray quote cannot swallow the rest of a file.
 */
export function* readCsvChunks(path: string): Generator<CsvRow[]> {
  const parser = createRowParser();
  for (const chunk of readLineChunks(path)) {
    const rows: CsvRow[] = [];
    let lineNumber = chunk.firstLine;
    for (const line of chunk.lines) parser.line(line, lineNumber++, rows);
    if (rows.length > 0) yield rows;
  }
  const rows: CsvRow[] = [];
  parser.end(rows);
  if (rows.length > 0) yield rows;
}

/** Lines in, rows out; a quoted field left open keeps its lines until a later line closes it. */
function createRowParser() {
  let pending: { start: number; lines: string[] } | null = null;
  const line = (text: string, number: number, rows: CsvRow[]): void => {
    if (pending === null) {
      if (text.indexOf('"') === -1) {
        // The common case: no quotes, so the fields are what lies between the commas.
        if (text.trim() !== '') rows.push({ line: number, fields: text.split(',') });
        return;
      }
      if (quoteOpenAfter(text, false, true)) pending = { start: number, lines: [text] };
      else if (text.trim() !== '') rows.push({ line: number, fields: splitCsvLine(text) ?? [text] });
      return;
    }
    pending.lines.push(text);
    // Only the new line is scanned (a line break inside quotes makes the field non-empty), so a
    // field over many lines costs linear time, not a re-split of everything so far per line.
    if (quoteOpenAfter(text, true, false)) return;
    const whole = pending.lines.join('\n');
    rows.push({ line: pending.start, lastLine: number, fields: splitCsvLine(whole) ?? [whole] });
    pending = null;
  };
  const end = (rows: CsvRow[]): void => {
    while (pending !== null) {
      const { start, lines } = pending;
      pending = null;
      rows.push({
        line: start,
        fields: [lines[0] ?? ''],
        problem: `a quoted field opened on line ${start} is never closed`,
      });
      lines.slice(1).forEach((text, i) => line(text, start + 1 + i, rows));
    }
  };
  return { line, end };
}

/** The rows of a CSV file one by one (see readCsvChunks). */
export function* readCsv(path: string): Generator<CsvRow> {
  for (const rows of readCsvChunks(path)) yield* rows;
}

/**
 * Whether a quoted field is open at the end of `text`, scanning as splitCsvLine does from the
 * given state: inside quotes or not, and whether the current field is still empty.
 */
function quoteOpenAfter(text: string, quoted: boolean, fieldEmpty: boolean): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (quoted) {
      if (ch === QUOTE && text.charCodeAt(i + 1) === QUOTE) {
        fieldEmpty = false;
        i += 1;
      } else if (ch === QUOTE) quoted = false;
      else fieldEmpty = false;
    } else if (ch === QUOTE && fieldEmpty) quoted = true;
    else fieldEmpty = ch === COMMA;
  }
  return quoted;
}
const QUOTE = 0x22;
const COMMA = 0x2c;

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
