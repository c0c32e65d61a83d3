import type pg from 'pg';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { readPipelineTable } from '../../src/adapters/postgres/queries.js';
import { replay } from '../../src/app/replay.js';
import { serveDefaults } from '../../src/cli/settings.js';
import { formatNanos } from '../../src/domain/money.js';

/** The pipeline table in Postgres as sorted `model|channel|segment|amount|count` lines ([] before it exists). */
export const pipelineRows = async (pool: pg.Pool, schema: string): Promise<string[]> =>
  (await readPipelineTable(pool, schema).catch(() => []))
    .map(
      (r) =>
        `${r.model}|${r.channel}|${r.sales_segment}|${r.pipeline_amount.replace(/\.?0+$/, '')}|${r.opportunity_count}`,
    )
    .sort();

/** The same lines computed independently: `touchline replay` of the dataset in `dir`. */
export function replayRows(dir: string): string[] {
  const batch = replay(openDataset(dir).records, serveDefaults(dir));
  return batch.cells
    .map((c) => `${c.model}|${c.channel}|${c.segment}|${formatNanos(c.amount)}|${c.opportunities}`)
    .sort();
}

/** A metric summed over its labels. */
export const metricTotal = async (metric: {
  get(): Promise<{ values: { value: number }[] }>;
}): Promise<number> => (await metric.get()).values.reduce((n, v) => n + v.value, 0);
