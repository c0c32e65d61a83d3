/**
 * Child process of scripts/bench-replay.ts: DuckDB (in-memory database, default settings: one
 * thread per core) loads the challenge CSVs of one dataset, cleans them as Touchline does and
 * computes the five models in SQL (scripts/bench/duckdb-five-models.sql). Prints ONE JSON line:
 * wall time of the whole (load + query, from creating the database to the last row read), the
 * split between the two, the peak RSS as the kernel counted it, and the cells.
 * Run apart from the parent so that its peak RSS is DuckDB's (plus Node's own, as for Touchline).
 *
 *   node --import tsx scripts/bench/duckdb-runner.ts CHALLENGE_DIR [WINDOW_MS HALF_LIFE_MS [18|38]]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { CHALLENGE_FILES } from '../../src/adapters/files/challenge-format.js';
import { DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from '../../src/domain/catalog.js';

export interface DuckDbCell {
  model: string;
  channel: string;
  sales_segment: string;
  /** Exact decimal sum (first_touch, last_touch, and Unattributed cells), else null. */
  exact_amount: string | null;
  /** The same sum as a DOUBLE (the only figure for the split models). */
  float_amount: number;
  opportunities: number;
}

export interface DuckDbReport {
  readonly version: string;
  readonly threads: string;
  /** Database creation → last row read, ms. */
  readonly wallMs: number;
  /** CSV → cleaned tables (read_csv + parse + filter + dedupe), ms. */
  readonly loadMs: number;
  /** The five-model query, ms. */
  readonly queryMs: number;
  readonly maxRssKb: number;
  /** The amount type: DECIMAL(38, 9) or DECIMAL(18, 9). */
  readonly decimal: string;
  /** Each load statement with its time, ms. */
  readonly steps: { label: string; ms: number }[];
  readonly accepted: { contacts: number; touches: number; opportunities: number };
  readonly cells: DuckDbCell[];
}

const HERE = dirname(fileURLToPath(import.meta.url));

const squash = (text: string): string =>
  text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const values = (names: readonly string[]): string =>
  names.map((n) => `(${quote(squash(n))}, ${quote(n)})`).join(', ');

/** read_csv of one challenge file, every column as text, renamed to Touchline's field names. */
function source(dir: string, kind: string): string {
  const spec = CHALLENGE_FILES.find((s) =>
    kind === 'marketing'
      ? s.touchSource === 'marketing'
      : kind === 'sales'
        ? s.touchSource === 'sales'
        : s.kind === kind,
  );
  if (spec === undefined) throw new Error(`no challenge file for ${kind}`);
  const columns = Object.entries(spec.columns)
    .map(([field, column]) => `"${column}" AS ${field}`)
    .join(', ');
  return `(SELECT ${columns} FROM read_csv(${quote(join(dir, spec.file))}, header = true, all_varchar = true))`;
}

async function main(dir: string, windowMs: number, halfLifeMs: number, decimal: string): Promise<void> {
  const sql = readFileSync(join(HERE, 'duckdb-five-models.sql'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .replaceAll('{contacts}', source(dir, 'contact'))
    .replaceAll('{marketing}', source(dir, 'marketing'))
    .replaceAll('{sales}', source(dir, 'sales'))
    .replaceAll('{opportunities}', source(dir, 'opportunity'))
    .replaceAll('{channel_values}', values(DEFAULT_CHANNELS))
    .replaceAll('{segment_values}', values(DEFAULT_SEGMENTS))
    .replaceAll('{decimal}', decimal === '18' ? 'DECIMAL(18, 9)' : 'DECIMAL(38, 9)')
    .replaceAll('{window_ms}', String(windowMs))
    .replaceAll('{half_life_ms}', String(halfLifeMs));
  const statements = sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const query = statements.pop();
  if (query === undefined) throw new Error('no query');

  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  const steps: { label: string; ms: number }[] = [];
  for (const statement of statements) {
    const before = performance.now();
    await db.run(statement);
    steps.push({
      label: /^CREATE (?:MACRO|TABLE) (\w+)/.exec(statement)?.[1] ?? statement.slice(0, 30),
      ms: performance.now() - before,
    });
  }
  const loaded = performance.now();
  const reader = await db.runAndReadAll(query);
  const cells = reader.getRowObjectsJson() as unknown as DuckDbCell[];
  const finished = performance.now();

  const one = async (text: string): Promise<string> => {
    const rows = (await db.runAndReadAll(text)).getRowsJson();
    const value = rows[0]?.[0];
    return typeof value === 'string' || typeof value === 'number'
      ? String(value)
      : JSON.stringify(value ?? '?');
  };
  const count = async (table: string): Promise<number> => Number(await one(`SELECT count(*) FROM ${table}`));
  const report: DuckDbReport = {
    version: await one('SELECT version()'),
    threads: await one("SELECT current_setting('threads')"),
    wallMs: finished - started,
    loadMs: loaded - started,
    queryMs: finished - loaded,
    maxRssKb: process.resourceUsage().maxRSS,
    steps,
    decimal: decimal === '18' ? 'DECIMAL(18, 9)' : 'DECIMAL(38, 9)',
    accepted: {
      contacts: await count('contacts'),
      touches: await count('touches'),
      opportunities: await count('opportunities'),
    },
    cells: cells.map((c) => ({
      ...c,
      float_amount: Number(c.float_amount),
      opportunities: Number(c.opportunities),
    })),
  };
  db.closeSync();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const [dir, windowArg, halfLifeArg, decimalArg] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write(
    'usage: node --import tsx scripts/bench/duckdb-runner.ts CHALLENGE_DIR [WINDOW_MS HALF_LIFE_MS [18|38]]\n',
  );
  process.exitCode = 2;
} else {
  await main(
    dir,
    Number(windowArg ?? 90 * 86_400_000),
    Number(halfLifeArg ?? 7 * 86_400_000),
    decimalArg ?? '38',
  );
}
