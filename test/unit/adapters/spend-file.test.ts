import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSpendFile, SPEND_FILE, spendFileIn } from '../../../src/adapters/files/spend-file.js';
import { createVocabulary, DEFAULT_CHANNELS } from '../../../src/domain/catalog.js';
import { validateSpend } from '../../../src/domain/spend.js';
import { AppError } from '../../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'touchline-spend-file-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let files = 0;
/** A fresh directory holding spend.csv with the given text. */
function spendFile(text: string): string {
  const dir = join(scratch, `d${(files += 1)}`);
  mkdirSync(dir);
  const path = join(dir, SPEND_FILE);
  writeFileSync(path, text);
  return path;
}

const simple = (path: string) =>
  readSpendFile(path).map(({ raw, origin }) => ({ raw, location: origin.location, source: origin.source }));

const channels = createVocabulary(DEFAULT_CHANNELS);

describe('readSpendFile', () => {
  it('reads a file with BOM and CRLF; each row with spend.csv:line (the header is line 1)', () => {
    const path = spendFile(
      '\uFEFFdate,channel,campaign_id,amount,currency,updated_at\r\n' +
        '2024-03-10,Adwords,spring-24,100.5,USD,2024-03-11T00:00:00Z\r\n' +
        '\r\n' + // a blank line 3: skipped, yet counted
        '2024-03-11,Webinar,,20,EUR,\r\n',
    );
    expect(simple(path)).toEqual([
      {
        raw: {
          date: '2024-03-10',
          channel: 'Adwords',
          campaign_id: 'spring-24',
          amount: '100.5',
          currency: 'USD',
          updated_at: '2024-03-11T00:00:00Z',
        },
        location: 'spend.csv:2',
        source: 'spend.csv',
      },
      {
        raw: {
          date: '2024-03-11',
          channel: 'Webinar',
          campaign_id: '',
          amount: '20',
          currency: 'EUR',
          updated_at: '',
        },
        location: 'spend.csv:4',
        source: 'spend.csv',
      },
    ]);
  });

  it('optional columns may be absent; columns in any order and case; other columns ignored', () => {
    const path = spendFile('Currency,Amount,note,Channel,DATE\n' + 'gbp,7,hello,Event,2024-01-31\n');
    const [record] = readSpendFile(path);
    expect(record?.raw).toEqual({ date: '2024-01-31', channel: 'Event', amount: '7', currency: 'gbp' });
    // Absent campaign and version read as none: no campaign, version 0.
    expect(validateSpend(record?.raw ?? {}, (t) => channels.resolve(t))).toEqual({
      ok: true,
      value: {
        date: '2024-01-31',
        channel: 'Event',
        campaign: null,
        amount: 7_000_000_000n,
        currency: 'GBP',
        updatedAt: 0,
      },
    });
  });

  it('a quoted field keeps its comma', () => {
    const path = spendFile(
      'date,channel,campaign_id,amount,currency\n2024-03-10,Adwords,"Spring, 2024",5,USD\n',
    );
    expect(readSpendFile(path)[0]?.raw.campaign_id).toBe('Spring, 2024');
  });

  it('a row with another field count or an unclosed quote is handed on with a problem, not shifted', () => {
    const path = spendFile(
      'date,channel,amount,currency\n' +
        '2024-03-10,Adwords,1,000.00,USD\n' + // 5 fields: "1,000.00" unquoted
        '2024-03-10,Adwords\n' + // 2 fields
        '2024-03-10,Adwords,5,USD\n' + // fine
        '2024-03-12,"Webinar,5,USD\n', // a quote never closed
    );
    const records = readSpendFile(path);
    expect(records.map((r) => [r.origin.location, r.raw])).toEqual([
      ['spend.csv:2', { problem: 'expected 4 fields as in the header, found 5' }],
      ['spend.csv:3', { problem: 'expected 4 fields as in the header, found 2' }],
      ['spend.csv:4', { date: '2024-03-10', channel: 'Adwords', amount: '5', currency: 'USD' }],
      ['spend.csv:5', { problem: 'a quoted field opened on line 5 is never closed' }],
    ]);
    const reasons = records.map((r) => {
      const result = validateSpend(r.raw, (t) => channels.resolve(t));
      return result.ok ? 'ok' : result.rejection.reason;
    });
    expect(reasons).toEqual(['malformed_record', 'malformed_record', 'ok', 'malformed_record']);
  });

  it('a header-only file has no rows', () => {
    expect(readSpendFile(spendFile('date,channel,amount,currency\r\n'))).toEqual([]);
  });

  it.each<[string, string, string, RegExp]>([
    ['an empty file', '', 'INPUT_FORMAT', /no header line/],
    [
      'a header without amount and currency',
      'date,channel\n',
      'INPUT_MISSING_COLUMN',
      /"amount", "currency"/,
    ],
  ])('%s is an AppError naming the file', (_, text, code, message) => {
    const path = spendFile(text);
    const run = () => readSpendFile(path);
    expect(run).toThrow(AppError);
    expect(run).toThrow(message);
    expect(run).toThrow(path);
    try {
      run();
    } catch (error) {
      expect((error as AppError).code).toBe(code);
    }
  });

  it('a missing file is an AppError naming it, at the call', () => {
    const path = join(scratch, 'nowhere', SPEND_FILE);
    expect(() => readSpendFile(path)).toThrow(
      new AppError('INPUT_NOT_FOUND', `${path}: spend file not found`),
    );
  });
});

describe('spendFileIn', () => {
  it('is the dataset directory’s spend.csv when there is one, else null', () => {
    const path = spendFile('date,channel,amount,currency\n');
    expect(spendFileIn(join(path, '..'))).toBe(path);
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    expect(spendFileIn(empty)).toBeNull();
  });
});
