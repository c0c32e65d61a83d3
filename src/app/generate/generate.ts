import type { TAG_FIELDS } from '../../domain/events.js';
import { MS_PER_DAY } from '../../domain/time.js';
import { iso, pad } from './format.js';
import { createRandom, deriveSeed, type Random } from './random.js';
import { generateSpend, PAID_CHANNEL_NAMES, type SpendFields } from './spend.js';
import { contactLead, stagePlan, type ContactLead, type StageFields, type StagePlan } from './stages.js';

/**
 * Synthetic CRM and touch data, seeded and deterministic, shaped like the real thing: accounts
 * with several contacts, touches in bursts before opportunities, a long tail of amounts with
 * nine decimals, and a small share of dirty rows of every kind Touchline must refuse.
 */
export interface GenerateOptions {
  readonly seed: number;
  readonly contacts: number;
  readonly opportunities: number;
  readonly touches: number;
  /** Share of rows made dirty (bad date, null contact, negative amount, ...). */
  readonly dirtyRate: number;
  /** Share of opportunities that also get a later update (events format only). */
  readonly updateRate: number;
  readonly start: string;
  readonly days: number;
  /**
   * Reporting dimensions, events format only: campaigns and UTM fields on touches (some with no
   * channel, for the channel rules to place), opportunities in several currencies, and the FX
   * rates they need; contacts' lead_created_at, opportunities' stage and closed_at (some closed by
   * a later version), and marketing spend (stages.ts, spend.ts). They come from streams of their
   * own, so the rows both formats share, and so the challenge CSVs, are the same bytes either way;
   * off, the events files are as they were before dimensions existed (benchmarks compare against
   * those).
   */
  readonly dimensions: boolean;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  seed: 42,
  contacts: 8_000,
  opportunities: 2_000,
  touches: 30_000,
  dirtyRate: 0.005,
  updateRate: 0,
  start: '2024-01-01T00:00:00Z',
  days: 540,
  dimensions: true,
};

type TagField = (typeof TAG_FIELDS)[number];

/** What the events copy of a touch adds to the fields both formats carry. */
export interface TouchDimensions {
  /** The events copy has no channel: the channel rules place it by its UTM fields. */
  readonly utmOnly: boolean;
  readonly tags: Partial<Record<TagField, string>>;
}

export type GeneratedRow =
  | {
      readonly kind: 'contact';
      readonly fields: ContactFields;
      /** A later version of a contact already emitted (events format only). */
      readonly update?: boolean;
      /** Events format only: when the contact became a lead. */
      readonly dimensions?: { readonly lead_created_at: string };
    }
  | {
      readonly kind: 'touch';
      readonly fields: {
        touchpoint_id: string;
        source: 'marketing' | 'sales';
        channel: string;
        contact_id: string | null;
        occurred_at: string;
      };
      /** Events format only; `fields.channel` is what the challenge CSV carries. */
      readonly dimensions?: TouchDimensions;
    }
  | {
      readonly kind: 'opportunity';
      readonly fields: {
        opportunity_id: string;
        account_id: string;
        amount: string;
        created_at: string;
        sales_segment: string;
        updated_at: string;
      };
      /** An update is a later version of an opportunity already emitted (events format only). */
      readonly update: boolean;
      /**
       * Events format only: the currency, and the amount in it (`fields.amount` is the CSV's); the
       * stage and closed_at when written (absent stage = open).
       */
      readonly dimensions?: OpportunityDimensions;
    }
  | {
      /** An FX rate row (events format only): 1 `currency` = `rate` USD on `date`. */
      readonly kind: 'rate';
      readonly fields: { date: string; currency: string; rate: string };
    }
  | {
      /** A marketing spend row (events format only, spend.csv). */
      readonly kind: 'spend';
      readonly fields: SpendFields;
    };

interface ContactFields {
  contact_id: string;
  account_id: string | null;
  updated_at: string;
}

