import type { CellDelta } from './aggregate.js';
import type { Credit, OpportunityAttribution } from './attribute.js';
import type { Nanos } from './money.js';

/**
 * One opportunity's answer under one model: what is stored per (opportunity, model), published
 * as a revision, and compared to decide whether a new revision is due.
 */
export interface ModelAnswer {
  readonly opportunityId: string;
  readonly model: string;
  readonly accountId: string;
  readonly segment: string;
  readonly amount: Nanos;
  readonly createdAt: number;
  readonly credits: readonly Credit[];
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
  }));
}

export function sameAnswer(a: ModelAnswer | null, b: ModelAnswer | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.accountId === b.accountId &&
    a.segment === b.segment &&
    a.amount === b.amount &&
    a.createdAt === b.createdAt &&
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
