import type { CellDelta } from './aggregate.js';
import type { Credit, OpportunityAttribution, OriginalAmount } from './attribute.js';
import type { Nanos } from './money.js';
import { localDate } from './period.js';

/**
 * One opportunity's answer under one model: what is stored per (opportunity, model), published
 * as a revision, and compared to decide whether a new revision is due.
 */
export interface ModelAnswer {
  readonly opportunityId: string;
  readonly model: string;
  readonly accountId: string;
  readonly segment: string;
  /** In the reporting currency. */
  readonly amount: Nanos;
  readonly createdAt: number;
  readonly credits: readonly Credit[];
  /** The amount as given, when converted from another currency. */
  readonly original?: OriginalAmount;
  /**
   * The channel rules version of the revision that last changed this answer. Not compared: a
   * rules change that leaves the credits as they were makes no new revision.
   */
  readonly rulesVersion?: string;
}

/** The per-model answers of an attribution, in model order. */
export function answersOf(attribution: OpportunityAttribution): ModelAnswer[] {
  return attribution.results.map((result) => ({
    opportunityId: attribution.opportunityId,
    model: result.model,
    accountId: attribution.accountId,
    segment: attribution.segment,
    amount: attribution.amount,
    createdAt: attribution.createdAt,
    credits: result.credits,
    ...(attribution.original === undefined ? {} : { original: attribution.original }),
    ...(attribution.rulesVersion === undefined ? {} : { rulesVersion: attribution.rulesVersion }),
  }));
}

export function sameAnswer(a: ModelAnswer | null, b: ModelAnswer | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.accountId === b.accountId &&
    a.segment === b.segment &&
    a.amount === b.amount &&
    a.createdAt === b.createdAt &&
    sameOriginal(a.original, b.original) &&
    a.credits.length === b.credits.length &&
    a.credits.every((credit, i) => {
      const other = b.credits[i];
      return (
        other !== undefined &&
        credit.touchpointId === other.touchpointId &&
        credit.channel === other.channel &&
        credit.occurredAt === other.occurredAt &&
        credit.amount === other.amount &&
        (credit.campaign ?? null) === (other.campaign ?? null)
      );
    })
  );
}

const sameOriginal = (a: OriginalAmount | undefined, b: OriginalAmount | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.amount === b.amount &&
    a.currency === b.currency &&
    a.rate === b.rate &&
    a.rateDate === b.rateDate);

/** The amount an answer gives each channel of its segment. */
function cellsOf(answer: ModelAnswer | null): Map<string, Nanos> {
  const cells = new Map<string, Nanos>();
  if (answer === null) return cells;
  for (const credit of answer.credits)
    cells.set(credit.channel, (cells.get(credit.channel) ?? 0n) + credit.amount);
  return cells;
}

/**
 * How the channel × segment totals of one model move when an answer goes from `before` to
 * `after` (null = absent). A segment change moves the whole answer between cells.
 */
export function answerDelta(before: ModelAnswer | null, after: ModelAnswer | null): CellDelta[] {
  const model = after?.model ?? before?.model ?? '';
  const deltas = new Map<string, CellDelta>();
  const add = (segment: string, channel: string, amount: Nanos, opportunities: number): void => {
    const key = `${segment}\u0000${channel}`;
    const current = deltas.get(key);
    deltas.set(key, {
      model,
      channel,
      segment,
      amount: (current?.amount ?? 0n) + amount,
      opportunities: (current?.opportunities ?? 0) + opportunities,
    });
  };
  for (const [channel, amount] of cellsOf(before)) add(before?.segment ?? '', channel, -amount, -1);
  for (const [channel, amount] of cellsOf(after)) add(after?.segment ?? '', channel, amount, 1);
  return [...deltas.values()].filter((d) => d.amount !== 0n || d.opportunities !== 0);
}

/**
 * One cell of the per-day tables: the answer's local creation date in the reporting time zone
 * (SPEC "Period"), and for the campaign table the credited touches' campaign ('' = none).
 */
export interface DayCellDelta {
  readonly model: string;
  readonly day: string;
  readonly channel: string;
  /** '' when the table is not by campaign, or the credit has none. */
  readonly campaign: string;
  readonly segment: string;
  readonly amount: Nanos;
  readonly opportunities: number;
}

/**
 * How the per-day totals of one model move when an answer goes from `before` to `after`: the
 * whole answer leaves its old (day, segment) cells and enters its new ones, so a change of
 * creation date or segment moves it, and an opportunity counts once per cell.
 */
export function answerDayDeltas(
  before: ModelAnswer | null,
  after: ModelAnswer | null,
  timeZone: string,
  byCampaign: boolean,
): DayCellDelta[] {
  const model = after?.model ?? before?.model ?? '';
  const deltas = new Map<string, DayCellDelta>();
  const add = (answer: ModelAnswer | null, sign: 1n | -1n): void => {
    if (answer === null) return;
    const day = localDate(answer.createdAt, timeZone);
    const inThisAnswer = new Set<string>();
    for (const credit of answer.credits) {
      const campaign = byCampaign ? (credit.campaign ?? '') : '';
      const key = `${day}\u0000${answer.segment}\u0000${credit.channel}\u0000${campaign}`;
      // One opportunity per cell, however many of its credits fall in it.
      const counts = inThisAnswer.has(key) ? 0 : Number(sign);
      inThisAnswer.add(key);
      const current = deltas.get(key);
      deltas.set(key, {
        model,
        day,
        channel: credit.channel,
        campaign,
        segment: answer.segment,
        amount: (current?.amount ?? 0n) + sign * credit.amount,
        opportunities: (current?.opportunities ?? 0) + counts,
      });
    }
  };
  add(before, -1n);
  add(after, 1n);
  return [...deltas.values()].filter((d) => d.amount !== 0n || d.opportunities !== 0);
}
