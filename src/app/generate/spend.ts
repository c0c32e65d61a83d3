/**
 * Marketing spend for the events format (`spend.csv`, SPEC "Stage models, revenue and spend"):
 * one row per day and paid channel over the span of the touches, per campaign where ad platforms
 * report so, in exact cents, mostly in USD; a few corrections (a later row for the same key, a
 * different amount) and a short pause at 0.00. From a stream of its own (deriveSeed).
 */
import { MS_PER_DAY } from '../../domain/time.js';
import { iso, pad } from './format.js';
import type { Random } from './random.js';

/** One spend row as the file carries it (campaign_id null = spend on the channel as a whole). */
export interface SpendFields {
  readonly date: string;
  readonly channel: string;
  readonly campaign_id: string | null;
  readonly amount: string;
  readonly currency: string;
  readonly updated_at: string;
}

/**
 * The channels that cost money per day, with how their platforms report and a daily amount in
 * cents. Website (owned) and Outbound (sales salaries, not marketing spend) have none.
 */
const PAID_CHANNELS: readonly (readonly [string, { perCampaign: boolean; cents: (r: Random) => number }])[] =
  [
    ['Adwords', { perCampaign: true, cents: (r) => 15_000 + r.int(235_000) }],
    [
      'Event',
      { perCampaign: false, cents: (r) => (r.chance(0.06) ? 500_000 + r.int(3_500_000) : r.int(30_000)) },
    ],
    ['Paid Social', { perCampaign: true, cents: (r) => 5_000 + r.int(120_000) }],
    ['Webinar', { perCampaign: false, cents: (r) => 2_000 + r.int(60_000) }],
  ];
export const PAID_CHANNEL_NAMES: readonly string[] = PAID_CHANNELS.map(([name]) => name);

/** Billing currencies of spend rows (weights in %): the reporting currency first. */
const SPEND_CURRENCIES: readonly (readonly [string, number])[] = [
  ['USD', 80],
  ['EUR', 12],
  ['GBP', 8],
];
/** Share of rows corrected by a later row; and the days one channel's spend pauses at 0.00. */
const CORRECTION_SHARE = 0.02;
const PAUSE_DAYS = 2;

export interface SpendInput {
  /** First and last touch instants (ms): spend covers their days. */
  readonly firstTouch: number;
  readonly lastTouch: number;
  /** Paid channels the touches used. */
  readonly channels: ReadonlySet<string>;
  /** The campaigns the touches of that day's quarter name on a channel (none: channel-level). */
  readonly campaignsOn: (dayMs: number, channel: string) => readonly { readonly id: string }[];
  /** The first day (ms) a currency can be converted on; a row before it is billed in USD. */
  readonly convertibleFrom: (currency: string) => number;
}

interface Planned {
  readonly fields: Omit<SpendFields, 'amount'>;
  readonly cents: number;
  readonly updatedAt: number;
}

/** Rows sorted by date, channel, campaign; then the corrections, each later than its original. */
export function* generateSpend(random: Random, input: SpendInput): Generator<SpendFields> {
  const channels = PAID_CHANNELS.filter(([name]) => input.channels.has(name));
  if (channels.length === 0 || input.lastTouch < input.firstTouch) return;
  const firstDay = Math.floor(input.firstTouch / MS_PER_DAY) * MS_PER_DAY;
  const days = Math.floor(input.lastTouch / MS_PER_DAY) - firstDay / MS_PER_DAY + 1;
  const paused = random.pick(channels)[0];
  const pauseFrom = random.int(Math.max(1, days - PAUSE_DAYS + 1));
  const corrections: Planned[] = [];
  let lastPaid: Planned | undefined;
  for (let day = 0; day < days; day += 1) {
    const dayMs = firstDay + day * MS_PER_DAY;
    for (const [channel, paid] of channels) {
      const campaigns = paid.perCampaign ? input.campaignsOn(dayMs, channel).map((c) => c.id) : [];
      for (const campaign of campaigns.length === 0 ? [null] : campaigns) {
        const cents = paid.cents(random);
        const currency = random.weighted(SPEND_CURRENCIES);
        const zero = channel === paused && day >= pauseFrom && day < pauseFrom + PAUSE_DAYS;
        // Ad platforms report the day's spend the next morning.
        const updatedAt = dayMs + MS_PER_DAY + 5 * 3600_000 + 1000 * random.int(3 * 3600);
        const corrected = random.chance(CORRECTION_SHARE);
        const row: Planned = {
          cents: zero ? 0 : cents,
          updatedAt,
          fields: {
            date: iso(dayMs).slice(0, 10),
            channel,
            campaign_id: campaign,
            currency: dayMs < input.convertibleFrom(currency) ? 'USD' : currency,
            updated_at: iso(updatedAt),
          },
        };
        if (!zero) lastPaid = row;
        if (corrected && !zero) corrections.push(row);
        yield { ...row.fields, amount: decimal(row.cents) };
      }
    }
  }
  // However short the span, the file shows what a correction looks like.
  if (corrections.length === 0 && lastPaid !== undefined) corrections.push(lastPaid);
  for (const row of corrections) yield correction(random, row);
}

/** The same key and currency, a later updated_at (2 to 10 days on), a different amount. */
function correction(random: Random, row: Planned): SpendFields {
  const factor = 0.7 + 0.6 * random.next();
  const cents = Math.max(0, Math.round(row.cents * factor));
  const updatedAt = row.updatedAt + (2 + random.int(9)) * MS_PER_DAY + 1000 * random.int(3600);
  return {
    ...row.fields,
    amount: decimal(cents === row.cents ? cents + 1 : cents),
    updated_at: iso(updatedAt),
  };
}

/** Cents as an exact decimal with two places. */
const decimal = (cents: number): string => `${Math.floor(cents / 100)}.${pad(cents % 100, 2)}`;
