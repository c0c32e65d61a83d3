/**
 * `touchline replay --report revenue|roi` end to end on a small dataset whose every figure is
 * worked out by hand below (SPEC "Stage models, revenue and spend").
 *
 * Account A1 (contact C1, lead created 2024-01-10), opportunity O1: 1000 USD, Enterprise, created
 * 2024-02-15, closed won 2024-03-20. Touches of A1: T1 Webinar 01-05, T2 Website 01-15,
 * T3 Adwords 02-01 (E = T1, T2, T3) and T4 Event 03-10 (after creation, before the close).
 * - roles: first T1; lead_creation = last touch ≤ L (01-10) = T1; opportunity_creation T3;
 *   closed_won (full_path) = last touch ≤ C = T4.
 * - w_shaped: T1 30 + 30 = 60 %, T3 30 %, middle T2 10 % → Webinar 600, Adwords 300, Website 100.
 * - full_path: T1 22.5 + 22.5 = 45 %, T3 22.5 %, T4 22.5 %, middle T2 10 % → Webinar 450,
 *   Adwords 225, Event 225, Website 100.
 * Account A2 (contact C2, no lead), O2: 500 USD, Commercial, created 2024-02-20, open; one touch
 * T5 Adwords 02-10 → 500 Adwords under every model; no revenue.
 * A1's O1 is first given open (version 1) and then closed won (version 2): the later wins.
 *
 * Spend (spend.csv): Adwords 2024-02-01 200.00 USD (updated 03-01) and an older 100.00 for the
 * same day (updated 02-02, superseded); Webinar 02-10 50.00; Event 03-05 0.00; Adwords 03-05
 * 80.00 EUR at 1.25 (fx_rates.csv, 03-01) = 100.00 USD.
 * ROI by month, w_shaped:
 *   2024-02 Adwords: spend 200, pipeline 300 + 500 = 800, revenue 0, 2 opps → 4.0000, 0.0000, 100.0000
 *   2024-02 Webinar: spend 50, pipeline 600, 1 opp → 12.0000, 0.0000, 50.0000
 *   2024-02 Website: no spend → spend null, pipeline 100, ratios null
 *   2024-03 Adwords: spend 100, pipeline 0, revenue 300, 0 opps → 0.0000, 3.0000, null
 *   2024-03 Event: spend 0.00 → ratios null (w_shaped credits no Event)
 *   2024-03 Webinar: revenue 600, no spend → null; 2024-03 Website: revenue 100, no spend → null
 * full_path 2024-03 Event: spend 0.00, revenue 225 → ratios null.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../../src/cli/replay.js';

const ndjson = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
let dir = '';

interface Quality {
  readonly sources: { readonly source: string; readonly read: number; readonly accepted: number }[];
  readonly totals: { readonly stale: number };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'touchline-stages-'));
  writeFileSync(
    join(dir, 'contacts.ndjson'),
    ndjson([
      {
        contact_id: 'C1',
        account_id: 'A1',
        updated_at: '2024-01-01T00:00:00Z',
        lead_created_at: '2024-01-10T00:00:00Z',
      },
      { contact_id: 'C2', account_id: 'A2', updated_at: '2024-01-01T00:00:00Z' },
    ]),
  );
  const touch = (id: string, contact: string, channel: string, at: string): object => ({
    touchpoint_id: id,
    contact_id: contact,
    channel,
    occurred_at: `${at}T12:00:00Z`,
    source: 'marketing',
  });
  writeFileSync(
    join(dir, 'touchpoints.ndjson'),
    ndjson([
      touch('T1', 'C1', 'Webinar', '2024-01-05'),
      touch('T2', 'C1', 'Website', '2024-01-15'),
      touch('T3', 'C1', 'Adwords', '2024-02-01'),
      touch('T4', 'C1', 'Event', '2024-03-10'),
      touch('T5', 'C2', 'Adwords', '2024-02-10'),
    ]),
  );
  const o1 = {
    opportunity_id: 'O1',
    account_id: 'A1',
    amount: '1000',
    created_at: '2024-02-15T12:00:00Z',
    sales_segment: 'Enterprise',
  };
  writeFileSync(
    join(dir, 'opportunities.ndjson'),
    ndjson([
      { ...o1, updated_at: '2024-02-15T12:00:00Z', stage: 'open' },
      { ...o1, updated_at: '2024-03-20T12:00:00Z', stage: 'Closed Won', closed_at: '2024-03-20T12:00:00Z' },
      {
        opportunity_id: 'O2',
        account_id: 'A2',
        amount: '500',
        created_at: '2024-02-20T12:00:00Z',
        sales_segment: 'Commercial',
        updated_at: '2024-02-20T12:00:00Z',
      },
    ]),
  );
  writeFileSync(
    join(dir, 'spend.csv'),
    [
      'date,channel,campaign_id,amount,currency,updated_at',
      '2024-02-01,Adwords,,200.00,USD,2024-03-01T00:00:00Z',
      '2024-02-01,Adwords,,100.00,USD,2024-02-02T00:00:00Z',
      '2024-02-10,Webinar,,50.00,USD,',
      '2024-03-05,Event,,0.00,USD,',
      '2024-03-05,Adwords,,80.00,EUR,',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'fx_rates.csv'), 'date,currency,rate\n2024-03-01,EUR,1.25\n');
});

async function run(
  args: string[],
): Promise<{ rows: Record<string, unknown>[]; stderr: string; quality: Quality }> {
  const out = join(dir, `out-${args.join('_').replace(/[^a-z_]/gi, '')}.json`);
  let stderr = '';
  let stdout = '';
  const code = await runReplay(['--data', dir, '--format', 'json', '--out', out, ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  expect(code, stderr).toBe(0);
  return {
    rows: JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[],
    stderr: stdout + stderr,
    quality: JSON.parse(readFileSync(out.replace(/\.json$/, '.quality.json'), 'utf8')) as Quality,
  };
}

describe('replay --report revenue and roi (stage models)', () => {
  it('pipeline under w_shaped and full_path follows the roles', async () => {
    const { rows } = await run(['--models', 'w_shaped,full_path']);
    const of = (model: string): Record<string, string> =>
      Object.fromEntries(
        rows
          .filter((r) => r['model'] === model)
          .map((r) => [
            `${String(r['channel'])}/${String(r['sales_segment'])}`,
            String(r['pipeline_amount']),
          ]),
      );
    expect(of('w_shaped')).toEqual({
      'Adwords/Commercial': '500.00',
      'Adwords/Enterprise': '300.00',
      'Webinar/Enterprise': '600.00',
      'Website/Enterprise': '100.00',
    });
    expect(of('full_path')).toEqual({
      'Adwords/Commercial': '500.00',
      'Adwords/Enterprise': '225.00',
      'Event/Enterprise': '225.00',
      'Webinar/Enterprise': '450.00',
      'Website/Enterprise': '100.00',
    });
  });

  it('revenue: the closed-won opportunity only, same credits, in the month of its close', async () => {
    const { rows, stderr } = await run([
      '--report',
      'revenue',
      '--by',
      'month',
      '--models',
      'w_shaped,first_touch',
    ]);
    expect(rows).toEqual([
      {
        model: 'w_shaped',
        period: '2024-03',
        channel: 'Adwords',
        sales_segment: 'Enterprise',
        revenue_amount: '300.00',
        opportunities: 1,
      },
      {
        model: 'w_shaped',
        period: '2024-03',
        channel: 'Webinar',
        sales_segment: 'Enterprise',
        revenue_amount: '600.00',
        opportunities: 1,
      },
      {
        model: 'w_shaped',
        period: '2024-03',
        channel: 'Website',
        sales_segment: 'Enterprise',
        revenue_amount: '100.00',
        opportunities: 1,
      },
      {
        model: 'first_touch',
        period: '2024-03',
        channel: 'Webinar',
        sales_segment: 'Enterprise',
        revenue_amount: '1000.00',
        opportunities: 1,
      },
    ]);
    expect(stderr).toContain('1 closed won, revenue 1000.00 USD');
  });

  it('revenue --from/--to select by the closing date', async () => {
    const { rows } = await run(['--report', 'revenue', '--models', 'first_touch', '--from', '2024-03-21']);
    expect(rows).toEqual([]);
    const { rows: march } = await run([
      '--report',
      'revenue',
      '--models',
      'first_touch',
      '--from',
      '2024-03-01',
      '--to',
      '2024-04-01',
    ]);
    expect(march.map((r) => r['revenue_amount'])).toEqual(['1000.00']);
  });

  it('roi: spend beside pipeline and revenue, ratios exact, "no spend" null and never 0', async () => {
    const { rows, quality } = await run([
      '--report',
      'roi',
      '--by',
      'month',
      '--models',
      'w_shaped,full_path',
    ]);
    const w = rows.filter((r) => r['model'] === 'w_shaped');
    const key = (r: Record<string, unknown>): string => `${String(r['period'])} ${String(r['channel'])}`;
    const byKey = Object.fromEntries(w.map((r) => [key(r), r]));
    expect(Object.keys(byKey).sort()).toEqual([
      '2024-02 Adwords',
      '2024-02 Webinar',
      '2024-02 Website',
      '2024-03 Adwords',
      '2024-03 Event',
      '2024-03 Webinar',
      '2024-03 Website',
    ]);
    expect(byKey['2024-02 Adwords']).toMatchObject({
      spend: '200.00',
      pipeline_amount: '800.00',
      revenue_amount: '0.00',
      opportunities: 2,
      pipeline_per_spend: '4.0000',
      roas: '0.0000',
      cost_per_opportunity: '100.0000',
    });
    expect(byKey['2024-02 Webinar']).toMatchObject({
      spend: '50.00',
      pipeline_amount: '600.00',
      opportunities: 1,
      pipeline_per_spend: '12.0000',
      roas: '0.0000',
      cost_per_opportunity: '50.0000',
    });
    expect(byKey['2024-02 Website']).toMatchObject({
      spend: null,
      pipeline_amount: '100.00',
      pipeline_per_spend: null,
      roas: null,
      cost_per_opportunity: null,
    });
    expect(byKey['2024-03 Adwords']).toMatchObject({
      spend: '100.00',
      pipeline_amount: '0.00',
      revenue_amount: '300.00',
      opportunities: 0,
      pipeline_per_spend: '0.0000',
      roas: '3.0000',
      cost_per_opportunity: null,
    });
    expect(byKey['2024-03 Event']).toMatchObject({
      spend: '0.00',
      pipeline_amount: '0.00',
      revenue_amount: '0.00',
      pipeline_per_spend: null,
      roas: null,
      cost_per_opportunity: null,
    });
    expect(byKey['2024-03 Webinar']).toMatchObject({ spend: null, revenue_amount: '600.00', roas: null });
    expect(byKey['2024-03 Website']).toMatchObject({ spend: null, revenue_amount: '100.00', roas: null });
    const event = rows.find((r) => r['model'] === 'full_path' && key(r) === '2024-03 Event');
    expect(event).toMatchObject({ spend: '0.00', revenue_amount: '225.00', roas: null });
    const spendSource = quality.sources.find((s) => s.source === 'spend.csv');
    expect(spendSource).toMatchObject({ read: 5, accepted: 4 });
    expect(quality.totals.stale).toBeGreaterThanOrEqual(1);
  });

  it('a spend row without its FX rate is pending_fx, not in the totals, and a bad row names its line', async () => {
    const local = mkdtempSync(join(tmpdir(), 'touchline-stages-fx-'));
    for (const f of ['contacts.ndjson', 'touchpoints.ndjson', 'opportunities.ndjson'])
      writeFileSync(join(local, f), readFileSync(join(dir, f)));
    writeFileSync(
      join(local, 'spend.csv'),
      'date,channel,amount,currency\n2024-02-01,Adwords,10.00,GBP\n2024-02-01,Radio,10.00,USD\n2024-02-02,Adwords,-1,USD\n',
    );
    const out = join(local, 'roi.json');
    let text = '';
    const code = await runReplay(['--data', local, '--report', 'roi', '--format', 'json', '--out', out], {
      stdout: (t) => (text += t),
      stderr: (t) => (text += t),
    });
    expect(code).toBe(0);
    const rows = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>[];
    expect(rows.every((r) => r['spend'] === null)).toBe(true);
    expect(text).toContain('pending_fx spend.csv:2');
    expect(text).toContain('rejected spend.csv:3: unknown_channel');
    expect(text).toContain('rejected spend.csv:4: negative_amount');
  });

  it('refuses --spend without --report roi and an unknown --report', async () => {
    const io = { stdout: () => undefined, stderr: () => undefined };
    await expect(runReplay(['--data', dir, '--spend', 'x.csv'], io)).rejects.toThrow(
      '--spend is read by --report roi only',
    );
    await expect(runReplay(['--data', dir, '--report', 'bookings'], io)).rejects.toThrow(
      '--report must be pipeline, revenue, roi',
    );
  });
});
