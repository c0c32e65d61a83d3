/**
 * `touchline generate`'s reporting dimensions (SPEC "Reporting dimensions"), events format only:
 * campaigns and UTM fields on touches, UTM-only touches the channel rules place (a few no rule
 * matches), opportunities in several currencies, and fx_rates.csv with a late GBP feed. The
 * challenge CSVs cannot carry any of it and must stay byte for byte what they were.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRatesFile } from '../../../src/adapters/files/fx-rates-file.js';
import { DEFAULT_GENERATE, generateRows } from '../../../src/app/generate/generate.js';
import { runGenerate } from '../../../src/cli/generate.js';
import { runReplay } from '../../../src/cli/replay.js';
import { buildVocabularies, loadRules } from '../../../src/cli/settings.js';
import type { ChannelResolver } from '../../../src/domain/channel-rules.js';
import { validateRate } from '../../../src/domain/validate.js';
import { captureIo, tempDir } from '../../support/cli.js';

/** 200 days from 2024-01-01: opportunities from day 90, GBP rates from day 90 + 45 = 2024-05-15. */
const SMALL = [
  ...['--seed', '5', '--contacts', '400', '--opportunities', '150', '--touches', '3000'],
  ...['--dirty-rate', '0.03', '--update-rate', '0.2', '--days', '200'],
];
const FIRST_GBP_RATE = '2024-05-15';

/**
 * sha256 of the small dataset as the generator wrote it before dimensions existed (commit
 * 85e329c): the challenge CSVs must still be these bytes, and so must the events files under
 * --no-dimensions.
 */
const BEFORE_DIMENSIONS: Record<string, string> = {
  'challenge/de_hw_contact_data.csv': '97e086bb207cc7e8e109f1b8a197312985c491b8f7452b1957c1d3e4ec6d2045',
  'challenge/de_hw_marketing_data.csv': 'e6085fba0fcaad0c59f2c9fc1fabfdc4451df04565bdd957dc039bf90237e986',
  'challenge/de_hw_opportunity_data.csv': 'c63e15c6ef3a65aab424eda2f505966886217a49d21226445b6b1a0034a6ee9e',
  'challenge/de_hw_sales_outreach_data.csv':
    'bb63163b867b5aba3085475d339f2a9352f9a0ef5a34029e8cb36a9c1d55b735',
  'events/contacts.ndjson': '96aa26f3801c1ed6a504ae76cbc911526140562a014134fb8e5fc877caca58d4',
  'events/opportunities.ndjson': 'cd493e69213982558f397aef97119279c9b387d6965903a530f79bff07784a1d',
  'events/touchpoints.ndjson': '4c180d869b79000f8d0fb731f4cb74cf97291fd68249a8eea03ef1c123a712cb',
};

type Json = Record<string, string | null>;

const generate = async (extra: string[] = [], args = SMALL): Promise<string> => {
  const dir = tempDir('touchline-gen-');
  expect(await runGenerate(['--out', dir, ...args, ...extra], captureIo())).toBe(0);
  return dir;
};
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const files = (dir: string): Record<string, string> =>
  Object.fromEntries(
    ['events', 'challenge'].flatMap((sub) =>
      readdirSync(join(dir, sub)).map((f) => [`${sub}/${f}`, readFileSync(join(dir, sub, f), 'utf8')]),
    ),
  );
const ndjson = (path: string): Json[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Json);

const rules = (): ChannelResolver => {
  const resolver = buildVocabularies(undefined, undefined, loadRules(undefined)).channelRules;
  if (resolver === undefined) throw new Error('the shipped channel rules did not compile');
  return resolver;
};
const resolve = (resolver: ChannelResolver, t: Json): string => {
  const r = resolver.resolve({
    channel: t['channel'] ?? null,
    utm_source: t['utm_source'] ?? null,
    utm_medium: t['utm_medium'] ?? null,
    utm_campaign: t['utm_campaign'] ?? null,
    campaign_name: t['campaign_name'] ?? null,
  });
  return r.kind === 'rule' || r.kind === 'known' ? r.channel : r.kind;
};

