import { MS_PER_DAY } from '../../domain/time.js';
import { createRandom, type Random } from './random.js';

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
};

export type GeneratedRow =
  | {
      readonly kind: 'contact';
      readonly fields: { contact_id: string; account_id: string | null; updated_at: string };
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
    };

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

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

export function* generateRows(options: GenerateOptions): Generator<GeneratedRow> {
  const random = createRandom(options.seed);
  const start = Date.parse(options.start);
  const span = options.days * MS_PER_DAY;
  const accounts = Math.max(1, Math.ceil(options.contacts / 3.3));
  const accountOf: string[] = [];
  const contactsByAccount = new Map<number, number[]>();

  for (let c = 0; c < options.contacts; c += 1) {
    // Skewed: low account numbers get more contacts, as big customers do.
    const account = Math.floor(accounts * Math.pow(random.next(), 1.6));
    accountOf.push(`AC${pad(account, 9)}`);
    const members = contactsByAccount.get(account);
    if (members === undefined) contactsByAccount.set(account, [c]);
    else members.push(c);
    const detached = random.chance(0.002);
    yield {
      kind: 'contact',
      fields: {
        contact_id: `CO${pad(c, 9)}`,
        account_id: detached ? null : `AC${pad(account, 9)}`,
        updated_at: iso(start),
      },
    };
  }

  const opportunityTimes: { account: number; createdAt: number }[] = [];
  for (let o = 0; o < options.opportunities; o += 1) {
    const account = random.int(accounts);
    const createdAt = start + 90 * MS_PER_DAY + random.int(Math.max(1, span - 90 * MS_PER_DAY));
    opportunityTimes.push({ account, createdAt });
    const fields = {
      opportunity_id: `OP${pad(o, 9)}`,
      account_id: `AC${pad(account, 9)}`,
      amount: amount(random),
      created_at: iso(createdAt),
      sales_segment: random.weighted(SEGMENTS),
      updated_at: iso(createdAt),
    };
    yield { kind: 'opportunity', fields: dirtyOpportunity(random, options.dirtyRate, fields), update: false };
    if (random.chance(options.updateRate)) {
      const later = iso(createdAt + random.int(30 * MS_PER_DAY) + 1000);
      yield {
        kind: 'opportunity',
        fields: { ...fields, amount: amount(random), updated_at: later },
        update: true,
      };
    }
  }

  yield* generateTouches(random, options, { start, span, accountOf, contactsByAccount, opportunityTimes });
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
      previous = { kind: 'touch', fields: dirtyTouch(random, options.dirtyRate, fields) };
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
