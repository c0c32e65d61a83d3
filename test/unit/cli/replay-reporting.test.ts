/**
 * `touchline replay` with the reporting dimensions of SPEC "Reporting dimensions": periods in a
 * reporting time zone, --from/--to, campaigns, channel rules, currencies. Every expected figure
 * is worked out by hand in the comments.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../../src/cli/replay.js';
import { AppError } from '../../../src/errors.js';
import { captureIo, tempDir } from '../../support/cli.js';

const ndjson = (rows: Record<string, string | null>[]): string =>
  rows.map((row) => JSON.stringify(row)).join('\n');

/**
 * Contacts C1–C3 on accounts A1–A3.
 * - T1 (C1): Webinar, campaign CMP-1, 2024-03-09T12:00Z.
 * - T2 (C2): no channel; google / cpc, utm_campaign spring → the rule gives Adwords; campaign "spring".
 * - T3 (C3): no channel; utm_source weird, nothing else → no rule matches → Unassigned.
 * - O1 (A1) 100 USD, created 2024-04-01T02:00Z: New York (EDT, UTC−4) 2024-03-31 22:00 → local
 *   date 2024-03-31, FY2024-Q1; UTC date 2024-04-01, FY2024-Q2.
 * - O2 (A2) 200 EUR, created 2024-03-16T03:00Z: New York 2024-03-15 23:00 → the EUR rate of
 *   2024-03-14 (1.1) → 220 USD; in UTC the date is 2024-03-16 → the rate of that day (1.2) → 240.
 * - O3 (A3) 50 GBP, created 2024-02-01T00:00Z: the only GBP rate is dated 2024-03-01 → pending_fx.
 * - O4 (A3) 10.5 (no currency = USD), created 2024-05-20T00:00Z: T3 (2024-05-01) in window →
 *   Unassigned; New York date 2024-05-19, FY2024-Q2.
 */
function dataset(): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'contacts.ndjson'),
    ndjson([
      { contact_id: 'C1', account_id: 'A1' },
      { contact_id: 'C2', account_id: 'A2' },
      { contact_id: 'C3', account_id: 'A3' },
    ]),
  );
  writeFileSync(
    join(dir, 'touchpoints.ndjson'),
    ndjson([
      {
        touchpoint_id: 'T1',
        source: 'marketing',
        contact_id: 'C1',
        channel: 'Webinar',
        occurred_at: '2024-03-09T12:00:00Z',
        campaign_id: 'CMP-1',
      },
      {
        touchpoint_id: 'T2',
        source: 'marketing',
        contact_id: 'C2',
        channel: null,
        occurred_at: '2024-03-01T00:00:00Z',
        utm_source: 'Google',
        utm_medium: 'CPC',
        utm_campaign: 'spring',
      },
      {
        touchpoint_id: 'T3',
        source: 'marketing',
        contact_id: 'C3',
        occurred_at: '2024-05-01T00:00:00Z',
        utm_source: 'weird',
      },
    ]),
  );
  const opportunity = (id: string, account: string, amount: string, at: string, currency?: string) => ({
    opportunity_id: id,
    account_id: account,
    amount,
    created_at: at,
    sales_segment: 'Commercial',
    ...(currency === undefined ? {} : { currency }),
  });
  writeFileSync(
    join(dir, 'opportunities.ndjson'),
    ndjson([
      opportunity('O1', 'A1', '100', '2024-04-01T02:00:00Z', 'usd'),
      opportunity('O2', 'A2', '200', '2024-03-16T03:00:00Z', 'EUR'),
      opportunity('O3', 'A3', '50', '2024-02-01T00:00:00Z', 'GBP'),
      opportunity('O4', 'A3', '10.5', '2024-05-20T00:00:00Z'),
    ]),
  );
  writeFileSync(
    join(dir, 'fx_rates.csv'),
    [
      'date,currency,rate',
      '2024-03-14,EUR,1.1',
      '2024-03-16,eur,1.2',
      '2024-03-01,GBP,1.27',
      '2024-13-01,EUR,1.0',
      '2024-03-02,XYZ,2',
      '2024-03-03,EUR,0',
      '2024-03-14,EUR,1.1',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'rules.yaml'),
    [
      'version: test-rules-1',
      'rules:',
      '  - name: google ads',
      '    channel: Adwords',
      '    when:',
      '      utm_source: google',
      '      utm_medium: [cpc, ppc]',
    ].join('\n'),
  );
  return dir;
}

