import type { AttributionRevision, AttributionStore } from '../../app/ports.js';
import { answerDelta, answersOf, sameAnswer, type ModelAnswer } from '../../domain/answer.js';
import type { Cell } from '../../domain/aggregate.js';

export interface MemoryAttributionStore extends AttributionStore {
  /** The channel × segment totals, cells with no opportunity left out. */
  cells(): Cell[];
  revisionOf(opportunityId: string, model: string): number;
}

/** The in-memory twin of the Postgres store, for unit tests of the streaming use case. */
export function createMemoryAttributionStore(): MemoryAttributionStore {
  const answers = new Map<string, { answer: ModelAnswer | null; revision: number }>();
  const totals = new Map<string, Cell>();
  const key = (opportunityId: string, model: string): string => `${opportunityId}\u0000${model}`;

  return {
    async commit(opportunityIds, attribute, beforeCommit) {
      const next = await attribute(opportunityIds);
      const revisions: AttributionRevision[] = [];
      const staged: [string, { answer: ModelAnswer | null; revision: number }][] = [];
      const deltas = [];
      for (const [opportunityId, { attribution, reason }] of next) {
        const models = attribution === null ? [...answers.keys()].filter((k) => k.startsWith(`${opportunityId}\u0000`)).map((k) => k.split('\u0000')[1] ?? '') : answersOf(attribution).map((a) => a.model);
        const fresh = new Map(attribution === null ? [] : answersOf(attribution).map((a) => [a.model, a] as const));
        for (const model of models) {
          const stored = answers.get(key(opportunityId, model));
          const answer = fresh.get(model) ?? null;
          if (sameAnswer(stored?.answer ?? null, answer)) continue;
          const revision = (stored?.revision ?? 0) + 1;
          staged.push([key(opportunityId, model), { answer, revision }]);
          deltas.push(...answerDelta(stored?.answer ?? null, answer));
          revisions.push({ opportunityId, model, revision, reason, attribution });
        }
      }
      await beforeCommit(revisions);
      for (const [k, v] of staged) answers.set(k, v);
      for (const d of deltas) {
        const k = `${d.model}\u0000${d.channel}\u0000${d.segment}`;
        const cell = totals.get(k);
        totals.set(k, { ...d, amount: (cell?.amount ?? 0n) + d.amount, opportunities: (cell?.opportunities ?? 0) + d.opportunities });
      }
      return revisions;
    },
    cells: () => [...totals.values()].filter((c) => c.opportunities !== 0 || c.amount !== 0n),
    revisionOf: (opportunityId, model) => answers.get(key(opportunityId, model))?.revision ?? 0,
  };
}
