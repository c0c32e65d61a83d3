/**
 * Batch-replay benchmark: Touchline (all five models, in memory) against DuckDB (the same five
 * models in SQL, in-process, one thread per core) and PostgreSQL (first_touch only) on the same
 * generated challenge CSV files. It prints figures and asserts nothing about timing; it does
 * fail (exit 1) when the two disagree on the first_touch numbers, because a fast wrong answer
 * measures nothing.
 *
 *   npm run bench:replay                                   # 1,000,000 touches, 100,000 opportunities
 *   npm run bench:replay -- --touches 100000 --opportunities 10000
 *   npm run bench:replay -- --quick                        # 100,000 touches, one run each
 *
 * Steps: (1) generate the dataset once into .bench/ (reused when present); (2) replay the events
 * format in a child process (scripts/bench/replay-runner.ts) that reports its own wall time and
 * peak RSS; (3) load the challenge CSVs of the same dataset into Postgres with psql \copy, clean
 * them as Touchline does, index, VACUUM (ANALYZE) (all timed as LOAD); (4) time one first_touch query,
 * in two formulations (scripts/bench/first-touch-*.sql), several runs each; (5) cross-check the
 * first_touch cells; (6) print a summary. Postgres: PGHOST/PGPORT/PGUSER/PGDATABASE, default
 * 127.0.0.1:5432, postgres, test; the work happens in schema bench_replay, recreated each run.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { writeDataset } from '../src/adapters/files/dataset-writer.js';
import { CHALLENGE_FILES } from '../src/adapters/files/challenge-format.js';
import { DEFAULT_GENERATE, generateRows } from '../src/app/generate/generate.js';
import { buildSettings } from '../src/cli/settings.js';
import { STREAMING_MODEL_NAMES } from '../src/domain/models/index.js';
import { DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from '../src/domain/catalog.js';
import { formatCents, parseAmount } from '../src/domain/money.js';
import type { DuckDbCell, DuckDbReport } from './bench/duckdb-runner.js';
import type { RunnerReport } from './bench/replay-runner.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BENCH_SQL = join(HERE, 'bench');
const SCHEMA = 'bench_replay';
const GIB = 1024 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench:replay -- [options]
  --touches N         touches (default 1000000)
  --opportunities N   opportunities (default 100000)
  --contacts N        contacts (default 30% of touches: 300000)
  --seed N            generator seed (default 42)
  --dirty-rate R      share of dirty rows (default ${DEFAULT_GENERATE.dirtyRate}, the generator's)
  --runs N            runs of the Touchline replay and of each SQL query (default 3)
  --work-mem SIZE     Postgres work_mem for the session (default 64MB; "server" keeps the server's)
  --cache DIR         where generated datasets are kept (default .bench)
  --keep-schema       leave schema ${SCHEMA} in place afterwards (default: dropped)
  --quick             100,000 touches, 10,000 opportunities, 1 run (unless given)
  --format F          what Touchline replays: challenge (the CSVs DuckDB and Postgres read; default) or events
  --duckdb-decimal N  DuckDB amount type DECIMAL(N, 9): 38 (exact for any amount; default) or 18 (64-bit, < 10^9)
  --skip-duckdb       no DuckDB run
  --skip-postgres     no Postgres run`;

const { values: flags } = parseArgs({
  options: {
    touches: { type: 'string' },
    opportunities: { type: 'string' },
    contacts: { type: 'string' },
    seed: { type: 'string' },
    'dirty-rate': { type: 'string' },
    runs: { type: 'string' },
    'work-mem': { type: 'string' },
    cache: { type: 'string' },
    'keep-schema': { type: 'boolean' },
    'skip-postgres': { type: 'boolean' },
    'skip-duckdb': { type: 'boolean' },
    quick: { type: 'boolean' },
    format: { type: 'string' },
    'duckdb-decimal': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const int = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
};
const quick = flags.quick === true;
const touches = int(flags.touches, quick ? 100_000 : 1_000_000, 'touches');
const opportunities = int(flags.opportunities, quick ? 10_000 : 100_000, 'opportunities');
const contacts = int(flags.contacts, Math.max(1, Math.round(touches * 0.3)), 'contacts');
const seed = int(flags.seed, 42, 'seed');
const runs = Math.max(1, int(flags.runs, quick ? 1 : 3, 'runs'));
const touchlineFormat = flags.format ?? 'challenge';
if (touchlineFormat !== 'challenge' && touchlineFormat !== 'events')
  throw new Error(`--format must be challenge or events, got "${touchlineFormat}"`);
const duckdbDecimal = flags['duckdb-decimal'] ?? '38';
if (duckdbDecimal !== '18' && duckdbDecimal !== '38')
  throw new Error(`--duckdb-decimal must be 18 or 38, got "${duckdbDecimal}"`);
const dirtyRate =
  flags['dirty-rate'] === undefined ? DEFAULT_GENERATE.dirtyRate : Number(flags['dirty-rate']);
if (!(dirtyRate >= 0 && dirtyRate <= 1))
  throw new Error(`--dirty-rate must be between 0 and 1, got "${flags['dirty-rate']}"`);
const cacheRoot = resolve(ROOT, flags.cache ?? '.bench');
const workMem = flags['work-mem'] ?? '64MB';
if (workMem !== 'server' && !/^\d+\s*(kB|MB|GB)$/.test(workMem))
  throw new Error(`--work-mem must look like 64MB, got "${workMem}"`);
// The five models DuckDB computes too (scripts/bench/duckdb-five-models.sql): like for like.
const settings = buildSettings({ models: STREAMING_MODEL_NAMES.join(',') });

const pgConfig = {
  host: process.env['PGHOST'] ?? '127.0.0.1',
  port: Number(process.env['PGPORT'] ?? 5432),
  user: process.env['PGUSER'] ?? 'postgres',
  database: process.env['PGDATABASE'] ?? 'test',
};

// ---------------------------------------------------------------------------------------------
// Small helpers

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const fmtMb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const loadAverage = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
/** The commit measured, and whether src/ differs from it: src/ changes while people work. */
function codeVersion(): string {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === '') return 'unknown (no git)';
  return git('status', '--porcelain', '--', 'src') === ''
    ? commit
    : `${commit} + uncommitted changes in src/`;
}
const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// 1. Data, generated once per size and seed

