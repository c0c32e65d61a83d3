import { closeSync, openSync, readSync } from 'node:fs';

/** One chunk's complete lines and the 1-based number of the first of them. */
export interface LineChunk {
  readonly firstLine: number;
  readonly lines: readonly string[];
}

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Reads a text file synchronously in large chunks and yields its lines a chunk at a time: no
 * promise, no stream and no per-line callback. Lines end at LF, CRLF or a lone CR (as
 * node:readline splits them); the terminators are dropped. A UTF-8 byte-order mark at the start
 * is dropped. A chunk is cut after its last LF byte, which can never sit inside a multi-byte
 * UTF-8 sequence, so no character is split between chunks. A final empty line (after the last
 * terminator) is not a line, as with readline.
 */
export function* readLineChunks(path: string, chunkBytes = CHUNK_BYTES): Generator<LineChunk> {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(chunkBytes);
    /** Bytes at the start of `buffer` carried over from the previous read (a line not yet ended). */
    let carried = 0;
    let lineNumber = 1;
    let first = true;
    for (;;) {
      if (carried === buffer.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, carried);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, carried, buffer.length - carried, null);
      const filled = carried + read;
      const atEnd = read === 0;
      const cut = atEnd ? filled : buffer.lastIndexOf(NEWLINE, filled - 1) + 1;
      if (cut === 0 && !atEnd) {
        carried = filled;
        continue;
      }
      let text = buffer.toString('utf8', 0, cut);
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      buffer.copy(buffer, 0, cut, filled);
      carried = filled - cut;
      if (text.length > 0) {
        const lines = splitLines(text, atEnd);
        yield { firstLine: lineNumber, lines };
        lineNumber += lines.length;
      }
      if (atEnd) return;
    }
  } finally {
    closeSync(fd);
  }
}

/** Splits text into lines; the piece after the last LF is a line only at the end of the file. */
function splitLines(text: string, atEnd: boolean): string[] {
  const pieces = text.split('\n');
  const last = pieces.length - 1;
  // Text cut after an LF ends with an empty piece, which is no line; at the end of the file a
  // last piece without an LF is a line of its own (when it is not empty).
  if (pieces[last] === '' || !atEnd) pieces.pop();
  let lines = pieces;
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i] as string;
    const cr = piece.indexOf('\r');
    if (cr === -1) continue;
    if (cr === piece.length - 1) {
      pieces[i] = piece.slice(0, cr);
      continue;
    }
    // A lone CR inside: rare (old Mac line ends). Rebuild the list the slow way from here.
    lines = pieces.slice(0, i);
    for (let j = i; j < pieces.length; j += 1) {
      const rest = pieces[j] as string;
      const parts = (rest.endsWith('\r') ? rest.slice(0, -1) : rest).split('\r');
      for (const part of parts) lines.push(part);
    }
    break;
  }
  return lines;
}
