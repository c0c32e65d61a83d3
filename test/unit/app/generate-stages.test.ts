/**
 * `touchline generate`'s stage-model inputs and spend (SPEC "Stage models, revenue and spend"),
 * events format only: contacts' lead_created_at, opportunities' stage and closed_at (some closed
 * by a later version), and spend.csv with corrections and paused days. The challenge CSVs and
 * the --no-dimensions events files carry none of it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readEventsDir } from '../../../src/adapters/files/events-format.js';
import { readRatesFile } from '../../../src/adapters/files/fx-rates-file.js';
import { readSpendFile } from '../../../src/adapters/files/spend-file.js';
import type { SourcedRecord } from '../../../src/app/ingest.js';
import { DEFAULT_GENERATE, generateRows, type GeneratedRow } from '../../../src/app/generate/generate.js';
import { runGenerate } from '../../../src/cli/generate.js';
import { buildVocabularies } from '../../../src/cli/settings.js';
import { createSpendBook, validateSpend, type SpendRow } from '../../../src/domain/spend.js';
import { MS_PER_DAY, parseInstant } from '../../../src/domain/time.js';
import { validateContact, validateOpportunity, type RawRecord } from '../../../src/domain/validate.js';
import { captureIo, tempDir } from '../../support/cli.js';

/** 200 days from 2024-01-01 (opportunities from day 90), dirty rows and updates. */
const SMALL = [
  ...['--seed', '5', '--contacts', '400', '--opportunities', '150', '--touches', '3000'],
  ...['--dirty-rate', '0.03', '--update-rate', '0.2', '--days', '200'],
];
const WINDOW = 90 * MS_PER_DAY;
const NEW_FIELDS = ['lead_created_at', 'stage', 'closed_at'];
const SPEND_HEADER = 'date,channel,campaign_id,amount,currency,updated_at';
const PAID_CHANNELS = ['Adwords', 'Event', 'Paid Social', 'Webinar'];

const vocab = buildVocabularies();

const generate = async (extra: string[] = []): Promise<string> => {
  const dir = tempDir('touchline-stages-');
  expect(await runGenerate(['--out', dir, ...SMALL, ...extra], captureIo())).toBe(0);
  return dir;
};
const files = (dir: string): Record<string, string> =>
  Object.fromEntries(
    ['events', 'challenge'].flatMap((sub) =>
      readdirSync(join(dir, sub)).map((f) => [`${sub}/${f}`, readFileSync(join(dir, sub, f), 'utf8')]),
    ),
  );
const records = (dir: string, kind: SourcedRecord['kind']): RawRecord[] =>
  [...readEventsDir(join(dir, 'events'))].flatMap((r) =>
    r.kind !== 'malformed' && r.kind === kind ? [r.raw] : [],
  );
const instant = (text: string | null | undefined): number => parseInstant(text ?? '') ?? NaN;
const text = (raw: RawRecord, field: string): string => raw[field] ?? '';

/** Versions per id, oldest first (by updated_at). */
function versionsById(rows: readonly RawRecord[], idField: string): Map<string, RawRecord[]> {
  const byId = new Map<string, RawRecord[]>();
  for (const row of rows) byId.set(text(row, idField), [...(byId.get(text(row, idField)) ?? []), row]);
  for (const list of byId.values()) list.sort((a, b) => instant(a['updated_at']) - instant(b['updated_at']));
  return byId;
}

/** Each contact's account, and each account's (valid) opportunity creation instants. */
function accounts(dir: string): { accountOf: Map<string, string>; createdByAccount: Map<string, number[]> } {
  const accountOf = new Map(
    records(dir, 'contact').map((c) => [text(c, 'contact_id'), text(c, 'account_id')]),
  );
  const createdByAccount = new Map<string, number[]>();
  for (const o of records(dir, 'opportunity')) {
    const created = instant(o['created_at']);
    if (Number.isNaN(created)) continue;
    const account = text(o, 'account_id');
    createdByAccount.set(account, [...(createdByAccount.get(account) ?? []), created]);
  }
  return { accountOf, createdByAccount };
}

/** Touches as (contact, instant); a dirty date is the instant with " at " for "T". */
const touches = (dir: string): { contact: string; at: number; raw: RawRecord }[] =>
  records(dir, 'touch').map((raw) => ({
    contact: text(raw, 'contact_id'),
    at: instant(text(raw, 'occurred_at').replace(' at ', 'T')),
    raw,
  }));