async function ensureDataset(): Promise<string> {
  const dirty = dirtyRate === DEFAULT_GENERATE.dirtyRate ? '' : `-d${dirtyRate}`;
  const dir = join(cacheRoot, `replay-t${touches}-o${opportunities}-c${contacts}-s${seed}${dirty}`);
  const marker = join(dir, 'complete.json');
  if (existsSync(marker)) {
    say(`data: reusing ${dir}`);
    return dir;
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const options = { ...DEFAULT_GENERATE, seed, contacts, opportunities, touches, dirtyRate };
  say(
    `data: generating ${fmtInt(touches)} touches, ${fmtInt(opportunities)} opportunities, ${fmtInt(contacts)} contacts (seed ${seed}) ...`,
  );
  const { value: counts, ms } = await timed(() => writeDataset(tmp, generateRows(options)));
  writeFileSync(join(tmp, 'complete.json'), `${JSON.stringify({ options, counts }, null, 2)}\n`);
  renameSync(tmp, dir);
  say(`data: generated in ${fmtS(ms)} into ${dir}`);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// 2. Touchline, in a child process so that its peak RSS is its own

interface TouchlineRun {
  readonly report: RunnerReport;
  /** Child process wall time, spawn to exit (Node start and tsx compilation included). */
  readonly processMs: number;
  /** Peak RSS as /usr/bin/time -v saw it, when that tool exists. */
  readonly timeMaxRssKb: number | null;
}

function hasGnuTime(): boolean {
  return (
    existsSync('/usr/bin/time') &&
    spawnSync('/usr/bin/time', ['-v', 'true'], { stdio: 'ignore' }).status === 0
  );
}

async function runTouchline(eventsDir: string): Promise<TouchlineRun> {
  const runner = join(HERE, 'bench', 'replay-runner.ts');
  const nodeArgs = ['--import', 'tsx', runner, eventsDir];
  const useTime = hasGnuTime();
  const [command, args] = useTime
    ? ['/usr/bin/time', ['-v', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  const processMs = performance.now() - started;
  if (code !== 0) throw new Error(`Touchline replay runner exited with ${code}:\n${stderr}`);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const report = JSON.parse(line) as RunnerReport;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { report, processMs, timeMaxRssKb: rss?.[1] === undefined ? null : Number(rss[1]) };
}

// ---------------------------------------------------------------------------------------------
// 3. Postgres load: \copy into text staging tables, clean, index, VACUUM (ANALYZE)

interface Staging {
  readonly table: string;
  readonly file: string;
  readonly columns: string[];
}

const STAGING_TABLE: Record<string, string> = {
  'de_hw_contact_data.csv': 'stg_contacts',
  'de_hw_marketing_data.csv': 'stg_marketing',
  'de_hw_sales_outreach_data.csv': 'stg_sales',
  'de_hw_opportunity_data.csv': 'stg_opportunities',
};

function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return (
      buffer
        .subarray(0, n)
        .toString('utf8')
        .replace(/^\ufeff/, '')
        .split(/\r?\n/)[0] ?? ''
    );
  } finally {
    closeSync(fd);
  }
}

/** Staging columns named by Touchline's field names, in the file's own column order. */
function stagingTables(challengeDir: string): Staging[] {
  return CHALLENGE_FILES.map((spec) => {
    const file = join(challengeDir, spec.file);
    const fieldOf = new Map(
      Object.entries(spec.columns).map(([field, column]) => [column.toLowerCase(), field]),
    );
    const columns = firstLine(file)
      .split(',')
      .map((name, i) => fieldOf.get(name.trim().toLowerCase()) ?? `extra_${i}`);
    for (const field of Object.keys(spec.columns)) {
      if (!columns.includes(field)) throw new Error(`${file}: no column for ${field}`);
    }
    const table = STAGING_TABLE[spec.file];
    if (table === undefined) throw new Error(`no staging table for ${spec.file}`);
    return { table, file, columns };
  });
}

/** Statements of a SQL file: comments dropped, split on ';' outside $$ bodies. */
function statements(file: string): string[] {
  const text = readFileSync(join(BENCH_SQL, file), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  const parts = text.split('$$');
  const out: string[] = [];
  let current = '';
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      current += `$$${part}$$`;
      return;
    }
    const pieces = part.split(';');
    pieces.forEach((piece, j) => {
      current += piece;
      if (j < pieces.length - 1) {
        if (current.trim() !== '') out.push(current.trim());
        current = '';
      }
    });
  });
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/** The catalog's squash(), as catalog.ts spells it, to key the vocabulary tables. */
const squash = (text: string): string =>
  text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

/** A short label for a load statement: "clean → touches", "index touches_contact_time_idx". */
function describe(sql: string): string {
  const words = sql.replace(/\s+/g, ' ').split(' ');
  if (words[0] === 'CREATE' && words.includes('TABLE')) {
    const name = words[words.indexOf('TABLE') + 1] ?? '?';
    return name.startsWith('parsed_') ? `clean: parse → ${name}` : `clean: filter, dedupe → ${name}`;
  }
  if (words[0] === 'CREATE' && words.includes('INDEX'))
    return `index ${words[words.indexOf('INDEX') + 1] ?? '?'}`;
  if (words[0] === 'DROP') return 'clean: drop the parse tables';
  return words.join(' ').toLowerCase();
}

function psqlCopy(table: string, columns: readonly string[], file: string): void {
  const command = `\\copy ${SCHEMA}.${table} (${columns.join(', ')}) FROM '${file.replaceAll("'", "''")}' WITH (FORMAT csv, HEADER true)`;
  const result = spawnSync(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      pgConfig.host,
      '-p',
      String(pgConfig.port),
      '-U',
      pgConfig.user,
      '-d',
      pgConfig.database,
      '-c',
      command,
    ],
    { encoding: 'utf8' },
  );
  if (result.error !== undefined) throw new Error(`psql could not be started: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`psql \\copy into ${table} failed:\n${result.stderr}`);
}

interface Step {
  readonly label: string;
  readonly ms: number;
}

async function loadPostgres(client: pg.Client, challengeDir: string): Promise<Step[]> {
  const steps: Step[] = [];
  const step = async (label: string, work: () => unknown): Promise<void> => {
    const { ms } = await timed(work);
    steps.push({ label, ms });
    say(`  load: ${label.padEnd(44)} ${fmtS(ms)}`);
  };
  const staging = stagingTables(challengeDir);
  await step('schema, staging tables, vocabularies', async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(`SET search_path = ${SCHEMA}`);
    for (const s of staging) {
      await client.query(
        `CREATE UNLOGGED TABLE ${s.table} (${s.columns.map((c) => `${c} text`).join(', ')})`,
      );
    }
    for (const [table, names] of [
      ['channel_vocab', DEFAULT_CHANNELS],
      ['segment_vocab', DEFAULT_SEGMENTS],
    ] as const) {
      await client.query(`CREATE TABLE ${table} (spelling text PRIMARY KEY, name text NOT NULL)`);
      await client.query(`INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::text[])`, [
        names.map(squash),
        [...names],
      ]);
    }
  });
  for (const s of staging) await step(`\\copy ${s.table}`, () => psqlCopy(s.table, s.columns, s.file));
  const functions = statements('clean.sql').filter((sql) => sql.startsWith('CREATE FUNCTION'));
  await step('clean: helper functions', async () => {
    for (const sql of functions) await client.query(sql);
  });
  for (const sql of [...statements('clean.sql'), ...statements('indexes.sql')]) {
    if (sql.startsWith('CREATE FUNCTION')) continue;
    await step(describe(sql), () => client.query(sql));
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// 4. The first_touch query

interface SqlCell {
  channel: string;
  sales_segment: string;
  pipeline_amount: string;
  opportunities: number;
}

interface QueryTiming {
  readonly name: string;
  readonly times: number[];
  readonly rows: SqlCell[];
}

async function timeQuery(client: pg.Client, name: string, file: string): Promise<QueryTiming> {
  const sql = readFileSync(join(BENCH_SQL, file), 'utf8');
  const times: number[] = [];
  let rows: SqlCell[] = [];
  for (let i = 0; i < runs; i += 1) {
    const { value, ms } = await timed(() => client.query<SqlCell>(sql, [settings.windowMs]));
    times.push(ms);
    rows = value.rows;
    say(`  query ${name} run ${i + 1}: ${fmtS(ms)}`);
  }
  return { name, times, rows };
}

// ---------------------------------------------------------------------------------------------
// 5. Cross-check

/** Exact numeric text from Postgres → cents, half-even, by Touchline's own formatCents. */
function centsHalfEven(exact: string): string {
  const parsed = parseAmount(exact);
  if (parsed.kind !== 'ok') throw new Error(`unexpected sum from Postgres: ${exact}`);
  return formatCents(parsed.nanos);
}

function compareCells(touchline: RunnerReport['firstTouch'], sql: readonly SqlCell[]): string[] {
  const key = (channel: string, segment: string): string => `${channel} / ${segment}`;
  const ours = new Map(touchline.map((r) => [key(r.channel, r.sales_segment), r]));
  const theirs = new Map(
    sql.map((r) => [
      key(r.channel, r.sales_segment),
      { ...r, pipeline_amount: centsHalfEven(r.pipeline_amount) },
    ]),
  );
  const diffs: string[] = [];
  for (const k of new Set([...ours.keys(), ...theirs.keys()])) {
    const a = ours.get(k);
    const b = theirs.get(k);
    if (a === undefined || b === undefined)
      diffs.push(`${k}: only in ${a === undefined ? 'Postgres' : 'Touchline'}`);
    else if (a.pipeline_amount !== b.pipeline_amount || a.opportunities !== b.opportunities) {
      diffs.push(
        `${k}: Touchline ${a.pipeline_amount} (${a.opportunities} opps) vs Postgres ${b.pipeline_amount} (${b.opportunities} opps)`,
      );
    }
  }
  return diffs;
}

/** Rows read and accepted per input, Touchline's quality report against the Postgres tables. */
async function compareQuality(client: pg.Client, report: RunnerReport): Promise<string[]> {
  const count = async (table: string): Promise<number> =>
    Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
  const SOURCES: Record<string, string[]> = {
    'contacts.ndjson': ['contacts.ndjson', 'de_hw_contact_data.csv'],
    'touchpoints.ndjson': ['touchpoints.ndjson', 'de_hw_marketing_data.csv', 'de_hw_sales_outreach_data.csv'],
    'opportunities.ndjson': ['opportunities.ndjson', 'de_hw_opportunity_data.csv'],
  };
  /** One input kind's counts, whichever format Touchline read (the CSVs split touches in two files). */
  const source = (name: string): { read: number; accepted: number } | undefined => {
    const own = report.quality.filter((q) => (SOURCES[name] ?? [name]).includes(q.source));
    if (own.length === 0) return undefined;
    return { read: own.reduce((n, q) => n + q.read, 0), accepted: own.reduce((n, q) => n + q.accepted, 0) };
  };
  const pairs: [string, number | undefined, number][] = [
    ['contacts read', source('contacts.ndjson')?.read, await count('stg_contacts')],
    ['contacts accepted', source('contacts.ndjson')?.accepted, await count('contacts')],
    [
      'touches read',
      source('touchpoints.ndjson')?.read,
      (await count('stg_marketing')) + (await count('stg_sales')),
    ],
    ['touches accepted', source('touchpoints.ndjson')?.accepted, await count('touches')],
    ['opportunities read', source('opportunities.ndjson')?.read, await count('stg_opportunities')],
    ['opportunities accepted', source('opportunities.ndjson')?.accepted, await count('opportunities')],
  ];
  return pairs.map(
    ([label, t, p]) =>
      `${label.padEnd(24)} Touchline ${fmtInt(t ?? NaN).padStart(11)}  Postgres ${fmtInt(p).padStart(11)}  ${t === p ? 'same' : 'DIFFERENT'}`,
  );
}

// ---------------------------------------------------------------------------------------------
// DuckDB, in a child process too, and the five-model cross-check

interface ChildRun<T> {
  readonly report: T;
  readonly timeMaxRssKb: number | null;
}

async function runChild<T>(script: string, args: readonly string[]): Promise<ChildRun<T>> {
  const nodeArgs = ['--import', 'tsx', join(HERE, 'bench', script), ...args];
  const useTime = hasGnuTime();
  const [command, argv] = useTime
    ? ['/usr/bin/time', ['-v', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${stderr}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { report, timeMaxRssKb: rss?.[1] === undefined ? null : Number(rss[1]) };
}

function tlAccepted(report: RunnerReport, kind: 'contact' | 'touch' | 'opportunity'): number {
  const files = {
    contact: ['contacts.ndjson', 'de_hw_contact_data.csv'],
    touch: ['touchpoints.ndjson', 'de_hw_marketing_data.csv', 'de_hw_sales_outreach_data.csv'],
    opportunity: ['opportunities.ndjson', 'de_hw_opportunity_data.csv'],
  }[kind];
  return report.quality.filter((q) => files.includes(q.source)).reduce((n, q) => n + q.accepted, 0);
}

/**
 * Cell by cell, every model: first_touch, last_touch and every Unattributed cell are exact sums
 * on both sides, so they must agree to the cent (half-even); the split models' DuckDB sums are
 * DOUBLEs (amount × floating share), so they must agree within one cent. Opportunity counts exactly.
 */
function compareFiveModels(touchline: RunnerReport['cells'], duck: readonly DuckDbCell[]): string[] {
  const key = (c: { model: string; channel: string; sales_segment: string }): string =>
    `${c.model} / ${c.channel} / ${c.sales_segment}`;
  const ours = new Map(touchline.map((c) => [key(c), c]));
  const theirs = new Map(duck.map((c) => [key(c), c]));
  const diffs: string[] = [];
  for (const k of new Set([...ours.keys(), ...theirs.keys()])) {
    const a = ours.get(k);
    const b = theirs.get(k);
    if (a === undefined || b === undefined) {
      diffs.push(`${k}: only in ${a === undefined ? 'DuckDB' : 'Touchline'}`);
      continue;
    }
    const exact =
      b.exact_amount !== null &&
      (a.model === 'first_touch' || a.model === 'last_touch' || a.channel === 'Unattributed');
    const same = exact
      ? centsHalfEven(a.exact_amount) === centsHalfEven(b.exact_amount ?? '')
      : Math.abs(Number(a.exact_amount) - b.float_amount) <= 0.01;
    if (!same || a.opportunities !== b.opportunities) {
      diffs.push(
        `${k}: Touchline ${a.exact_amount} (${a.opportunities} opps) vs DuckDB ${exact ? b.exact_amount : b.float_amount} (${b.opportunities} opps)`,
      );
    }
  }
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  say(
    `Touchline batch-replay benchmark — node ${process.version}, ${cpus().length} CPUs, load average ${loadAverage()}, code ${codeVersion()}`,
  );
  const dir = await ensureDataset();

  say(
    `\nTouchline: replay of the ${touchlineFormat === 'challenge' ? 'challenge CSVs' : 'events format'}, all five models, in memory (child process, ${runs} runs) ...`,
  );
  const tlRuns: TouchlineRun[] = [];
  for (let i = 0; i < runs; i += 1) {
    const run = await runTouchline(join(dir, touchlineFormat));
    tlRuns.push(run);
    const rss = Math.max(run.report.maxRssKb, run.timeMaxRssKb ?? 0);
    say(
      `  run ${i + 1}: replay ${fmtS(run.report.replayMs)} (process ${fmtS(run.processMs)}), peak RSS ${fmtMb(rss)}`,
    );
  }
  const bestRun = [...tlRuns].sort((a, b) => a.report.replayMs - b.report.replayMs)[0];
  if (bestRun === undefined) throw new Error('Touchline did not run');
  const r = bestRun.report;
  const tlBestMs = r.replayMs;
  const tlMedianMs = median(tlRuns.map((t) => t.report.replayMs));
  const peakKb = Math.max(...tlRuns.map((t) => Math.max(t.report.maxRssKb, t.timeMaxRssKb ?? 0)));
  const eventsPerSecond = r.records / (tlBestMs / 1000);
  say(`  models: ${r.models.join(', ')}`);
  say(`  records read ${fmtInt(r.records)}, opportunities attributed ${fmtInt(r.opportunities)}`);
  say(
    `  replay best ${fmtS(tlBestMs)}, median ${fmtS(tlMedianMs)}; ${fmtInt(eventsPerSecond)} events/s (best)`,
  );
  say(
    `  peak RSS ${fmtMb(peakKb)} (max over runs of resourceUsage().maxRSS${bestRun.timeMaxRssKb === null ? '' : ' and /usr/bin/time -v'}); heap used at end ${r.heapUsedMb.toFixed(0)} MB`,
  );

  let duckOk = true;
  if (flags['skip-duckdb'] !== true) {
    say(
      `\nDuckDB: the five models in SQL over the same challenge CSVs (child process, ${runs} runs; load + query, wall) ...`,
    );
    const duckRuns: ChildRun<DuckDbReport>[] = [];
    for (let i = 0; i < runs; i += 1) {
      const run = await runChild<DuckDbReport>('duckdb-runner.ts', [
        join(dir, 'challenge'),
        String(settings.windowMs),
        String(settings.halfLifeMs),
        duckdbDecimal,
      ]);
      duckRuns.push(run);
      say(
        `  run ${i + 1}: wall ${fmtS(run.report.wallMs)} (load ${fmtS(run.report.loadMs)}, query ${fmtS(run.report.queryMs)}), peak RSS ${fmtMb(Math.max(run.report.maxRssKb, run.timeMaxRssKb ?? 0))}`,
      );
    }
    const best = [...duckRuns].sort((a, b) => a.report.wallMs - b.report.wallMs)[0];
    if (best === undefined) throw new Error('DuckDB did not run');
    const d = best.report;
    say(`  DuckDB ${d.version}, threads ${d.threads}, amounts ${d.decimal}`);
    say(
      `  load steps (best run): ${d.steps
        .filter((st) => st.ms >= 10)
        .map((st) => `${st.label} ${fmtS(st.ms)}`)
        .join(', ')}`,
    );
    const diffs = compareFiveModels(r.cells, d.cells);
    duckOk = diffs.length === 0;
    say(
      `  cross-check, cell by cell, all five models: ${duckOk ? `MATCH (${d.cells.length} cells; first/last touch and Unattributed to the cent, split models within a cent)` : `DIFF\n${diffs.map((x) => `    ${x}`).join('\n')}`}`,
    );
    const accepted = [
      ['contacts', tlAccepted(r, 'contact'), d.accepted.contacts],
      ['touches', tlAccepted(r, 'touch'), d.accepted.touches],
      ['opportunities', tlAccepted(r, 'opportunity'), d.accepted.opportunities],
    ] as const;
    for (const [label, t, k] of accepted) {
      say(
        `  accepted ${label.padEnd(14)} Touchline ${fmtInt(t).padStart(11)}  DuckDB ${fmtInt(k).padStart(11)}  ${t === k ? 'same' : 'DIFFERENT'}`,
      );
    }
    const duckMedian = median(duckRuns.map((x) => x.report.wallMs));
    const duckPeak = Math.max(...duckRuns.map((x) => Math.max(x.report.maxRssKb, x.timeMaxRssKb ?? 0)));
    say('\n---------------- Touchline vs DuckDB, five models, same CSV files ----------------');
    say(
      `                 ${'Touchline'.padStart(12)} ${'DuckDB'.padStart(12)}   ratio (DuckDB / Touchline; > 1 = Touchline better)`,
    );
    say(
      `wall, best      ${fmtS(tlBestMs).padStart(12)} ${fmtS(d.wallMs).padStart(12)}   ${(d.wallMs / tlBestMs).toFixed(2)}`,
    );
    say(
      `wall, median    ${fmtS(tlMedianMs).padStart(12)} ${fmtS(duckMedian).padStart(12)}   ${(duckMedian / tlMedianMs).toFixed(2)}`,
    );
    say(
      `peak RSS        ${fmtMb(peakKb).padStart(12)} ${fmtMb(duckPeak).padStart(12)}   ${(duckPeak / peakKb).toFixed(2)}`,
    );
    say(
      '(Touchline: read + parse + validate + state + attribute + totals, one thread; DuckDB: read_csv + clean + five-model query, all cores;',
    );
    say(' both as child processes of Node, whose own ~50 MB is in both RSS figures)');
    say('-----------------------------------------------------------------------------------');
  }

  if (flags['skip-postgres'] === true) return duckOk ? 0 : 1;

  const client = new pg.Client(pgConfig);
  await client.connect();
  try {
    const server = await client.query<{
      version: string;
      shared_buffers: string;
      work_mem: string;
      workers: string;
    }>(
      `SELECT split_part(version(), ' ', 2) AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('work_mem') AS work_mem, current_setting('max_parallel_workers_per_gather') AS workers`,
    );
    const s = server.rows[0];
    if (workMem !== 'server') await client.query(`SET work_mem = '${workMem}'`);
    const sessionWorkMem =
      (await client.query<{ work_mem: string }>('SHOW work_mem')).rows[0]?.work_mem ?? '?';
    say(
      `\nPostgres ${s?.version ?? '?'} at ${pgConfig.host}:${pgConfig.port}/${pgConfig.database}: server defaults (shared_buffers ${s?.shared_buffers}, work_mem ${s?.work_mem}, parallel workers/gather ${s?.workers}); this session: work_mem ${sessionWorkMem}`,
    );
    say(
      'Postgres load: challenge CSVs of the same dataset → staging (\\copy) → cleaned typed tables → indexes → VACUUM (ANALYZE)',
    );
    const steps = await loadPostgres(client, join(dir, 'challenge'));
    const loadMs = steps.reduce((sum, st) => sum + st.ms, 0);
    say(`  load total ${fmtS(loadMs)}`);
    const size = await client.query<{ size: string }>(
      `SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname NOT LIKE 'stg\\_%'`,
      [SCHEMA],
    );
    say(`  cleaned tables + indexes on disk: ${size.rows[0]?.size ?? '?'}`);

    say(`\nPostgres first_touch query (${runs} runs each formulation):`);
    const queries = [
      await timeQuery(client, 'lateral', 'first-touch-lateral.sql'),
      await timeQuery(client, 'join', 'first-touch-join.sql'),
    ];

    say('\nCross-check: first_touch cells, Touchline vs Postgres (cents, half-even; opportunity counts)');
    let allMatch = true;
    for (const q of queries) {
      const diffs = compareCells(r.firstTouch, q.rows);
      allMatch &&= diffs.length === 0;
      say(
        diffs.length === 0
          ? `  ${q.name}: MATCH (${q.rows.length} cells)`
          : `  ${q.name}: DIFF\n${diffs.map((d) => `    ${d}`).join('\n')}`,
      );
    }
    say('Cross-check: rows read / accepted after cleaning');
    for (const line of await compareQuality(client, r)) say(`  ${line}`);

    const best = queries
      .map((q) => ({ name: q.name, best: Math.min(...q.times), median: median(q.times) }))
      .sort((a, b) => a.best - b.best);
    const fastest = best[0];
    if (fastest === undefined) throw new Error('no query ran');
    const ratio = fastest.best / tlBestMs;

    say('\n================ summary ================');
    say(
      `data                      ${fmtInt(touches)} touches, ${fmtInt(opportunities)} opportunities, ${fmtInt(contacts)} contacts (seed ${seed}); ${fmtInt(r.records)} records`,
    );
    say(`Touchline events/s        ${fmtInt(eventsPerSecond)}`);
    say(
      `Touchline wall, 5 models  best ${fmtS(tlBestMs)}, median ${fmtS(tlMedianMs)}  (read + parse + validate + state + attribute + totals)`,
    );
    say(
      `Touchline peak RSS        ${fmtMb(peakKb)}  ${peakKb * 1024 < GIB ? '< 1 GiB: yes' : '< 1 GiB: NO'}`,
    );
    say(`Postgres load             ${fmtS(loadMs)}  (\\copy + clean + indexes + VACUUM/ANALYZE)`);
    for (const q of best)
      say(`Postgres first_touch      ${q.name.padEnd(8)} best ${fmtS(q.best)}, median ${fmtS(q.median)}`);
    say(
      `ratio                     ${ratio.toFixed(2)}  (best Postgres first_touch ${fmtS(fastest.best)} / best Touchline 5 models ${fmtS(tlBestMs)}; > 1 = Touchline faster)`,
    );
    say(
      `ratio incl. load          ${((loadMs + fastest.best) / tlBestMs).toFixed(2)}  ((Postgres load + query) / Touchline)`,
    );
    say(`first_touch cross-check   ${allMatch ? 'MATCH' : 'DIFF'}`);
    say(
      `machine                   ${cpus().length} CPUs, load average now ${loadAverage()} (other work on the machine skews every figure)`,
    );
    say('==========================================');
    if (flags['keep-schema'] !== true) await client.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    return allMatch && duckOk ? 0 : 1;
  } finally {
    await client.end();
  }
}

process.exitCode = await main();