const replayJson = async (
  dir: string,
  extra: string[] = [],
): Promise<{
  rows: Json[];
  quality: { notices?: Record<string, number>; sources: { rejected: Json }[] };
}> => {
  const out = join(tempDir(), 'out.json');
  const code = await runReplay(['--data', dir, '--format', 'json', '--out', out, ...extra], captureIo());
  expect(code).toBe(0);
  return {
    rows: JSON.parse(readFileSync(out, 'utf8')) as Json[],
    quality: JSON.parse(readFileSync(out.replace(/\.json$/, '.quality.json'), 'utf8')) as {
      notices?: Record<string, number>;
      sources: { rejected: Json }[];
    },
  };
};

describe('touchline generate: reporting dimensions in the events format', () => {
  let on: string;
  let off: string;
  beforeAll(async () => {
    [on, off] = [await generate(), await generate(['--no-dimensions'])];
  });

  it('keeps the challenge CSVs byte for byte, and --no-dimensions the events files as they were', () => {
    for (const [file, hash] of Object.entries(BEFORE_DIMENSIONS)) {
      if (file.startsWith('challenge/')) expect([file, sha256(join(on, file))]).toEqual([file, hash]);
      expect([file, sha256(join(off, file))]).toEqual([file, hash]);
    }
    expect(existsSync(join(off, 'events', 'fx_rates.csv'))).toBe(false);
    expect(existsSync(join(on, 'challenge', 'fx_rates.csv'))).toBe(false);
  });

  it('is deterministic: the same seed writes the same files, fx_rates.csv included; another seed does not', async () => {
    const again = files(await generate());
    expect(Object.keys(again).sort()).toContain('events/fx_rates.csv');
    expect(again).toEqual(files(on));
    const other = files(await generate(['--seed', '6']));
    expect(other['events/fx_rates.csv']).not.toEqual(again['events/fx_rates.csv']);
    expect(other['events/touchpoints.ndjson']).not.toEqual(again['events/touchpoints.ndjson']);
  });

  it('only adds to the rows both formats share; every UTM-only touch resolves to its CSV channel or Unassigned', () => {
    const resolver = rules();
    const plain = ndjson(join(off, 'events', 'touchpoints.ndjson'));
    const tagged = ndjson(join(on, 'events', 'touchpoints.ndjson'));
    expect(tagged).toHaveLength(plain.length);
    const outcomes: Record<string, number> = {};
    tagged.forEach((touch, i) => {
      const base = plain[i] ?? {};
      const { campaign_id, campaign_name, utm_source, utm_medium, utm_campaign, ...rest } = touch;
      if (touch['channel'] === null) {
        // What both formats can express: the channel. The rules give the CSV's, or nothing maps.
        const placed = resolve(resolver, touch);
        const outcome = placed === base['channel'] ? 'same channel' : placed;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        expect([touch['source'], utm_source, utm_medium]).toEqual([
          'marketing',
          expect.any(String),
          expect.any(String),
        ]);
        expect(rest).toEqual({ ...base, channel: null });
      } else expect(rest).toEqual(base);
      if (campaign_id !== undefined) {
        expect(campaign_id).toMatch(/^CMP-\d{4}$/);
        // Named by the calendar quarter the touch happened in, its utm_campaign the name's slug.
        // (A dirty date is the instant with " at " for "T"; its campaign is the instant's.)
        const occurred = new Date((touch['occurred_at'] ?? '').replace(' at ', 'T'));
        const quarter = `${occurred.getUTCFullYear()}-Q${Math.floor(occurred.getUTCMonth() / 3) + 1}`;
        expect(campaign_name?.startsWith(`${quarter} `)).toBe(true);
        expect(utm_campaign).toBe(campaign_name?.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
        expect(resolve(resolver, { ...touch, channel: null })).toBe(touch['channel']);
      }
    });
    expect(Object.keys(outcomes).sort()).toEqual(['same channel', 'unassigned']);
    expect(outcomes['unassigned']).toBeGreaterThan(0);

    const plainOpps = ndjson(join(off, 'events', 'opportunities.ndjson'));
    const pricedOpps = ndjson(join(on, 'events', 'opportunities.ndjson'));
    // The stage fields, and the later versions that close some opportunities (after the rest),
    // are generate-stages.test.ts's to check.
    expect(pricedOpps.slice(plainOpps.length).every((o) => o['stage']?.startsWith('closed_'))).toBe(true);
    pricedOpps.slice(0, plainOpps.length).forEach((opp, i) => {
      const { currency, amount, stage, closed_at, ...rest } = opp;
      const { amount: given = '', ...base } = plainOpps[i] ?? {};
      expect(rest).toEqual(base);
      expect(closed_at === undefined).toBe(stage === undefined || stage === 'open');
      expect(['USD', 'EUR', 'GBP', 'CAD', 'JPY']).toContain(currency);
      if (currency !== 'JPY' || !/^\d+\.\d{9}$/.test(given ?? '')) expect(amount).toBe(given);
      // Whole yen at 150 a dollar, computed exactly (no float ever holds the amount).
      else expect(amount).toBe(((BigInt((given ?? '').replace('.', '')) * 150n) / 1_000_000_000n).toString());
    });
  });

  it('writes fx_rates.csv: business-day rates over the span, > 0 with at most 6 decimals, GBP starting late', () => {
    const path = join(on, 'events', 'fx_rates.csv');
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('date,currency,rate');
    const rows = [...readRatesFile(path)].map((r) => ({ raw: r.raw, valid: validateRate(r.raw) }));
    const byCurrency = new Map<string, { date: string; rate: number }[]>();
    for (const { raw, valid } of rows) {
      expect(valid.ok).toBe(true);
      if (!valid.ok) continue;
      expect(valid.value.rate).toBeGreaterThan(0n);
      expect(raw['rate']).toMatch(/^\d+\.\d{1,6}$/);
      expect([0, 6]).not.toContain(new Date(`${valid.value.date}T00:00:00Z`).getUTCDay());
      const list = byCurrency.get(valid.value.currency) ?? [];
      list.push({ date: valid.value.date, rate: Number(raw['rate']) }); // a float only to check magnitudes
      byCurrency.set(valid.value.currency, list);
    }
    expect([...byCurrency.keys()].sort()).toEqual(['CAD', 'EUR', 'GBP', 'JPY']);
    const bands: Record<string, [number, number]> = {
      EUR: [0.95, 1.25],
      GBP: [1.1, 1.45],
      CAD: [0.65, 0.85],
      JPY: [0.0055, 0.008],
    };
    for (const [currency, list] of byCurrency) {
      expect(list[0]?.date).toBe(currency === 'GBP' ? FIRST_GBP_RATE : '2024-01-01');
      expect(list.at(-1)?.date).toBe('2024-07-19'); // the last business day of the 200 days
      list.forEach(({ rate }, i) => {
        expect(rate).toBeGreaterThan(bands[currency]?.[0] ?? Infinity);
        expect(rate).toBeLessThan(bands[currency]?.[1] ?? 0);
        const before = list[i - 1]?.rate ?? rate;
        expect(Math.abs(rate / before - 1)).toBeLessThan(0.01); // a walk, not a jump
      });
      expect(new Set(list.map((r) => r.rate)).size).toBeGreaterThan(list.length / 4);
    }
  });

  it('replays with pending_fx GBP opportunities and unmapped touches, and nothing rejected as a conflicting duplicate', async () => {
    const { quality } = await replayJson(join(on, 'events'));
    const gbpBeforeRates = new Set(
      ndjson(join(on, 'events', 'opportunities.ndjson'))
        .filter((o) => o['currency'] === 'GBP' && (o['created_at'] ?? '') < FIRST_GBP_RATE)
        .map((o) => o['opportunity_id']),
    );
    expect(quality.notices?.['pending_fx']).toBeGreaterThanOrEqual(1);
    expect(quality.notices?.['pending_fx']).toBeLessThanOrEqual(gbpBeforeRates.size);
    expect(quality.notices?.['unmapped_channel']).toBeGreaterThanOrEqual(1);
    // A redelivered touch carries the same dimensions as the original.
    for (const source of quality.sources) expect(source.rejected['conflicting_duplicate']).toBeUndefined();
  });

  it('shows campaigns under replay --by quarter,campaign, and the breakdown sums to the plain table', async () => {
    const { rows } = await replayJson(join(on, 'events'), ['--by', 'quarter,campaign']);
    const campaigns = new Set(rows.map((r) => r['campaign']));
    const ids = [...campaigns].filter((c) => /^CMP-\d{4}$/.test(c ?? ''));
    expect(ids.length).toBeGreaterThan(10);
    expect(campaigns.has(null)).toBe(true); // touches without a campaign, and Unattributed
    expect([...campaigns].some((c) => /^\d{4}-q\d-[a-z-]+$/.test(c ?? ''))).toBe(true); // UTM-only
    const periods = new Set(rows.map((r) => r['period']));
    expect(periods).toContain('FY2024-Q2');
    expect(periods).toContain('FY2024-Q3');
    for (const period of periods) expect(period).toMatch(/^FY2024-Q[1-3]$/); // days 90 to 200 of 2024
    const totals = (list: Json[]): Record<string, bigint> => {
      const sums: Record<string, bigint> = {};
      for (const r of list) {
        const model = r['model'] ?? '';
        sums[model] = (sums[model] ?? 0n) + BigInt((r['pipeline_amount'] ?? '0').replace('.', ''));
      }
      return sums;
    };
    const plain = totals((await replayJson(join(on, 'events'))).rows);
    const broken = totals(rows);
    // Cents rounding per cell may move a sum by a cent per cell, never more.
    for (const [model, sum] of Object.entries(plain)) {
      const diff = (broken[model] ?? 0n) - sum;
      expect(diff < 0n ? -diff : diff).toBeLessThanOrEqual(BigInt(rows.length));
    }
  });
});

describe('generated dimension shares (in memory, 20 000 touches)', () => {
  it('tags most marketing touches, leaves about 12 % to the rules and 1.5 % unmapped, and prices in five currencies', () => {
    const resolver = rules();
    const counts = { marketing: 0, campaign: 0, utmOnly: 0, unmapped: 0, sales: 0, salesCampaign: 0 };
    const currencies: Record<string, number> = {};
    let opportunities = 0;
    const options = { ...DEFAULT_GENERATE, seed: 9, contacts: 3_000, opportunities: 2_000, touches: 20_000 };
    for (const row of generateRows(options)) {
      if (row.kind === 'opportunity' && !row.update) {
        opportunities += 1;
        const currency = row.dimensions?.currency ?? 'none';
        currencies[currency] = (currencies[currency] ?? 0) + 1;
      }
      if (row.kind !== 'touch') continue;
      const tags = row.dimensions?.tags ?? {};
      if (row.fields.source === 'sales') {
        counts.sales += 1;
        if (tags.campaign_id !== undefined) counts.salesCampaign += 1;
        continue;
      }
      counts.marketing += 1;
      if (tags.campaign_id !== undefined) counts.campaign += 1;
      if (row.dimensions?.utmOnly !== true) continue;
      counts.utmOnly += 1;
      if (resolve(resolver, { ...tags, channel: null }) === 'unassigned') counts.unmapped += 1;
    }
    const share = (n: number, of: number): number => n / of;
    expect(share(counts.campaign, counts.marketing)).toBeGreaterThan(0.6);
    expect(share(counts.campaign, counts.marketing)).toBeLessThan(0.85);
    expect(share(counts.utmOnly, counts.marketing)).toBeGreaterThan(0.1);
    expect(share(counts.utmOnly, counts.marketing)).toBeLessThan(0.15);
    expect(share(counts.unmapped, counts.marketing)).toBeGreaterThan(0.01);
    expect(share(counts.unmapped, counts.marketing)).toBeLessThan(0.02);
    expect(share(counts.salesCampaign, counts.sales)).toBeLessThan(0.08);
    expect(Object.keys(currencies).sort()).toEqual(['CAD', 'EUR', 'GBP', 'JPY', 'USD']);
    expect(share(currencies['USD'] ?? 0, opportunities)).toBeGreaterThan(0.55);
    expect(share(currencies['USD'] ?? 0, opportunities)).toBeLessThan(0.75);
    for (const c of ['EUR', 'GBP', 'CAD', 'JPY'])
      expect(share(currencies[c] ?? 0, opportunities)).toBeGreaterThan(0.01);
  });

  it('generates no dimensions at all with dimensions off', () => {
    const options = {
      ...DEFAULT_GENERATE,
      contacts: 200,
      opportunities: 50,
      touches: 1_000,
      dimensions: false,
    };
    const rows = [...generateRows(options)];
    expect(rows.some((r) => r.kind === 'rate')).toBe(false);
    expect(rows.some((r) => 'dimensions' in r && r.dimensions !== undefined)).toBe(false);
  });
});