export type OpportunityDimensions = { readonly currency: string; readonly amount: string } & StageFields;

const MARKETING_CHANNELS: readonly (readonly [string, number])[] = [
  ['Website', 30],
  ['Webinar', 25],
  ['Adwords', 25],
  ['Event', 15],
  ['Paid Social', 5],
];
const SEGMENTS: readonly (readonly [string, number])[] = [
  ['Commercial', 70],
  ['Mid Market', 13],
  ['Enterprise', 17],
];

/** Opportunities are created from this day of the data on, so their first have a full window. */
const FIRST_OPPORTUNITY_DAY = 90;

export function* generateRows(options: GenerateOptions): Generator<GeneratedRow> {
  const random = createRandom(options.seed);
  const start = Date.parse(options.start);
  const span = options.days * MS_PER_DAY;
  const accounts = Math.max(1, Math.ceil(options.contacts / 3.3));
  const accountOf: string[] = [];
  const contactsByAccount = new Map<number, number[]>();
  const dimensions = options.dimensions
    ? createDimensions(options.seed, accounts, { start, span, days: options.days })
    : undefined;
  // With dimensions, a contact's lead is placed against its account's opportunities, so the
  // contacts are emitted after those (each kind has a file of its own: the order is not seen).
  const deferred = { accounts: [] as number[], detached: new Set<number>() };

  for (let c = 0; c < options.contacts; c += 1) {
    // Skewed: low account numbers get more contacts, as big customers do.
    const account = Math.floor(accounts * Math.pow(random.next(), 1.6));
    accountOf.push(`AC${pad(account, 9)}`);
    const members = contactsByAccount.get(account);
    if (members === undefined) contactsByAccount.set(account, [c]);
    else members.push(c);
    const detached = random.chance(0.002);
    if (dimensions === undefined) {
      yield { kind: 'contact', fields: contactFields(c, account, detached, start) };
      continue;
    }
    deferred.accounts.push(account);
    if (detached) deferred.detached.add(c);
  }

  const opportunityTimes: { account: number; createdAt: number }[] = [];
  const closings: GeneratedRow[] = [];
  for (let o = 0; o < options.opportunities; o += 1) {
    const account = random.int(accounts);
    const earliest = FIRST_OPPORTUNITY_DAY * MS_PER_DAY;
    const createdAt = start + earliest + random.int(Math.max(1, span - earliest));
    opportunityTimes.push({ account, createdAt });
    const fields = {
      opportunity_id: `OP${pad(o, 9)}`,
      account_id: `AC${pad(account, 9)}`,
      amount: amount(random),
      created_at: iso(createdAt),
      sales_segment: random.weighted(SEGMENTS),
      updated_at: iso(createdAt),
    };
    const created = dirtyOpportunity(random, options.dirtyRate, fields);
    const plan = dimensions?.stage(createdAt);
    yield {
      kind: 'opportunity',
      fields: created,
      update: false,
      dimensions: dimensions?.opportunity(account, created, plan?.first),
    };
    let latest = { fields, at: createdAt };
    if (random.chance(options.updateRate)) {
      const laterMs = createdAt + random.int(30 * MS_PER_DAY) + 1000;
      const update = { ...fields, amount: amount(random), updated_at: iso(laterMs) };
      latest = { fields: update, at: laterMs };
      yield {
        kind: 'opportunity',
        fields: update,
        update: true,
        dimensions: dimensions?.opportunity(account, update, plan?.first),
      };
    }
    if (dimensions !== undefined && plan?.later !== undefined)
      closings.push(closingVersion(dimensions, account, latest, plan.later));
  }

  if (dimensions !== undefined) {
    // Closed after they were created: later versions, as a CRM's change feed sends them.
    yield* closings;
    yield* leadContacts(dimensions, deferred, firstOpportunities(opportunityTimes), start);
  }
  const world = { start, span, accountOf, contactsByAccount, opportunityTimes };
  yield* generateTouches(random, options, world, dimensions);
  if (dimensions !== undefined) {
    yield* dimensions.rates(start, options.days);
    yield* dimensions.spend();
  }
}