describe('touchline generate: stages, leads and spend in the events format', () => {
  let dir: string;
  let clean: string;
  let plain: string;
  beforeAll(async () => {
    [dir, clean, plain] = [
      await generate(),
      await generate(['--dirty-rate', '0']),
      await generate(['--no-dimensions']),
    ];
  });

  it('is deterministic: the same seed writes the same bytes of every file, spend.csv included; another seed does not', async () => {
    const again = files(await generate());
    expect(Object.keys(again)).toContain('events/spend.csv');
    expect(again).toEqual(files(dir));
    const other = files(await generate(['--seed', '6']));
    expect(other['events/spend.csv']).not.toEqual(again['events/spend.csv']);
    expect(other['events/contacts.ndjson']).not.toEqual(again['events/contacts.ndjson']);
  });

  it('writes contacts and opportunities the validators accept; a dirty row is refused for its old reasons only', () => {
    const contacts = records(clean, 'contact').map(validateContact);
    const opportunities = records(clean, 'opportunity').map((raw) => validateOpportunity(raw, vocab));
    expect(contacts.every((c) => c.ok)).toBe(true);
    expect(opportunities.every((o) => o.ok)).toBe(true);
    expect(contacts.filter((c) => c.ok && c.value.leadCreatedAt !== undefined).length).toBeGreaterThan(100);
    const closed = opportunities.filter(
      (o) => o.ok && o.value.kind === 'opportunity' && o.value.opportunity.closedAt !== undefined,
    );
    expect(closed.length).toBeGreaterThan(20);

    const refused = [
      ...records(dir, 'contact').map(validateContact),
      ...records(dir, 'opportunity').map((raw) => validateOpportunity(raw, vocab)),
    ].flatMap((r) => (r.ok ? [] : [r.rejection]));
    expect(refused.length).toBeGreaterThan(0); // 3 % dirty rows
    for (const rejection of refused) expect(NEW_FIELDS).not.toContain(rejection.field);
  });

  it('places leads inside the window of an opportunity of the account and before every window; a later contact version keeps its lead', () => {
    const { createdByAccount } = accounts(dir);
    const contacts = records(dir, 'contact');
    const firstVersions = [...versionsById(contacts, 'contact_id').values()].map((list) => list[0] ?? {});
    const leads = firstVersions.filter((c) => c['lead_created_at'] !== undefined);
    expect(leads.length / firstVersions.length).toBeGreaterThan(0.6);
    expect(leads.length / firstVersions.length).toBeLessThan(0.8);
    const cases = { inside: 0, before: 0 };
    for (const c of leads) {
      const lead = instant(c['lead_created_at']);
      expect(c['lead_created_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const created = createdByAccount.get(text(c, 'account_id')) ?? [];
      if (created.some((at) => at - WINDOW <= lead && lead <= at)) cases.inside += 1;
      if (created.length > 0 && created.every((at) => lead < at - WINDOW)) cases.before += 1;
    }
    expect(cases.inside).toBeGreaterThan(cases.before);
    expect(cases.before).toBeGreaterThan(0);

    const updated = [...versionsById(contacts, 'contact_id').values()].filter((list) => list.length > 1);
    expect(updated.length).toBeGreaterThan(0);
    for (const [first, ...later] of updated)
      for (const version of later) {
        expect(instant(version['updated_at'])).toBeGreaterThan(instant(first?.['updated_at']));
        expect([version['account_id'], version['lead_created_at']]).toEqual([
          first?.['account_id'],
          first?.['lead_created_at'],
        ]);
      }
    // The CSV has no versions: one row per contact, as before.
    const csv = readFileSync(join(dir, 'challenge', 'de_hw_contact_data.csv'), 'utf8').split('\r\n');
    expect(csv.length - 1).toBe(400);
  });

  it('closes some opportunities by a later version, open first and closed_won later, with touches of the account in between', () => {
    const versions = versionsById(records(dir, 'opportunity'), 'opportunity_id');
    const reopened = [...versions.values()].filter((list) => {
      const [first, last] = [list[0], list.at(-1)];
      return [undefined, 'open'].includes(first?.['stage'] ?? undefined) && last?.['stage'] === 'closed_won';
    });
    expect(reopened.length).toBeGreaterThan(0);
    for (const list of reopened) {
      const last = list.at(-1) ?? {};
      expect(instant(last['updated_at'])).toBeGreaterThanOrEqual(instant(last['closed_at']));
      expect(instant(last['updated_at'])).toBeGreaterThan(instant(list.at(-2)?.['updated_at']));
    }
    // Every version but a closing one keeps the stage of the first.
    for (const list of versions.values())
      for (const version of list.slice(1, -1)) expect(version['stage']).toBe(list[0]?.['stage']);

    const { accountOf } = accounts(dir);
    const touchesOf = new Map<string, number[]>();
    for (const t of touches(dir)) {
      const account = accountOf.get(t.contact);
      if (account !== undefined) touchesOf.set(account, [...(touchesOf.get(account) ?? []), t.at]);
    }
    const wonWithTouchesAfterCreation = [...versions.values()].filter((list) => {
      const last = list.at(-1) ?? {};
      const [created, closed] = [instant(last['created_at']), instant(last['closed_at'])];
      const between = (touchesOf.get(text(last, 'account_id')) ?? []).some(
        (at) => created < at && at <= closed,
      );
      return last['stage'] === 'closed_won' && between;
    });
    expect(wonWithTouchesAfterCreation.length).toBeGreaterThan(0);
  });

  it('writes spend.csv: a row per day and paid channel over the touches, campaigns, exact cents, corrections and paused days', () => {
    const path = join(dir, 'events', 'spend.csv');
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(SPEND_HEADER);
    const channelOf = (name: string): string | null => vocab.channels.resolve(name);
    const rows: (SpendRow & { text: RawRecord })[] = readSpendFile(path).map(({ raw }) => {
      const valid = validateSpend(raw, channelOf);
      if (!valid.ok) throw new Error(`${JSON.stringify(raw)}: ${valid.rejection.detail}`);
      expect(raw['channel']).toBe(valid.value.channel); // canonical names
      expect(raw['amount']).toMatch(/^\d+\.\d{2}$/);
      expect(instant(raw['updated_at'])).not.toBeNaN();
      return { ...valid.value, text: raw };
    });

    const generatedTouches = touches(dir);
    const campaigns = new Set(generatedTouches.map((t) => t.raw['campaign_id']).filter((c) => c != null));
    expect(new Set(rows.map((r) => r.channel))).toEqual(new Set(PAID_CHANNELS));
    const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    const times = generatedTouches.map((t) => t.at);
    const [first, last] = [Math.min(...times), Math.max(...times)];
    const expectedDays =
      (Math.floor(last / MS_PER_DAY) - Math.floor(first / MS_PER_DAY) + 1) * PAID_CHANNELS.length;
    expect(new Set(rows.map((r) => `${r.date} ${r.channel}`)).size).toBe(expectedDays);
    expect(rows[0]?.date).toBe(day(first));
    expect(
      rows
        .map((r) => r.date)
        .sort()
        .at(-1),
    ).toBe(day(last));
    const withCampaign = rows.filter((r) => r.campaign !== null);
    expect(withCampaign.length).toBeGreaterThan(rows.length / 3);
    expect(withCampaign.length).toBeLessThan(rows.length);
    for (const r of withCampaign) expect(campaigns).toContain(r.campaign);

    const currencies: Record<string, number> = {};
    for (const r of rows) currencies[r.currency] = (currencies[r.currency] ?? 0) + 1;
    expect(Object.keys(currencies).sort()).toEqual(['EUR', 'GBP', 'USD']);
    expect((currencies['USD'] ?? 0) / rows.length).toBeGreaterThan(0.7);
    // No row waits for a rate: each non-USD row is dated on or after its currency's first rate.
    const firstRate = new Map<string, string>();
    for (const { raw } of readRatesFile(join(dir, 'events', 'fx_rates.csv')))
      if (!firstRate.has(text(raw, 'currency'))) firstRate.set(text(raw, 'currency'), text(raw, 'date'));
    for (const r of rows.filter((row) => row.currency !== 'USD'))
      expect(r.date >= (firstRate.get(r.currency) ?? '9999')).toBe(true);

    const zeroDays = new Set(rows.filter((r) => r.amount === 0n).map((r) => `${r.date} ${r.channel}`));
    expect(zeroDays.size).toBeGreaterThanOrEqual(2);

    const book = createSpendBook();
    const outcomes = rows.map((r) => book.add(r));
    expect(outcomes).not.toContain('conflict');
    const byKey = new Map<string, typeof rows>();
    for (const r of rows) {
      const key = `${r.date} ${r.channel} ${r.campaign}`;
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    const corrected = [...byKey.values()].filter((list) => list.length > 1);
    expect(corrected.length).toBeGreaterThan(0);
    for (const list of corrected) {
      expect(list).toHaveLength(2);
      const [original, correction] = list;
      if (original === undefined || correction === undefined) continue;
      expect(correction.updatedAt).toBeGreaterThan(original.updatedAt);
      expect(correction.amount).not.toBe(original.amount);
      expect(correction.currency).toBe(original.currency);
      // The later one wins.
      expect(book.get(original.date, original.channel, original.campaign)?.amount).toBe(correction.amount);
    }
  });

  it('leaves the challenge CSVs without the new columns, and --no-dimensions without any of it', () => {
    const challenge = (d: string): Record<string, string> =>
      Object.fromEntries(Object.entries(files(d)).filter(([file]) => file.startsWith('challenge/')));
    expect(challenge(dir)).toEqual(challenge(plain));
    expect(Object.keys(challenge(dir)).some((file) => file.includes('spend'))).toBe(false);
    for (const content of Object.values(challenge(dir))) {
      const header = content.split('\r\n')[0] ?? '';
      for (const field of [...NEW_FIELDS, 'campaign_id']) expect(header).not.toContain(field);
    }
    expect(existsSync(join(plain, 'events', 'spend.csv'))).toBe(false);
    const plainRecords = [...readEventsDir(join(plain, 'events'))].flatMap((r) =>
      r.kind === 'malformed' ? [] : [r.raw],
    );
    for (const raw of plainRecords) for (const field of NEW_FIELDS) expect(raw[field]).toBeUndefined();
    expect(records(plain, 'contact')).toHaveLength(400);
  });
});

describe('generated stage mix (in memory, 3 000 opportunities)', () => {
  type OpportunityRow = Extract<GeneratedRow, { kind: 'opportunity' }>;
  const options = {
    ...DEFAULT_GENERATE,
    seed: 9,
    contacts: 3_000,
    opportunities: 3_000,
    touches: 5_000,
    updateRate: 0.1,
  };

  it('closes about 25 % won and 20 % lost as of the latest version, 7 to 120 days after creation and within the data', () => {
    const latest = new Map<string, OpportunityRow>();
    let explicitOpen = 0;
    let absentOpen = 0;
    const end = Date.parse(options.start) + options.days * MS_PER_DAY;
    for (const row of generateRows(options)) {
      if (row.kind !== 'opportunity') continue;
      const known = latest.get(row.fields.opportunity_id);
      if (known === undefined || instant(row.fields.updated_at) > instant(known.fields.updated_at))
        latest.set(row.fields.opportunity_id, row);
      const { stage, closed_at: closedAt } = row.dimensions ?? {};
      if (stage === 'open') explicitOpen += 1;
      if (stage === undefined) absentOpen += 1;
      if (closedAt === undefined) {
        expect([undefined, 'open']).toContain(stage);
        continue;
      }
      const days = (instant(closedAt) - instant(row.fields.created_at)) / MS_PER_DAY;
      if (Number.isNaN(days)) continue; // a dirty created_at
      expect(days).toBeGreaterThanOrEqual(7);
      expect(days).toBeLessThanOrEqual(120);
      expect(instant(closedAt)).toBeLessThanOrEqual(end);
    }
    expect(explicitOpen).toBeGreaterThan(0);
    expect(absentOpen).toBeGreaterThan(0);
    const count = (stage: string): number =>
      [...latest.values()].filter((r) => (r.dimensions?.stage ?? 'open') === stage).length;
    const share = (stage: string): number => count(stage) / latest.size;
    expect(latest.size).toBe(3_000);
    expect(share('closed_won')).toBeGreaterThan(0.2);
    expect(share('closed_won')).toBeLessThan(0.3);
    expect(share('closed_lost')).toBeGreaterThan(0.15);
    expect(share('closed_lost')).toBeLessThan(0.25);
    expect(share('open')).toBeGreaterThan(0.45);
  });
});
