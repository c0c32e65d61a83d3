import type { StoredAnswer } from '../../app/commit-plan.js';
import type { AnswerStore, AnswerTransaction } from '../../app/ports.js';
import type { Cell } from '../../domain/aggregate.js';
import type { DayCellDelta } from '../../domain/answer.js';
import { AppError } from '../../errors.js';

export interface MemoryAnswerStore extends AnswerStore {
  /** The channel × segment totals; a cell whose count and amount both reach zero is removed. */
  cells(): Cell[];
  /** The per-day totals (campaign ''), and the per-campaign-day totals, likewise. */
  dayCells(): DayCellDelta[];
  campaignDayCells(): DayCellDelta[];
  revisionOf(opportunityId: string, model: string): number;
}

/**
 * The in-memory twin of the Postgres answer store, for unit tests of the streaming use cases;
 * both pass test/contracts/attribution-store.contract.ts. Like Postgres it holds per-opportunity
 * locks until commit or rollback, checks revisions on write, and changes nothing until commit.
 */
export function createMemoryAnswerStore(): MemoryAnswerStore {
  /** By opportunity id, then model. */
  const answers = new Map<string, Map<string, StoredAnswer>>();
  const totals = new Map<string, Cell>();
  const dayTotals = new Map<string, DayCellDelta>();
  const campaignDayTotals = new Map<string, DayCellDelta>();
  const locks = opportunityLocks();

  return {
    begin(): Promise<AnswerTransaction> {
      const held: string[] = [];
      const pending: (() => void)[] = [];
      let open = true;
      const end = (): void => {
        open = false;
        locks.release(held);
        held.length = 0;
      };
      const ensureOpen = (): void => {
        if (!open) throw new Error('answer transaction already ended');
      };
      return Promise.resolve({
        async lock(ids) {
          ensureOpen();
          const wanted = [...new Set(ids)].filter((id) => !held.includes(id));
          await locks.acquire(wanted);
          held.push(...wanted);
        },
        load(ids) {
          ensureOpen();
          const stored = new Map<string, Map<string, StoredAnswer>>();
          for (const id of ids) {
            const models = answers.get(id);
            if (models !== undefined) stored.set(id, new Map(models));
          }
          return Promise.resolve(stored);
        },
        writeAnswers(writes) {
          ensureOpen();
          for (const w of writes) {
            const current = answers.get(w.opportunityId)?.get(w.model)?.revision ?? 0;
            if (current !== w.revision - 1) {
              return Promise.reject(
                new Error(
                  `stored revision of (${w.opportunityId}, ${w.model}) is ${current}, not ${w.revision - 1}`,
                ),
              );
            }
          }
          pending.push(() => {
            for (const { opportunityId, model, revision, answer } of writes) {
              const models = answers.get(opportunityId) ?? new Map<string, StoredAnswer>();
              models.set(model, { revision, answer });
              answers.set(opportunityId, models);
            }
          });
          return Promise.resolve();
        },
        moveTotals(deltas) {
          ensureOpen();
          // Like Postgres, refuse a total going negative (only a lost or doubled write gets here).
          const after = new Map<string, { amount: bigint; opportunities: number }>();
          for (const d of deltas) {
            const k = `${d.model}\u0000${d.channel}\u0000${d.segment}`;
            const cell = after.get(k) ?? totals.get(k) ?? { amount: 0n, opportunities: 0 };
            const next = {
              amount: cell.amount + d.amount,
              opportunities: cell.opportunities + d.opportunities,
            };
            if (next.amount < 0n || next.opportunities < 0) {
              return Promise.reject(
                new AppError(
                  'STORE_UNAVAILABLE',
                  `pipeline total of (${d.model}, ${d.channel}, ${d.segment}) would go negative`,
                  {
                    retriable: false,
                  },
                ),
              );
            }
            after.set(k, next);
          }
          pending.push(() => {
            for (const d of deltas) {
              const k = `${d.model}\u0000${d.channel}\u0000${d.segment}`;
              const cell = totals.get(k);
              const amount = (cell?.amount ?? 0n) + d.amount;
              const opportunities = (cell?.opportunities ?? 0) + d.opportunities;
              if (amount === 0n && opportunities === 0) totals.delete(k);
              else
                totals.set(k, {
                  model: d.model,
                  channel: d.channel,
                  segment: d.segment,
                  amount,
                  opportunities,
                });
            }
          });
          return Promise.resolve();
        },
        moveDayTotals(days, campaignDays) {
          ensureOpen();
          for (const [deltas, table] of [
            [days, dayTotals],
            [campaignDays, campaignDayTotals],
          ] as const) {
            const after = new Map<string, DayCellDelta>();
            for (const d of deltas) {
              const k = dayKey(d);
              const cell = after.get(k) ?? table.get(k);
              const next = {
                ...d,
                amount: (cell?.amount ?? 0n) + d.amount,
                opportunities: (cell?.opportunities ?? 0) + d.opportunities,
              };
              if (next.amount < 0n || next.opportunities < 0)
                return Promise.reject(
                  new AppError('STORE_UNAVAILABLE', `per-day total of (${k}) would go negative`, {
                    retriable: false,
                  }),
                );
              after.set(k, next);
            }
            pending.push(() => {
              for (const [k, cell] of after)
                if (cell.amount === 0n && cell.opportunities === 0) table.delete(k);
                else table.set(k, cell);
            });
          }
          return Promise.resolve();
        },
        commit() {
          ensureOpen();
          for (const apply of pending) apply();
          end();
          return Promise.resolve();
        },
        rollback() {
          if (open) end();
          return Promise.resolve();
        },
      });
    },
    cells: () => [...totals.values()],
    dayCells: () => [...dayTotals.values()],
    campaignDayCells: () => [...campaignDayTotals.values()],
    revisionOf: (opportunityId, model) => answers.get(opportunityId)?.get(model)?.revision ?? 0,
  };
}

const dayKey = (d: DayCellDelta): string => [d.model, d.day, d.channel, d.campaign, d.segment].join('\u0000');

/** Per-opportunity mutual exclusion; ids are taken all at once, so two holders never wait in a cycle. */
function opportunityLocks(): {
  acquire(ids: readonly string[]): Promise<void>;
  release(ids: readonly string[]): void;
} {
  const held = new Set<string>();
  let waiting: (() => void)[] = [];
  return {
    async acquire(ids) {
      while (ids.some((id) => held.has(id))) await new Promise<void>((resolve) => waiting.push(resolve));
      for (const id of ids) held.add(id);
    },
    release(ids) {
      for (const id of ids) held.delete(id);
      const woken = waiting;
      waiting = [];
      for (const wake of woken) wake();
    },
  };
}