const contactFields = (c: number, account: number, detached: boolean, start: number): ContactFields => ({
  contact_id: `CO${pad(c, 9)}`,
  account_id: detached ? null : `AC${pad(account, 9)}`,
  updated_at: iso(start),
});

/** The version that closes an opportunity: its latest fields, stamped after closing and after them. */
function closingVersion(
  dimensions: Dimensions,
  account: number,
  latest: { fields: OpportunityFields; at: number },
  later: NonNullable<StagePlan['later']>,
): GeneratedRow {
  const at = Math.max(later.closedAt, latest.at) + later.stampDelay;
  const fields = { ...latest.fields, updated_at: iso(at) };
  return {
    kind: 'opportunity',
    fields,
    update: true,
    dimensions: dimensions.opportunity(account, fields, later.fields),
  };
}

/** Each account's first opportunity (created_at, ms). */
function firstOpportunities(times: readonly { account: number; createdAt: number }[]): Map<number, number> {
  const first = new Map<number, number>();
  for (const { account, createdAt } of times)
    first.set(account, Math.min(createdAt, first.get(account) ?? Infinity));
  return first;
}

/** The contacts with their leads; a contact with a later version keeps its lead in it. */
function* leadContacts(
  dimensions: Dimensions,
  contacts: { readonly accounts: readonly number[]; readonly detached: ReadonlySet<number> },
  firstOpportunity: ReadonlyMap<number, number>,
  start: number,
): Generator<GeneratedRow> {
  for (const [c, account] of contacts.accounts.entries()) {
    const detached = contacts.detached.has(c);
    const fields = contactFields(c, account, detached, start);
    const lead = dimensions.lead(detached ? undefined : firstOpportunity.get(account));
    if (lead.leadCreatedAt === undefined) {
      yield { kind: 'contact', fields };
      continue;
    }
    const leadFields = { lead_created_at: lead.leadCreatedAt };
    yield { kind: 'contact', fields, dimensions: leadFields };
    if (lead.updatedAt !== undefined)
      yield {
        kind: 'contact',
        fields: { ...fields, updated_at: lead.updatedAt },
        update: true,
        dimensions: leadFields,
      };
  }
}

function* generateTouches(
  random: Random,
  options: GenerateOptions,
  world: {
    start: number;
    span: number;
    accountOf: readonly string[];
    contactsByAccount: ReadonlyMap<number, number[]>;
    opportunityTimes: readonly { account: number; createdAt: number }[];
  },
  dimensions: Dimensions | undefined,
): Generator<GeneratedRow> {
  let emitted = 0;
  let previous: GeneratedRow | null = null;
  while (emitted < options.touches) {
    // Most bursts lead up to an opportunity on the same account; the rest are background noise.
    const target =
      world.opportunityTimes.length > 0 && random.chance(0.6) ? random.pick(world.opportunityTimes) : null;
    const contacts = target === null ? undefined : world.contactsByAccount.get(target.account);
    const contact =
      contacts !== undefined && contacts.length > 0
        ? random.pick(contacts)
        : random.int(Math.max(1, options.contacts));
    const anchor =
      target === null
        ? world.start + random.int(world.span)
        : target.createdAt - random.int(120 * MS_PER_DAY);
    const burst = 1 + random.int(5);
    for (let b = 0; b < burst && emitted < options.touches; b += 1) {
      emitted += 1;
      if (previous !== null && random.chance(options.dirtyRate / 2)) {
        yield previous; // an exact redelivery
        continue;
      }
      const sales = random.chance(0.55);
      const occurredAt = anchor + random.int(10 * MS_PER_DAY) - 5 * MS_PER_DAY;
      const fields = {
        touchpoint_id: `${sales ? 'SA' : 'MK'}${pad(emitted, 10)}`,
        source: sales ? ('sales' as const) : ('marketing' as const),
        channel: sales ? 'Outbound' : random.weighted(MARKETING_CHANNELS),
        contact_id: options.contacts === 0 ? null : `CO${pad(contact, 9)}`,
        occurred_at: iso(occurredAt),
      };
      const touch = dirtyTouch(random, options.dirtyRate, fields);
      // Set before a redelivery copies it, so a redelivered touch has the same dimensions.
      previous = { kind: 'touch', fields: touch, dimensions: dimensions?.touch(touch, occurredAt) };
      yield previous;
    }
  }
}

