import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../../src/cli/replay.js';
import { AppError } from '../../../src/errors.js';
import { captureIo, tempDir } from '../../support/cli.js';

const HEADERS = {
  contacts: 'contact_id,account_id',
  marketing: 'marketing_touchpoint_id,channel_name,contact_id,marketing_touchpoint_date',
  sales: 'sales_touchpoint_id,channel_name,contact_id,sales_touchpoint_date',
  opps: 'opportunity_id,account_id,pipeline_amount,Opportunity_Created_Date,sales_segment',
};

function challengeDir(parts: Partial<Record<keyof typeof HEADERS, string[]>>, headers = HEADERS): string {
  const dir = tempDir();
  const write = (file: string, header: string, lines: string[] = []): void =>
    writeFileSync(join(dir, file), [header, ...lines].join('\r\n'));
  write('de_hw_contact_data.csv', `\ufeff${headers.contacts}`, parts.contacts);
  write('de_hw_marketing_data.csv', headers.marketing, parts.marketing);
  write('de_hw_sales_outreach_data.csv', headers.sales, parts.sales);
  write('de_hw_opportunity_data.csv', headers.opps, parts.opps);
  return dir;
}

async function replayJson(dir: string, extra: string[] = []) {
  const io = captureIo();
  const out = join(tempDir(), 'out.json');
  const code = await runReplay(['--data', dir, '--format', 'json', '--out', out, ...extra], io);
  return { code, io, rows: JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[], out };
}

describe('touchline replay', () => {
  it('credits a hand-made dataset as computed by hand', async () => {
    const dir = challengeDir({
      contacts: ['C1,A1', 'C2,A1', 'C3,A2'],
      marketing: ['M1,Webinar,C1,2021-01-01T00:00:00Z', 'M2,adwords,C2,2021-03-01T00:00:00Z'],
      sales: ['S1,Outbound,C3,2021-03-01T00:00:00Z'],
      opps: ['O1,A1,100.005,2021-03-31T00:00:00Z,Commercial', 'O2,A2,50,2021-02-01T00:00:00Z,mid market'],
    });
    const { code, rows } = await replayJson(dir, ['--models', 'first_touch,linear']);
    expect(code).toBe(0);
    // O1: window 2020-12-31..2021-03-31 holds M1 (earliest) and M2. O2: S1 is after creation → Unattributed.
    expect(rows).toEqual([
      {
        model: 'first_touch',
        channel: 'Unattributed',
        sales_segment: 'Mid Market',
        pipeline_amount: '50.00',
        opportunities: 1,
      },
      {
        model: 'first_touch',
        channel: 'Webinar',
        sales_segment: 'Commercial',
        pipeline_amount: '100.00',
        opportunities: 1,
      },
      {
        model: 'linear',
        channel: 'Adwords',
        sales_segment: 'Commercial',
        pipeline_amount: '50.00',
        opportunities: 1,
      },
      {
        model: 'linear',
        channel: 'Unattributed',
        sales_segment: 'Mid Market',
        pipeline_amount: '50.00',
        opportunities: 1,
      },
      {
        model: 'linear',
        channel: 'Webinar',
        sales_segment: 'Commercial',
        pipeline_amount: '50.00',
        opportunities: 1,
      },
    ]);
  });

  it('reports bad rows with file and line, keeps the good ones, and --strict fails', async () => {
    const dir = challengeDir({
      contacts: ['C1,A1'],
      marketing: [
        'M1,Webinar,C1,2021-02-30T00:00:00Z',
        'M2,Webinar,C1,2021-03-01T00:00:00Z',
        'M3,Telepathy,C1,2021-03-01T00:00:00Z',
      ],
      sales: ['S1,Outbound,C9,2021-03-01T00:00:00Z'],
      opps: ['O1,A1,-5,2021-03-31T00:00:00Z,Commercial', 'O2,A1,7,2021-03-31T00:00:00Z,Commercial'],
    });
    const { code, io, out } = await replayJson(dir, ['--strict']);
    expect(code).toBe(3);
    const summary = io.out();
    expect(summary).toContain('de_hw_marketing_data.csv:2: invalid_date');
    expect(summary).toContain('de_hw_marketing_data.csv:4: unknown_channel');
    expect(summary).toContain('de_hw_opportunity_data.csv:2: negative_amount');
    expect(summary).toContain('de_hw_sales_outreach_data.csv:2: unknown_contact');
    const quality = JSON.parse(readFileSync(out.replace('.json', '.quality.json'), 'utf8')) as {
      totals: Record<string, number>;
    };
    expect(quality.totals).toMatchObject({ read: 7, accepted: 3, rejected: 4 });
  });

  it.each([
    [['--data', '/nonexistent/dir'], /\/nonexistent\/dir: directory not found/],
    [['--data', '.', '--bogus'], /Unknown option '--bogus'/],
    [[], /--data DIR is required/],
    [['--data', '.', '--format', 'xml'], /--format must be table, json or csv/],
    [['--data', '.', '--models', 'first_touch,markov'], /unknown model "markov"/],
    [['--data', '.', '--window-days', 'ten'], /--window-days must be a number/],
    [['--data', 'src'], /holds neither the challenge CSVs/],
  ])('refuses %j with a clear message', async (argv, message) => {
    await expect(runReplay(argv, captureIo())).rejects.toThrow(message);
    await expect(runReplay(argv, captureIo())).rejects.toBeInstanceOf(AppError);
  });

  it('names the file and the missing column', async () => {
    const dir = challengeDir(
      {},
      { ...HEADERS, opps: 'opportunity_id,account_id,amount,Opportunity_Created_Date,sales_segment' },
    );
    await expect(runReplay(['--data', dir], captureIo())).rejects.toThrow(
      /de_hw_opportunity_data\.csv:1: missing column "pipeline_amount"/,
    );
  });

  it('names a missing file of the challenge format', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'de_hw_contact_data.csv'), HEADERS.contacts);
    await expect(runReplay(['--data', dir], captureIo())).rejects.toThrow(
      /de_hw_marketing_data\.csv: file not found/,
    );
  });

  it('prints usage for --help', async () => {
    const io = captureIo();
    expect(await runReplay(['--help'], io)).toBe(0);
    expect(io.out()).toContain('Usage: touchline replay --data DIR');
  });
});
