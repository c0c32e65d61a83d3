import { planCommit, type CommitPlan, type StoredAnswer } from '../../app/commit-plan.js';
import type { AttributionStore } from '../../app/ports.js';
import type { Cell } from '../../domain/aggregate.js';

export interface MemoryAttributionStore extends AttributionStore {
  /** The channel × segment totals; a cell whose count and amount both reach zero is removed. */
  cells(): Cell[];
  revisionOf(opportunityId: string, model: string): number;
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

  function apply({ writes, deltas }: CommitPlan): void {
    for (const { opportunityId, model, revision, answer } of writes) {
      const models = answers.get(opportunityId) ?? new Map<string, StoredAnswer>();
      models.set(model, { revision, answer });
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
        const stored = new Map([...next.keys()].map((id) => [id, answers.get(id) ?? new Map<string, StoredAnswer>()] as const));
        const plan = planCommit(next, stored);
        await beforeCommit(plan.revisions);
        apply(plan);
        return plan.revisions;
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
