// How an answer is stored: credits as JSON with amounts as exact decimal text (never a JS number)
// and instants as epoch milliseconds; a row read back decodes to the same ModelAnswer.
import type { ModelAnswer } from '../../domain/answer.js';
import type { Credit, OriginalAmount } from '../../domain/attribute.js';
import { parseRate } from '../../domain/fx.js';
import { formatNanos, parseAmount, type Nanos } from '../../domain/money.js';
import { AppError } from '../../errors.js';

/** An opportunity_answer row as loadAnswers selects it (amount as text, created_at as epoch ms). */
export interface AnswerRow {
  opportunity_id: string;
  model: string;
  revision: number;
  deleted: boolean;
  account_id: string | null;
  sales_segment: string | null;
  amount: string | null;
  created_at_ms: number | null;
  credits: unknown;
  original_amount: string | null;
  original_currency: string | null;
  fx_rate: string | null;
  fx_rate_date: string | null;
  channel_rules_version: string | null;
}

/** One element of opportunity_answer.credits: the amount as exact decimal text, the instant as epoch ms. */
export interface StoredCredit {
  readonly touchpointId: string | null;
  readonly channel: string;
  readonly occurredAt: number | null;
  readonly amount: string;
  /** Present only when the credited touch has a campaign. */
  readonly campaign?: string;
}

/** Credits as stored in opportunity_answer.credits, as plain values for JSON (never a JS number for money). */
export function storedCredits(credits: readonly Credit[]): StoredCredit[] {
  return credits.map((c) => ({
    touchpointId: c.touchpointId,
    channel: c.channel,
    occurredAt: c.occurredAt,
    amount: formatNanos(c.amount),
    ...(c.campaign === undefined || c.campaign === null ? {} : { campaign: c.campaign }),
  }));
}

export function decodeAnswer(row: AnswerRow): ModelAnswer | null {
  if (row.deleted) return null;
  const where = `opportunity_answer (${row.opportunity_id}, ${row.model})`;
  if (
    row.account_id === null ||
    row.sales_segment === null ||
    row.amount === null ||
    row.created_at_ms === null
  ) {
    throw corrupt(where, 'live answer with missing fields');
  }
  if (!Array.isArray(row.credits)) throw corrupt(where, 'credits are not an array');
  return {
    opportunityId: row.opportunity_id,
    model: row.model,
    accountId: row.account_id,
    segment: row.sales_segment,
    amount: decodeNanos(row.amount, where),
    createdAt: row.created_at_ms,
    credits: row.credits.map((value: unknown) => decodeCredit(value, where)),
    ...(row.original_amount === null ? {} : { original: decodeOriginal(row, where) }),
    ...(row.channel_rules_version === null ? {} : { rulesVersion: row.channel_rules_version }),
  };
}

function decodeOriginal(row: AnswerRow, where: string): OriginalAmount {
  const rate = row.fx_rate === null ? null : parseRate(row.fx_rate);
  if (row.original_currency === null || rate?.kind !== 'ok' || row.fx_rate_date === null)
    throw corrupt(where, 'original amount without its currency, rate and rate date');
  return {
    amount: decodeNanos(row.original_amount ?? '', where),
    currency: row.original_currency,
    rate: rate.rate,
    rateDate: row.fx_rate_date,
  };
}

function decodeCredit(value: unknown, where: string): Credit {
  const c = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { touchpointId, channel, occurredAt, amount, campaign } = c;
  if (
    (touchpointId !== null && typeof touchpointId !== 'string') ||
    typeof channel !== 'string' ||
    (occurredAt !== null && typeof occurredAt !== 'number') ||
    typeof amount !== 'string' ||
    (campaign !== undefined && typeof campaign !== 'string')
  ) {
    throw corrupt(where, `malformed credit ${JSON.stringify(value)}`);
  }
  const credit: Credit = { touchpointId, channel, occurredAt, amount: decodeNanos(amount, where) };
  return campaign === undefined ? credit : { ...credit, campaign };
}

/** Exact decimal text (numeric::text, or JSON) to nano-units; never through a JS number. */
function decodeNanos(text: string, where: string): Nanos {
  const parsed = parseAmount(text);
  if (parsed.kind !== 'ok')
    throw corrupt(where, `amount "${text}" is not a non-negative decimal with at most 9 places`);
  return parsed.nanos;
}

const corrupt = (where: string, detail: string): AppError =>
  new AppError('STORE_UNAVAILABLE', `corrupt ${where}: ${detail}`, { retriable: false });