/** Long-tailed amounts with nine decimals, like list prices divided by odd numbers. */
function amount(random: Random): string {
  const whole = Math.floor(Math.exp(4 + random.next() * 9));
  return `${whole}.${pad(random.int(1_000_000_000), 9)}`;
}

type TouchFields = Extract<GeneratedRow, { kind: 'touch' }>['fields'];
type OpportunityFields = Extract<GeneratedRow, { kind: 'opportunity' }>['fields'];

function dirtyTouch(random: Random, rate: number, fields: TouchFields): TouchFields {
  if (!random.chance(rate)) return fields;
  switch (random.int(4)) {
    case 0:
      return { ...fields, contact_id: null };
    case 1:
      return { ...fields, contact_id: `CO-UNKNOWN-${fields.touchpoint_id}` };
    case 2:
      return { ...fields, occurred_at: fields.occurred_at.replace('T', ' at ') };
    default:
      return { ...fields, channel: 'Carrier Pigeon' };
  }
}

function dirtyOpportunity(random: Random, rate: number, fields: OpportunityFields): OpportunityFields {
  if (!random.chance(rate)) return fields;
  switch (random.int(3)) {
    case 0:
      return { ...fields, amount: `-${fields.amount}` };
    case 1:
      return { ...fields, created_at: '2021-02-30T10:00:00Z' };
    default:
      return { ...fields, sales_segment: 'Galactic' };
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting dimensions (events format only), each drawn from a stream of its own (deriveSeed).

/** A (source, medium) pair as marketing tools tag landing URLs. */
type Utm = readonly [source: string, medium: string];

/**
 * Per marketing channel: the share of its touches that name a campaign, and UTM pairs the shipped
 * rules (config/channel-rules.yaml) map back to that same channel — so a touch that carries only
 * its UTM fields lands where the challenge CSV, which keeps the channel, puts it.
 */
const MARKETING_TAGS: Readonly<Record<string, { campaignShare: number; utm: readonly Utm[] }>> = {
  Website: {
    campaignShare: 0.6,
    utm: [
      ['blog', 'website'],
      ['resources', 'web'],
    ],
  },
  Webinar: {
    campaignShare: 0.95,
    utm: [
      ['on24', 'webinar'],
      ['zoom', 'webinar'],
      ['goto', 'webcast'],
    ],
  },
  Adwords: {
    campaignShare: 0.95,
    utm: [
      ['google', 'cpc'],
      ['google', 'ppc'],
      ['adwords', 'cpc'],
    ],
  },
  Event: {
    campaignShare: 0.9,
    utm: [
      ['saastr', 'event'],
      ['booth-scan', 'trade-show'],
      ['dreamforce', 'conference'],
    ],
  },
  'Paid Social': {
    campaignShare: 0.95,
    utm: [
      ['facebook', 'paid social'],
      ['linkedin', 'paid_social'],
      ['linkedin', 'cpc'],
    ],
  },
};
/** Pairs no shipped rule matches: such a touch is Unassigned (notice unmapped_channel). */
const UNMAPPED_UTM: readonly Utm[] = [
  ['(not set)', '(not set)'],
  ['qr-code', 'print'],
  ['postcard', 'direct-mail'],
  ['g2', 'review'],
];
/** Shares of marketing touches that carry UTM fields and no channel: rule-placed, and unmapped. */
const UTM_ONLY_SHARE = 0.12;
const UNMAPPED_SHARE = 0.015;
/** Sales outreach rarely belongs to a campaign: an SDR sequence now and then. */
const SALES_CAMPAIGN_SHARE = 0.05;
const SALES_UTM: Utm = ['outreach', 'sdr'];

/** Campaign themes per channel; a quarter runs two of its channel's, named "2024-Q1 <theme>". */
const CAMPAIGN_THEMES: Readonly<Record<string, readonly string[]>> = {
  Website: ['Pricing Page Offer', 'State of B2B Attribution Ebook', 'Free Trial Drive'],
  Webinar: ['Webinar Series', 'Product Deep-Dive Webinars', 'Customer Stories Live'],
  Adwords: ['Brand Search', 'Competitor Keywords', 'Attribution Keywords'],
  Event: ['Field Roadshow', 'Trade Show Booth', 'Executive Dinners'],
  'Paid Social': ['LinkedIn Lead Gen', 'Retargeting Carousel', 'Thought Leadership Ads'],
  Outbound: ['SDR Outbound Sequence', 'Enterprise ABM Plays', 'Win-Back Sequence'],
};

/** Opportunity currencies by account (weights in %): USD first, as for a US-based seller. */
const CURRENCIES: readonly (readonly [string, number])[] = [
  ['USD', 64],
  ['EUR', 16],
  ['GBP', 10],
  ['CAD', 6],
  ['JPY', 4],
];
/**
 * Each rate's level, in millionths of a USD (rates have 6 decimals), around which it walks;
 * roughly where each stood in 2024.
 */
const FX_ANCHORS: readonly (readonly [string, bigint])[] = [
  ['EUR', 1_085_000n],
  ['GBP', 1_270_000n],
  ['CAD', 740_000n],
  ['JPY', 6_700n],
];
/**
 * GBP rates start 45 days after the first opportunity can be created (opportunities start 90 days
 * into the data), or halfway through the opportunities' span if that is sooner. GBP opportunities
 * of those first days have no usable rate: they demonstrate pending_fx (counted, not credited).
 */
const LATE_RATES = { currency: 'GBP', afterFirstOpportunityDays: 45 } as const;
/** Yen amounts are re-expressed at a round 150 yen a dollar, in whole yen (no minor unit). */
const YEN_PER_DOLLAR = 150n;
const NANOS = 1_000_000_000n;

interface Campaign {
  readonly id: string;
  readonly name: string;
}

interface Dimensions {
  touch(fields: TouchFields, occurredAt: number): TouchDimensions | undefined;
  opportunity(
    account: number,
    fields: OpportunityFields,
    stage: StageFields | undefined,
  ): OpportunityDimensions;
  /** The stage of an opportunity created at `createdAt` (ms), and whether a later version closes it. */
  stage(createdAt: number): StagePlan;
  /** The next contact's lead, against its account's first opportunity (ms), if any. */
  lead(firstOpportunity: number | undefined): ContactLead;
  rates(startMs: number, days: number): Generator<GeneratedRow>;
  /** Spend over the days of the touches seen so far: call after the last touch. */
  spend(): Generator<GeneratedRow>;
}

function createDimensions(
  seed: number,
  accounts: number,
  data: { readonly start: number; readonly span: number; readonly days: number },
): Dimensions {
  const tagging = createRandom(deriveSeed(seed, 'touch-tags'));
  const campaigns = createCampaignCatalogue(createRandom(deriveSeed(seed, 'campaigns')));
  const currencies = createRandom(deriveSeed(seed, 'currencies'));
  const stages = createRandom(deriveSeed(seed, 'stages'));
  const leads = createRandom(deriveSeed(seed, 'leads'));
  // One currency per account, as a customer contracts in its own currency.
  const currencyOf = Array.from({ length: accounts }, () => currencies.weighted(CURRENCIES));
  // What spend may name: the paid channels and the campaign ids touches carry, over their days.
  const touched = {
    first: Infinity,
    last: -Infinity,
    channels: new Set<string>(),
    campaigns: new Set<string>(),
  };
  return {
    touch: (fields, occurredAt) => {
      touched.first = Math.min(touched.first, occurredAt);
      touched.last = Math.max(touched.last, occurredAt);
      if (fields.source === 'marketing' && PAID_CHANNEL_NAMES.includes(fields.channel))
        touched.channels.add(fields.channel);
      const tags = touchDimensions(tagging, campaigns.of, fields, quarterOf(occurredAt));
      if (tags?.tags.campaign_id !== undefined) touched.campaigns.add(tags.tags.campaign_id);
      return tags;
    },
    opportunity: (account, fields, stage) => {
      const currency = currencyOf[account] ?? 'USD';
      return { currency, amount: currency === 'JPY' ? inYen(fields.amount) : fields.amount, ...stage };
    },
    stage: (createdAt) => stagePlan(stages, createdAt, data.start + data.span),
    lead: (firstOpportunity) => contactLead(leads, firstOpportunity, data),
    rates: (startMs, days) => fxRates(createRandom(deriveSeed(seed, 'fx-rates')), startMs, days),
    spend: function* () {
      const rows = generateSpend(createRandom(deriveSeed(seed, 'spend')), {
        firstTouch: touched.first,
        lastTouch: touched.last,
        channels: touched.channels,
        campaignsOn: (dayMs, channel) =>
          campaigns.existing(quarterOf(dayMs), channel).filter((c) => touched.campaigns.has(c.id)),
        convertibleFrom: (currency) => firstRateDay(currency, data.start, data.days),
      });
      for (const fields of rows) yield { kind: 'spend', fields };
    },
  };
}

function touchDimensions(
  random: Random,
  campaignsOf: (quarter: string, channel: string) => readonly Campaign[],
  fields: TouchFields,
  quarter: string,
): TouchDimensions | undefined {
  const roll = random.next();
  const campaign = (channel: string): Campaign => random.pick(campaignsOf(quarter, channel));
  if (fields.source === 'sales') {
    if (roll >= SALES_CAMPAIGN_SHARE) return undefined;
    return { utmOnly: false, tags: campaignTags(campaign('Outbound'), SALES_UTM) };
  }
  const tagging = MARKETING_TAGS[fields.channel];
  if (tagging === undefined) return undefined; // a dirty channel stays as it is, untagged
  if (roll < UNMAPPED_SHARE) {
    const [utm_source, utm_medium] = random.pick(UNMAPPED_UTM);
    return { utmOnly: true, tags: { utm_source, utm_medium } };
  }
  if (roll < UNMAPPED_SHARE + UTM_ONLY_SHARE) {
    // A landing-page visit: the UTM text of the campaign, not the CRM's campaign record.
    const { utm_source, utm_medium, utm_campaign } = campaignTags(
      campaign(fields.channel),
      random.pick(tagging.utm),
    );
    return { utmOnly: true, tags: { utm_source, utm_medium, utm_campaign } };
  }
  if (!random.chance(tagging.campaignShare)) return undefined;
  return { utmOnly: false, tags: campaignTags(campaign(fields.channel), random.pick(tagging.utm)) };
}

const campaignTags = (campaign: Campaign, [utm_source, utm_medium]: Utm): TouchDimensions['tags'] => ({
  campaign_id: campaign.id,
  campaign_name: campaign.name,
  utm_source,
  utm_medium,
  utm_campaign: campaign.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
});

/**
 * Campaigns by calendar quarter and channel, made the first time a quarter's channel is asked
 * for (the asking order is itself seeded, so the ids are deterministic): CMP-0001, CMP-0002, ...
 * `existing` looks up without making one.
 */
function createCampaignCatalogue(random: Random): {
  of: (quarter: string, channel: string) => readonly Campaign[];
  existing: (quarter: string, channel: string) => readonly Campaign[];
} {
  const catalogue = new Map<string, readonly Campaign[]>();
  let next = 1;
  return {
    of: (quarter, channel) => {
      const key = `${quarter} ${channel}`;
      const known = catalogue.get(key);
      if (known !== undefined) return known;
      const themes = [...(CAMPAIGN_THEMES[channel] ?? [channel])];
      const running = [0, 1].flatMap(() => themes.splice(random.int(themes.length), 1));
      const made = running.map((theme) => ({ id: `CMP-${pad(next++, 4)}`, name: `${quarter} ${theme}` }));
      catalogue.set(key, made);
      return made;
    },
    existing: (quarter, channel) => catalogue.get(`${quarter} ${channel}`) ?? [],
  };
}

const quarterOf = (ms: number): string => {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
};

/** Whole yen for a nine-decimal dollar-sized amount, exactly (bigint); a dirty amount stays dirty. */
function inYen(amount: string): string {
  const match = /^(\d+)\.(\d{9})$/.exec(amount);
  if (match === null) return amount;
  const nanos = BigInt(match[1] ?? '0') * NANOS + BigInt(match[2] ?? '0');
  return ((nanos * YEN_PER_DOLLAR) / NANOS).toString();
}

/**
 * Business-day rates (Monday to Friday, as central banks publish them; a weekend opportunity
 * takes Friday's by the latest-date rule) from the first day of the data to its last. Each rate
 * is a random walk in integer millionths: a daily step of up to ±0.6 % (two uniform draws, so
 * small steps are likelier), pulled back 1 % of the way to its anchor so it stays realistic.
 */
function* fxRates(random: Random, startMs: number, days: number): Generator<GeneratedRow> {
  const firstDay = Math.floor(startMs / MS_PER_DAY) * MS_PER_DAY;
  const levels = FX_ANCHORS.map(([, anchor]) => anchor);
  const lateFrom = lateRatesFromDay(days);
  for (let day = 0; day <= days; day += 1) {
    const date = new Date(firstDay + day * MS_PER_DAY);
    if (isWeekend(date)) continue;
    for (const [i, [currency, anchor]] of FX_ANCHORS.entries()) {
      const level = levels[i] ?? anchor;
      const stepPpm = BigInt(random.int(6_001) + random.int(6_001) - 6_000);
      const moved = level + (level * stepPpm) / 1_000_000n + (anchor - level) / 100n;
      levels[i] = moved < 1n ? 1n : moved;
      if (currency === LATE_RATES.currency && day < lateFrom) continue;
      yield {
        kind: 'rate',
        fields: { date: date.toISOString().slice(0, 10), currency, rate: micros(levels[i] ?? anchor) },
      };
    }
  }
}

const lateRatesFromDay = (days: number): number =>
  FIRST_OPPORTUNITY_DAY +
  Math.min(LATE_RATES.afterFirstOpportunityDays, Math.floor((days - FIRST_OPPORTUNITY_DAY) / 2));
const isWeekend = (date: Date): boolean => date.getUTCDay() === 0 || date.getUTCDay() === 6;

/**
 * The first day (ms) fx_rates.csv has a rate for `currency` (USD needs none: -Infinity; one
 * without rates: Infinity), so that no spend row waits for a rate.
 */
function firstRateDay(currency: string, startMs: number, days: number): number {
  if (currency === 'USD') return -Infinity;
  if (!FX_ANCHORS.some(([code]) => code === currency)) return Infinity;
  const firstDay = Math.floor(startMs / MS_PER_DAY) * MS_PER_DAY;
  for (let day = currency === LATE_RATES.currency ? lateRatesFromDay(days) : 0; day <= days; day += 1) {
    const ms = firstDay + day * MS_PER_DAY;
    if (!isWeekend(new Date(ms))) return ms;
  }
  return Infinity;
}

const micros = (value: bigint): string => `${value / 1_000_000n}.${pad6(value % 1_000_000n)}`;
const pad6 = (value: bigint): string => value.toString().padStart(6, '0');
