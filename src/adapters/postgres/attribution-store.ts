import type pg from 'pg';
import type { AttributionStore } from '../../app/ports.js';
import { planCommit, type CommitPlan, type NextAttributions } from '../../app/commit-plan.js';
import { withTransaction } from './pool.js';
import {
  applyCellDeltas,
  deleteCredits,
  deleteEmptyCells,
  insertCredits,
  loadAnswers,
  lockKeys,
  lockOpportunities,
  tablesOf,
  upsertAnswers,
  type Tables,
} from './statements.js';

export interface PostgresAttributionStoreOptions {
  /** Schema holding the tables (see migrate). */
  readonly schema: string;
  /** Stamps updated_at; injected so tests and replays control it. */
  readonly clock: () => Date;
}

/**
 * The attribution store on Postgres. One commit is one READ COMMITTED transaction:
 * lock the opportunities (advisory, sorted), load their answers, write what changed with
 * revision + 1, move the totals by the summed deltas, let the caller publish, commit.
 * Serialising per opportunity makes a redelivered or concurrent commit see the previous one's
 * answers, so it finds them unchanged and counts nothing twice.
 */
export function createPostgresAttributionStore(
  pool: pg.Pool,
  options: PostgresAttributionStoreOptions,
): AttributionStore {
  const tables = tablesOf(options.schema);
  return {
    commit(opportunityIds, attribute, beforeCommit) {
      return withTransaction(pool, 'attribution commit', async (client) => {
        const plan = await planUnderLocks(client, tables, opportunityIds, attribute);
        const now = options.clock();
        await writeAnswers(client, tables, plan, now);
        await beforeCommit(plan.revisions);
        // The totals rows are shared by most commits: they are locked last, after the publish,
        // so concurrent commits on other opportunities wait only for a statement, not a publish.
        await writeTotals(client, tables, plan, now);
        return plan.revisions;
      });
    },
  };
}

async function planUnderLocks(
  client: pg.ClientBase,
  tables: Tables,
  opportunityIds: readonly string[],
  attribute: (ids: readonly string[]) => Promise<NextAttributions>,
): Promise<CommitPlan> {
  const ids = [...new Set(opportunityIds)];
  await lockOpportunities(client, lockKeys(tables.schema, ids));
  // Attribute only now: every earlier lock holder has committed, and its state writes
  // (flushed before it locked) are visible, so the last writer always sees the latest state.
  const next = await attribute(ids);
  const stored = await loadAnswers(client, tables, ids);
  return planCommit(next, stored);
}

async function writeAnswers(client: pg.ClientBase, tables: Tables, plan: CommitPlan, now: Date): Promise<void> {
  await upsertAnswers(client, tables, plan.writes, now);
  await deleteCredits(
    client,
    tables,
    plan.writes.filter((w) => w.replaces),
  );
  await insertCredits(
    client,
    tables,
    plan.writes.flatMap((w) => (w.answer === null ? [] : [w.answer])),
  );
}

async function writeTotals(client: pg.ClientBase, tables: Tables, plan: CommitPlan, now: Date): Promise<void> {
  const emptied = await applyCellDeltas(client, tables, plan.deltas, now);
  await deleteEmptyCells(client, tables, emptied);
}
