/**
 * Marketing spend (SPEC "Stage models, revenue and spend"): rows (date, channel, optional
 * campaign, amount, currency), last writer wins by `updated_at` per (date, channel, campaign),
 * totalled per channel and period in the reporting currency. Pure: no I/O, no clock.
 */
import { compareText } from './aggregate.js';
import { convertAmount, type RateBook } from './fx.js';
import type { Nanos } from './money.js';
import type { Instant } from './time.js';
import {
  amountField,
  currencyField,
  idText,
  localDateField,
  optionalVersion,
  quoted,
  reject,
  required,
  textOf,
  type RawRecord,
  type Validated,
} from './validate.js';

export interface SpendRow {
  /** Local calendar date 'YYYY-MM-DD' in the reporting time zone. */
  readonly date: string;
  /** Canonical channel name. */
  readonly channel: string;
  /** The campaign id; null = spend on the channel as a whole. */
  readonly campaign: string | null;
  /** In `currency`, exact, ≥ 0. */
  readonly amount: Nanos;
  /** Canonical ISO 4217. */
  readonly currency: string;
  /** The row's version; 0 when the source gave none. */
  readonly updatedAt: Instant;
}

/**
 * A spend row: `date` (YYYY-MM-DD), `channel` (mapped by `channelOf` to its canonical name, null =
 * unknown), optional `campaign_id`, `amount` (decimal ≥ 0, up to 9 decimals), `currency` (ISO 4217,
 * required), optional `updated_at` (instant). A `problem` field (set by a reader for a row it
 * could not split) makes the row malformed.
 */
export function validateSpend(
  raw: RawRecord,
  channelOf: (text: string) => string | null,
): Validated<SpendRow> {
  const problem = textOf(raw, 'problem');
  if (problem !== null) return reject('malformed_record', problem);
  const date = localDateField(raw, 'date');
  if (!date.ok) return date;
  const channelText = required(raw, 'channel');
  if (!channelText.ok) return channelText;
  const channel = channelOf(channelText.value);
  if (channel === null)
    return reject(
      'unknown_channel',
      `channel ${quoted(channelText.value)} is not a known channel`,
      'channel',
    );
  const campaign = idText(raw, 'campaign_id');
  if (!campaign.ok) return campaign;
  const amount = amountField(raw, 'amount');
  if (!amount.ok) return amount;
  const currency = currencyField(raw, 'currency');
  if (!currency.ok) return currency;
  const updatedAt = optionalVersion(raw, 'updated_at');
  if (!updatedAt.ok) return updatedAt;
  return {
    ok: true,
    value: {
      date: date.value,
      channel,
      campaign: campaign.value,
      amount: amount.value,
      currency: currency.value,
      updatedAt: updatedAt.value,
    },
  };
}

/** What adding a row did: stored it, saw it already, ignored an older version, or met a rival. */
export type SpendOutcome = 'apply' | 'duplicate' | 'stale' | 'conflict';

export interface SpendTotalsOptions {
  /** The period label of a spend date (e.g. `(d) => periodOfDate(d, grain, fiscalStart)`). */
  readonly periodOf: (date: string) => string;
  readonly reportingCurrency: string;
  /** Undefined = a single-currency report: rows in another currency are pending. */
  readonly rates: RateBook | undefined;
  /** Keep campaigns apart (totals then carry `campaign`); default: summed per channel. */
  readonly byCampaign?: boolean;
}

export interface SpendTotal {
  readonly channel: string;
  readonly period: string;
  /** Present only with `byCampaign`; null = spend on the channel as a whole. */
  readonly campaign?: string | null;
  /** In the reporting currency. */
  readonly amount: Nanos;
  /** Rows summed into it. */
  readonly rows: number;
}

export interface SpendTotals {
  /** Sorted by period, channel, campaign (none first). */
  readonly totals: SpendTotal[];
  /** Rows without a usable rate yet (counted, in no total), sorted as `rows()`. */
  readonly pending: SpendRow[];
}

export interface SpendBook {
  /** Last writer wins by updatedAt; a same-version rival is a conflict, and the smaller row stays. */
  add(row: SpendRow): SpendOutcome;
  get(date: string, channel: string, campaign: string | null): SpendRow | undefined;
  /** Every stored row, sorted by date, channel, campaign (none first). */
  rows(): SpendRow[];
  readonly size: number;
  totals(options: SpendTotalsOptions): SpendTotals;
}

