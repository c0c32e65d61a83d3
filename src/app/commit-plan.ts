import type { AttributionRevision, NextAttributions } from './ports.js';
import { compareText, type CellDelta } from '../domain/aggregate.js';
import {
  answerDayDeltas,
  answerDelta,
  answersOf,
  sameAnswer,
  type DayCellDelta,
  type ModelAnswer,
} from '../domain/answer.js';
import { AppError } from '../errors.js';

/** What is stored for one (opportunity, model): its revision and answer (null = tombstone). */
export interface StoredAnswer {
  readonly revision: number;
  readonly answer: ModelAnswer | null;
}

/** Stored answers by opportunity id, then model. */
export type StoredAnswers = ReadonlyMap<string, ReadonlyMap<string, StoredAnswer>>;

export type { NextAttributions };

/** One (opportunity, model) row to write; `replaces` when credit rows exist under an earlier revision. */
export interface AnswerWrite {
  readonly opportunityId: string;
  readonly model: string;
  readonly revision: number;
  readonly reason: string;
  readonly answer: ModelAnswer | null;
  readonly replaces: boolean;
}

export interface CommitPlan {
  readonly revisions: AttributionRevision[];
  readonly writes: AnswerWrite[];
  /** Summed per cell, zero deltas left out, sorted by (model, channel, segment). */
  readonly deltas: CellDelta[];
  /** The same per (model, local creation day, channel, segment), sorted by that key. */
  readonly dayDeltas: DayCellDelta[];
  /** The same per (model, day, channel, campaign, segment), sorted by that key. */
  readonly campaignDeltas: DayCellDelta[];
}

/**
 * The store-independent half of AttributionStore.commit, shared by the Postgres store and its
 * in-memory twin. Compares each next attribution with what is stored, model by model. A live attribution is
 * compared on its own models only: a stored model no longer computed is left as it is rather
 * than tombstoned piecemeal. A deletion tombstones every live stored model. Each revision carries
 * the whole attribution (as the in-memory twin does); the publisher picks `revision.model`'s result.
 */
export function planCommit(next: NextAttributions, stored: StoredAnswers, timeZone = 'UTC'): CommitPlan {
  const revisions: AttributionRevision[] = [];
  const writes: AnswerWrite[] = [];
  const cells = new Map<string, CellDelta>();
  const days = new Map<string, DayCellDelta>();
  const campaigns = new Map<string, DayCellDelta>();
  for (const opportunityId of [...next.keys()].sort(compareText)) {
    const { attribution, reason } = next.get(opportunityId) ?? { attribution: null, reason: '' };
    if (attribution !== null && attribution.opportunityId !== opportunityId) {
      throw new AppError(
        'INTERNAL',
        `attribution of ${attribution.opportunityId} committed under ${opportunityId}`,
      );
    }
    const before = stored.get(opportunityId) ?? new Map<string, StoredAnswer>();
    const after = new Map(
      (attribution === null ? [] : answersOf(attribution)).map((a) => [a.model, a] as const),
    );
    const models = attribution === null ? [...before.keys()].sort(compareText) : [...after.keys()];
    for (const model of models) {
      const old = before.get(model);
      const previous = old?.answer ?? null;
      const answer = after.get(model) ?? null;
      if (sameAnswer(previous, answer)) continue;
      const revision = (old?.revision ?? 0) + 1;
      writes.push({ opportunityId, model, revision, reason, answer, replaces: old !== undefined });
      revisions.push({ opportunityId, model, revision, reason, attribution });
      for (const delta of answerDelta(previous, answer)) addDelta(cells, delta);
      for (const delta of answerDayDeltas(previous, answer, timeZone, false)) addDayDelta(days, delta);
      for (const delta of answerDayDeltas(previous, answer, timeZone, true)) addDayDelta(campaigns, delta);
    }
  }
  return {
    revisions,
    writes,
    deltas: sortedDeltas(cells),
    dayDeltas: sortedDayDeltas(days),
    campaignDeltas: sortedDayDeltas(campaigns),
  };
}

interface Summable {
  readonly amount: bigint;
  readonly opportunities: number;
}

/** Adds a delta into the one for its cell (by `key`). */
function addInto<T extends Summable>(cells: Map<string, T>, key: string, delta: T): void {
  const current = cells.get(key);
  cells.set(
    key,
    current === undefined
      ? delta
      : {
          ...current,
          amount: current.amount + delta.amount,
          opportunities: current.opportunities + delta.opportunities,
        },
  );
}

/** Zero deltas left out; sorted by the table's key so concurrent commits lock rows in one order. */
function sortedBy<T extends Summable>(cells: ReadonlyMap<string, T>, compare: (a: T, b: T) => number): T[] {
  return [...cells.values()].filter((d) => d.amount !== 0n || d.opportunities !== 0).sort(compare);
}

const addDayDelta = (cells: Map<string, DayCellDelta>, d: DayCellDelta): void =>
  addInto(cells, `${d.model}\u0000${d.day}\u0000${d.channel}\u0000${d.campaign}\u0000${d.segment}`, d);

const sortedDayDeltas = (cells: ReadonlyMap<string, DayCellDelta>): DayCellDelta[] =>
  sortedBy(
    cells,
    (a, b) =>
      compareText(a.model, b.model) ||
      compareText(a.day, b.day) ||
      compareText(a.channel, b.channel) ||
      compareText(a.campaign, b.campaign) ||
      compareText(a.segment, b.segment),
  );

const addDelta = (cells: Map<string, CellDelta>, d: CellDelta): void =>
  addInto(cells, `${d.model}\u0000${d.channel}\u0000${d.segment}`, d);

const sortedDeltas = (cells: ReadonlyMap<string, CellDelta>): CellDelta[] =>
  sortedBy(
    cells,
    (a, b) =>
      compareText(a.model, b.model) || compareText(a.channel, b.channel) || compareText(a.segment, b.segment),
  );
