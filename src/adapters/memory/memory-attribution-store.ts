import type { AttributionRevision, AttributionStore } from '../../app/ports.js';
import { compareText, type Cell, type CellDelta } from '../../domain/aggregate.js';
import { answerDelta, answersOf, sameAnswer, type ModelAnswer } from '../../domain/answer.js';
import { AppError } from '../../errors.js';

export interface MemoryAttributionStore extends AttributionStore {
  /** The channel × segment totals; a cell whose count and amount both reach zero is removed. */
  cells(): Cell[];
  revisionOf(opportunityId: string, model: string): number;
}

interface StoredAnswer {
  readonly answer: ModelAnswer | null;
  readonly revision: number;
}

/**
 * The in-memory twin of the Postgres store, for unit tests of the streaming use case; both pass
 * test/contracts/attribution-store.contract.ts. Like Postgres it serialises commits per
 * opportunity, hands `attribute` the distinct ids once it holds them, orders the revisions by
 * opportunity id (tombstones by model name), refuses an attribution filed under another id, and
 * changes nothing unless `beforeCommit` resolves.
 */
export function createMemoryAttributionStore(): MemoryAttributionStore {
  /** By opportunity id, then model. */
  const answers = new Map<string, Map<string, StoredAnswer>>();
  const totals = new Map<string, Cell>();
  const holding = opportunityLocks();

  function apply(
    staged: readonly { opportunityId: string; model: string; stored: StoredAnswer }[],
    deltas: readonly CellDelta[],
  ): void {
    for (const { opportunityId, model, stored } of staged) {
      const models = answers.get(opportunityId) ?? new Map<string, StoredAnswer>();
      models.set(model, stored);
      answers.set(opportunityId, models);
    }
    for (const d of deltas) {
      const k = `${d.model}\u0000${d.channel}\u0000${d.segment}`;
      const cell = totals.get(k);
      const amount = (cell?.amount ?? 0n) + d.amount;
      const opportunities = (cell?.opportunities ?? 0) + d.opportunities;
      if (amount === 0n && opportunities === 0) totals.delete(k);
      else totals.set(k, { model: d.model, channel: d.channel, segment: d.segment, amount, opportunities });
    }
  }

  return {
    commit(opportunityIds, attribute, beforeCommit) {
      const ids = [...new Set(opportunityIds)];
      return holding(ids, async () => {
        const next = await attribute(ids);
        const revisions: AttributionRevision[] = [];
        const staged: { opportunityId: string; model: string; stored: StoredAnswer }[] = [];
        const deltas: CellDelta[] = [];
        for (const opportunityId of [...next.keys()].sort(compareText)) {
          const { attribution, reason } = next.get(opportunityId) ?? { attribution: null, reason: '' };
          if (attribution !== null && attribution.opportunityId !== opportunityId) {
            throw new AppError(
              'INTERNAL',
              `attribution of ${attribution.opportunityId} committed under ${opportunityId}`,
            );
          }
          const before = answers.get(opportunityId) ?? new Map<string, StoredAnswer>();
          const after = new Map(
            (attribution === null ? [] : answersOf(attribution)).map((a) => [a.model, a] as const),
          );
          // A live attribution is compared on its own models; a deletion tombstones every stored one.
          const models = attribution === null ? [...before.keys()].sort(compareText) : [...after.keys()];
          for (const model of models) {
            const stored = before.get(model);
            const previous = stored?.answer ?? null;
            const answer = after.get(model) ?? null;
            if (sameAnswer(previous, answer)) continue;
            const revision = (stored?.revision ?? 0) + 1;
            staged.push({ opportunityId, model, stored: { answer, revision } });
            deltas.push(...answerDelta(previous, answer));
            revisions.push({ opportunityId, model, revision, reason, attribution });
          }
        }
        await beforeCommit(revisions);
        apply(staged, deltas);
        return revisions;
      });
    },
    cells: () => [...totals.values()],
    revisionOf: (opportunityId, model) => answers.get(opportunityId)?.get(model)?.revision ?? 0,
  };
}

/**
 * Per-opportunity mutual exclusion: `work` runs once none of `ids` is held by another commit,
 * holding all of them (taken at once, so two commits never wait on each other in a cycle).
 */
function opportunityLocks(): <T>(ids: readonly string[], work: () => Promise<T>) => Promise<T> {
  const held = new Set<string>();
  let waiting: (() => void)[] = [];
  return async (ids, work) => {
    while (ids.some((id) => held.has(id))) await new Promise<void>((resolve) => waiting.push(resolve));
    for (const id of ids) held.add(id);
    try {
      return await work();
    } finally {
      for (const id of ids) held.delete(id);
      const woken = waiting;
      waiting = [];
      for (const wake of woken) wake();
    }
  };
}