const SEP = '\u0000';
/** A NUL cannot occur in a campaign id, so null and every campaign get distinct keys. */
const keyOf = (date: string, channel: string, campaign: string | null): string =>
  campaign === null ? `${date}${SEP}${channel}` : `${date}${SEP}${channel}${SEP}${campaign}`;

/** Null (no campaign) before every campaign id, then code-unit order. */
export const compareCampaign = (a: string | null | undefined, b: string | null | undefined): number =>
  a === b ? 0 : a === null || a === undefined ? -1 : b === null || b === undefined ? 1 : compareText(a, b);

const compareRows = (a: SpendRow, b: SpendRow): number =>
  compareText(a.date, b.date) || compareText(a.channel, b.channel) || compareCampaign(a.campaign, b.campaign);

/**
 * Of two rows with the same key and version, the one kept: the smaller amount, then the smaller
 * currency code. A total order on content, so the winner does not depend on arrival order.
 */
const smaller = (a: SpendRow, b: SpendRow): SpendRow =>
  a.amount !== b.amount ? (a.amount < b.amount ? a : b) : compareText(a.currency, b.currency) <= 0 ? a : b;

export function createSpendBook(): SpendBook {
  const byKey = new Map<string, SpendRow>();
  const book: SpendBook = {
    add(row) {
      const key = keyOf(row.date, row.channel, row.campaign);
      const existing = byKey.get(key);
      if (existing === undefined || row.updatedAt > existing.updatedAt) {
        byKey.set(key, row);
        return 'apply';
      }
      if (row.updatedAt < existing.updatedAt) return 'stale';
      if (row.amount === existing.amount && row.currency === existing.currency) return 'duplicate';
      byKey.set(key, smaller(existing, row));
      return 'conflict';
    },
    get(date, channel, campaign) {
      return byKey.get(keyOf(date, channel, campaign));
    },
    rows() {
      return [...byKey.values()].sort(compareRows);
    },
    get size() {
      return byKey.size;
    },
    totals(options) {
      return spendTotals(book.rows(), options);
    },
  };
  return book;
}

/**
 * Spend per (channel, period[, campaign]) in the reporting currency, each row converted on its own
 * date with the latest rate dated on or before it (rounded half-even to the nano), then summed.
 * Rows without such a rate are returned as pending, never dropped silently.
 */
export function spendTotals(rows: Iterable<SpendRow>, options: SpendTotalsOptions): SpendTotals {
  const { periodOf, reportingCurrency, rates, byCampaign = false } = options;
  if (rates !== undefined && rates.reportingCurrency !== reportingCurrency)
    throw new RangeError(
      `spendTotals: the rate book converts to ${rates.reportingCurrency}, not ${reportingCurrency}`,
    );
  const totals = new Map<string, { -readonly [K in keyof SpendTotal]: SpendTotal[K] }>();
  const pending: SpendRow[] = [];
  for (const row of rows) {
    const amount = inReportingCurrency(row, reportingCurrency, rates);
    if (amount === null) {
      pending.push(row);
      continue;
    }
    const period = periodOf(row.date);
    const campaign = byCampaign ? row.campaign : undefined;
    const key = keyOf(period, row.channel, campaign ?? null);
    const total = totals.get(key);
    if (total === undefined)
      totals.set(key, {
        channel: row.channel,
        period,
        ...(byCampaign ? { campaign: row.campaign } : {}),
        amount,
        rows: 1,
      });
    else {
      total.amount += amount;
      total.rows += 1;
    }
  }
  const sorted = [...totals.values()].sort(
    (a, b) =>
      compareText(a.period, b.period) ||
      compareText(a.channel, b.channel) ||
      compareCampaign(a.campaign, b.campaign),
  );
  return { totals: sorted, pending: pending.sort(compareRows) };
}

function inReportingCurrency(
  row: SpendRow,
  reportingCurrency: string,
  rates: RateBook | undefined,
): Nanos | null {
  if (row.currency === reportingCurrency) return row.amount;
  if (rates === undefined) return null;
  const conversion = convertAmount(row.amount, row.currency, row.date, rates);
  return conversion.kind === 'converted' ? conversion.amount : null;
}
