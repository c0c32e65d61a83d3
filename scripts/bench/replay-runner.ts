/**
 * Child process of scripts/bench-replay.ts: replays one dataset directory with all five models,
 * in memory, exactly as `touchline replay` does, and prints ONE JSON line on stdout with the
 * timing, the peak RSS as the kernel counted it, the quality totals and the first_touch cells.
 * Run apart from the parent so that its peak RSS is Touchline's alone.
 *
 *   node --import tsx scripts/bench/replay-runner.ts DIR [BATCH_SIZE]
 */
import { performance } from 'node:perf_hooks';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { toRows } from '../../src/adapters/files/report-writers.js';
import { replay } from '../../src/app/replay.js';
import { formatNanos } from '../../src/domain/money.js';
import { buildSettings, buildVocabularies } from '../../src/cli/settings.js';
import { STREAMING_MODEL_NAMES } from '../../src/domain/models/index.js';

export interface RunnerReport {
  readonly format: string;
  readonly models: string[];
  /** Records read from the files (every line of every file, dirty ones included). */
  readonly records: number;
  readonly opportunities: number;
  /** openDataset → replay result, in ms (module loading excluded). */
  readonly replayMs: number;
  /** process.resourceUsage().maxRSS: peak resident set size in KiB. */
  readonly maxRssKb: number;
  readonly heapUsedMb: number;
  readonly quality: {
    source: string;
    read: number;
    accepted: number;
    duplicates: number;
    rejected: Partial<Record<string, number>>;
  }[];
  /** Every cell of every model, with its exact amount (nano-units as a decimal string). */
  readonly cells: {
    model: string;
    channel: string;
    sales_segment: string;
    exact_amount: string;
    opportunities: number;
  }[];
  readonly firstTouch: {
    channel: string;
    sales_segment: string;
    pipeline_amount: string;
    opportunities: number;
  }[];
}

function main(dir: string, batchSize: number | undefined): void {
  // The five models DuckDB computes too, unless BENCH_MODELS names others ("all": every model).
  const wanted = process.env['BENCH_MODELS'] ?? STREAMING_MODEL_NAMES.join(',');
  const settings = buildSettings(wanted === 'all' ? {} : { models: wanted });
  const started = performance.now();
  const dataset = openDataset(dir);
  const result = replay(dataset.records, {
    settings,
    vocab: buildVocabularies(),
    ...(batchSize === undefined ? {} : { batchSize }),
  });
  const replayMs = performance.now() - started;
  const report: RunnerReport = {
    format: dataset.format,
    models: settings.models.map((m) => m.name),
    records: result.quality.totals.read,
    opportunities: result.opportunities,
    replayMs,
    maxRssKb: process.resourceUsage().maxRSS,
    heapUsedMb: process.memoryUsage().heapUsed / 1_048_576,
    quality: result.quality.sources.map((s) => ({
      source: s.source,
      read: s.read,
      accepted: s.accepted,
      duplicates: s.duplicates,
      rejected: s.rejected,
    })),
    cells: result.cells.map((c) => ({
      model: c.model,
      channel: c.channel,
      sales_segment: c.segment,
      exact_amount: formatNanos(c.amount),
      opportunities: c.opportunities,
    })),
    firstTouch: toRows(result.cells)
      .filter((row) => row.model === 'first_touch')
      .map(({ channel, sales_segment, pipeline_amount, opportunities }) => ({
        channel,
        sales_segment,
        pipeline_amount,
        opportunities,
      })),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const dir = process.argv[2];
/** Optional: validated events per applyEvents call (replay's default otherwise). */
const batchArg = process.argv[3];
if (dir === undefined) {
  process.stderr.write('usage: node --import tsx scripts/bench/replay-runner.ts DIR\n');
  process.exitCode = 2;
} else {
  main(dir, batchArg === undefined ? undefined : Number(batchArg));
}
