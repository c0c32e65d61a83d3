import type pg from 'pg';
import type { AnswerStore, AnswerTransaction } from '../../app/ports.js';
import { AppError } from '../../errors.js';
import { toStoreError } from './errors.js';
import {
  applyCellDeltas,
  applyDayDeltas,
  deleteEmptyCells,
  loadAnswers,
  lockKeys,
  lockOpportunities,
  tablesOf,
  upsertAnswers,
} from './statements.js';

export interface PostgresAnswerStoreOptions {
  /** Schema holding the tables (see migrate). */
  readonly schema: string;
  /** Stamps updated_at; injected so tests and replays control it. */
  readonly clock: () => Date;
}

/**
 * The answer store on Postgres: one AnswerTransaction is one READ COMMITTED transaction on one
 * pooled client (explicitly READ COMMITTED: the caller locks first and must then read what the
 * previous lock holder committed, which a snapshot from before the lock would not show). The
 * lock is a transaction-level advisory lock per opportunity (statements.ts), released by
 * COMMIT or ROLLBACK. Every failure surfaces as a store error (retriable when the server is
 * away); a client whose rollback failed is discarded rather than returned to the pool.
 */
export function createPostgresAnswerStore(pool: pg.Pool, options: PostgresAnswerStoreOptions): AnswerStore {
  const tables = tablesOf(options.schema);
  return {
    async begin(): Promise<AnswerTransaction> {
      const client = await pool.connect().catch((error: unknown) => {
        throw toStoreError(error, 'connecting for an answer commit');
      });
      // A server that goes away mid-transaction makes the client emit 'error'; pg's pool listens
      // only while a client is idle, and an unheard 'error' event ends the process.
      const onError = (): void => undefined;
      client.on('error', onError);
      let open = true;
      const run = async <T>(action: string, work: () => Promise<T>): Promise<T> => {
        // Once ended the client is back in the pool, perhaps in another caller's transaction.
        if (!open)
          throw new AppError('INTERNAL', `${action} on an answer transaction that already ended`, {
            retriable: false,
          });
        try {
          return await work();
        } catch (error) {
          throw toStoreError(error, action);
        }
      };
      const finish = async (sql: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
        if (!open) {
          if (sql === 'ROLLBACK') return;
          throw new AppError('INTERNAL', 'commit of an answer transaction that already ended', {
            retriable: false,
          });
        }
        open = false;
        let broken: Error | undefined;
        try {
          await client.query(sql);
        } catch (error) {
          broken = error instanceof Error ? error : new Error(String(error));
          if (sql === 'COMMIT') throw toStoreError(error, 'committing answers');
        } finally {
          client.off('error', onError);
          client.release(broken);
        }
      };
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      } catch (error) {
        open = false;
        client.off('error', onError);
        client.release(error instanceof Error ? error : true);
        throw toStoreError(error, 'beginning an answer commit');
      }
      return {
        lock: (ids) =>
          run('locking opportunities', () => lockOpportunities(client, lockKeys(tables.schema, ids))),
        load: (ids) => run('loading answers', () => loadAnswers(client, tables, ids)),
        writeAnswers: (writes) =>
          run('writing answers', async () => {
            // The credits ride in the answer rows; attribution_credit is a view over them.
            await upsertAnswers(client, tables, writes, options.clock());
          }),
        moveTotals: (deltas) =>
          run('moving totals', async () => {
            const emptied = await applyCellDeltas(client, tables, deltas, options.clock());
            await deleteEmptyCells(client, tables, emptied);
          }),
        moveDayTotals: (days, campaignDays) =>
          run('moving per-day totals', () =>
            applyDayDeltas(client, tables, days, campaignDays, options.clock()),
          ),
        commit: () => finish('COMMIT'),
        rollback: () => finish('ROLLBACK').catch(() => undefined),
      };
    },
  };
}