async function replay(extra: string[]) {
  const dir = dataset();
  const out = join(tempDir(), 'out.json');
  const io = captureIo();
  const code = await runReplay(
    [
      '--data',
      dir,
      '--format',
      'json',
      '--out',
      out,
      '--models',
      'first_touch',
      '--channel-rules',
      join(dir, 'rules.yaml'),
      ...extra,
    ],
    io,
  );
  return {
    code,
    io,
    rows: JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[],
    qualityAt: out.replace(/\.json$/, '.quality.json'),
  };
}

const row = (period: string, channel: string, amount: string, campaign?: string | null) => ({
  model: 'first_touch',
  period,
  channel,
  ...(campaign === undefined ? {} : { campaign }),
  sales_segment: 'Commercial',
  pipeline_amount: amount,
  opportunities: 1,
});

describe('replay --by a period', () => {
  it('puts each opportunity in the fiscal quarter of its local creation date, New York', async () => {
    const { code, rows } = await replay(['--by', 'quarter', '--time-zone', 'America/New_York']);
    expect(code).toBe(0);
    expect(rows).toEqual([
      row('FY2024-Q1', 'Adwords', '220.00'),
      row('FY2024-Q1', 'Webinar', '100.00'),
      row('FY2024-Q2', 'Unassigned', '10.50'),
    ]);
  });

  it('and in UTC, where O1 is in Q2 and O2 takes the rate of its own day', async () => {
    const { rows } = await replay(['--by', 'quarter', '--time-zone', 'UTC']);
    expect(rows).toEqual([
      row('FY2024-Q1', 'Adwords', '240.00'),
      row('FY2024-Q2', 'Unassigned', '10.50'),
      row('FY2024-Q2', 'Webinar', '100.00'),
    ]);
  });

  it('names fiscal quarters from FISCAL_YEAR_START_MONTH (April: 2024-03-31 is FY2024-Q4)', async () => {
    const { rows } = await replay([
      '--by',
      'quarter',
      '--time-zone',
      'America/New_York',
      '--fiscal-year-start-month',
      '4',
    ]);
    // Start April: FY2025 runs 2024-04-01..2025-03-31; March 2024 is FY2024-Q4, May 2024 FY2025-Q1.
    expect(rows).toEqual([
      row('FY2024-Q4', 'Adwords', '220.00'),
      row('FY2024-Q4', 'Webinar', '100.00'),
      row('FY2025-Q1', 'Unassigned', '10.50'),
    ]);
  });

  it('days, ISO weeks and months', async () => {
    const tz = ['--time-zone', 'America/New_York'];
    // Rows come sorted by period. Local dates 2024-03-15 (Fri, week of Mon 03-11: W11), 2024-03-31 (Sun: W13), 2024-05-19 (Sun: W20).
    expect((await replay(['--by', 'day', ...tz])).rows.map((r) => r['period'])).toEqual([
      '2024-03-15',
      '2024-03-31',
      '2024-05-19',
    ]);
    expect((await replay(['--by', 'week', ...tz])).rows.map((r) => r['period'])).toEqual([
      '2024-W11',
      '2024-W13',
      '2024-W20',
    ]);
    expect((await replay(['--by', 'month', ...tz])).rows.map((r) => [r['period'], r['channel']])).toEqual([
      ['2024-03', 'Adwords'],
      ['2024-03', 'Webinar'],
      ['2024-05', 'Unassigned'],
    ]);
  });

  it('--from/--to select by local creation date, from inclusive, to exclusive', async () => {
    const { rows, io } = await replay([
      '--by',
      'month',
      '--time-zone',
      'America/New_York',
      '--from',
      '2024-03-15',
      '--to',
      '2024-03-31',
    ]);
    // O2 (03-15) is in; O1 (03-31) is not (exclusive); O3 and O4 lie outside.
    expect(rows).toEqual([row('2024-03', 'Adwords', '220.00')]);
    expect(io.out()).toContain('1 opportunities, pipeline 220.00 USD');
  });
});

describe('replay --by campaign', () => {
  it('splits each channel by the credited touch campaign (id, else utm_campaign)', async () => {
    const { rows } = await replay(['--by', 'quarter,campaign', '--time-zone', 'America/New_York']);
    expect(rows).toEqual([
      row('FY2024-Q1', 'Adwords', '220.00', 'spring'),
      row('FY2024-Q1', 'Webinar', '100.00', 'CMP-1'),
      row('FY2024-Q2', 'Unassigned', '10.50', null),
    ]);
  });
});

describe('replay: channel rules and currencies in the quality report', () => {
  it('counts the unmapped touch and the pending_fx opportunity, and refuses bad rate rows by reason', async () => {
    const { qualityAt, io } = await replay(['--time-zone', 'America/New_York']);
    const quality = JSON.parse(readFileSync(qualityAt, 'utf8')) as {
      notices: Record<string, number>;
      noticeExamples: { notice: string; location: string }[];
      sources: { source: string; read: number; accepted: number; duplicates: number; rejected: object }[];
    };
    expect(quality.notices).toEqual({ unmapped_channel: 1, pending_fx: 1 });
    expect(quality.noticeExamples.map((e) => [e.notice, e.location])).toEqual([
      ['unmapped_channel', 'touchpoints.ndjson:3'],
      ['pending_fx', 'opportunities.ndjson:3'],
    ]);
    // Seven rate rows: three accepted, one repeated, a month 13, an unknown code and a zero rate.
    expect(quality.sources.find((s) => s.source === 'fx_rates.csv')).toEqual({
      source: 'fx_rates.csv',
      read: 7,
      accepted: 3,
      duplicates: 1,
      stale: 0,
      rejected: { invalid_date: 1, unknown_currency: 1, invalid_rate: 1 },
    });
    expect(io.out()).toContain('1 pending_fx (no rate yet, not credited)');
    expect(io.out()).toContain('accepted, to know about: unmapped_channel 1, pending_fx 1');
  });

  it('converts only with a rate: without the rates file O2 and O3 are both pending', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.csv'), 'date,currency,rate\n');
    const { rows, io } = await replay(['--fx-rates', join(dir, 'empty.csv')]);
    expect(rows.map((r) => [r['channel'], r['pipeline_amount']])).toEqual([
      ['Unassigned', '10.50'],
      ['Webinar', '100.00'],
    ]);
    expect(io.out()).toContain('2 pending_fx');
  });
});

describe('replay reporting options: usage errors', () => {
  it.each([
    [['--by', 'fortnight'], /--by: "fortnight" is not one of day, week, month, quarter, campaign/],
    [['--by', 'day,month'], /--by takes one period/],
    [['--time-zone', 'Mars/Olympus'], /--time-zone "Mars\/Olympus" is not an IANA time zone/],
    [['--fiscal-year-start-month', '13'], /--fiscal-year-start-month must be a month 1-12/],
    [['--from', '2024-02-30'], /--from must be a date YYYY-MM-DD/],
    [['--from', '2024-03-01', '--to', '2024-03-01'], /--from 2024-03-01 must be before --to 2024-03-01/],
    [['--reporting-currency', 'EURO'], /--reporting-currency "EURO" is not an ISO 4217 currency code/],
  ])('%j is refused', async (args, message) => {
    const error = await replay(args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('USAGE');
    expect((error as AppError).message).toMatch(message);
  });

  it('a bad rules file is refused, naming it', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'bad.yaml'),
      'version: 1\nrules:\n  - channel: Nowhere\n    when: {utm_source: x}\n',
    );
    const error = await replay(['--channel-rules', join(dir, 'bad.yaml')]).catch((e: unknown) => e);
    expect((error as AppError).code).toBe('CONFIG_INVALID');
    expect((error as AppError).message).toContain('bad.yaml');
    expect((error as AppError).message).toContain('Nowhere');
  });
});
