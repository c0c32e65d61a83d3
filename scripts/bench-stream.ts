/**
 * Streaming benchmark: `touchline serve` against real Kafka, Apicurio Registry, Redis and
 * Postgres. It prints figures and asserts nothing about timing (exit 1 only when a phase could
 * not finish: records never consumed, the service died, ...).
 *
 *   npm run bench:stream                                            # 200,000 events
 *   npm run bench:stream -- --contacts 2000 --opportunities 1000 --touches 17000   # quick run
 *   npm run bench:stream -- --cpu-prof                              # + a CPU profile of the service
 *
 * Phases: (1) generate the dataset once with `touchline generate` into .bench/ (reused);
 * (2) produce it once, as fast as possible, to fresh isolated input topics; (3) bare-consumer
 * baseline: a plain kafkajs consumer in a new group that only decodes the Avro values;
 * (4) Touchline in a child process, consuming the same topics from the beginning, timed until
 * its group has committed every input partition to the end; (5) latency: with the service
 * caught up, a second, fresh stream (another seed, later event times, ids prefixed with "L")
 * is produced at a fixed share of the rate measured in (4), while probe opportunities are
 * produced alone and looked for in Postgres; (6) the service's peak RSS (VmHWM);
 * (7) a summary against the goals; (8) cleanup: service stopped with SIGTERM, topics, consumer
 * groups, registry subjects, Postgres schema and Redis keys of the run deleted.
 *
 * Services come from KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL
 * (`eval "$(bash scripts/services.sh env)"`), defaulting to scripts/services.sh's addresses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Admin, Producer } from 'kafkajs';
import pg from 'pg';
import { createAvroCodec, createSchemaRegistry, type AvroCodec } from '../src/adapters/kafka/avro-codec.js';
import { createKafka, ensureTopics } from '../src/adapters/kafka/client.js';
import { topicsFromEnv, type TopicNames } from '../src/adapters/kafka/topics.js';
import { tablesOf } from '../src/adapters/postgres/statements.js';
import { DEFAULT_GENERATE } from '../src/app/generate/generate.js';
import { runGenerate } from '../src/cli/generate.js';
import { readMessages } from '../src/cli/produce.js';
import { MS_PER_DAY } from '../src/domain/time.js';
import { withClient } from '../test/support/postgres.js';
import { deleteRedisKeys, dropSchema, groupLag, isolatedRun, SERVICES } from '../test/support/services.js';
import {
  bareConsume,
  encodeMessages,
  endOffsets,
  inputTopics,
  prefixIds,
  sendAll,
  sendAtRate,
  type EncodedMessage,
} from './bench/stream-kafka.js';
import {
  byLabel,
  histogramDelta,
  histogramOf,
  histogramQuantile,
  parseMetrics,
  quantileOf,
  shareAtOrBelow,
  sumOf,
  type Histogram,
  type Sample,
} from './bench/stream-metrics.js';
import { cpuBetween, cpuSnapshot, formatCpu } from './bench/stream-cpu.js';
import { formatActivity, sampleActivity } from './bench/stream-pg.js';
import { formatSummary, summariseProfile } from './bench/stream-profile.js';
import { buildService, spawnService, type Runtime, type ServiceChild } from './bench/stream-service.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const LATENCY_METRIC = 'touchline_attribution_latency_seconds';

const GOALS = {
  eventsPerSecond: 20_000,
  shareOfBare: 0.4,
  p99Seconds: 0.5,
  rssMb: 256,
};

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench:stream -- [options]
  --contacts N          contacts (default 20000)
  --opportunities N     opportunities (default 10000)
  --touches N           touches (default 170000)
  --seed N              generator seed (default 42; the latency stream uses seed + 1)
  --dirty-rate R        share of dirty rows (default ${DEFAULT_GENERATE.dirtyRate}, the generator's)
  --no-dimensions       data without campaigns, UTM-only touches, currencies and FX rates (as before issue 9)
  --partitions N        partitions of each input topic (default 6, the service's default)
  --concurrency N       CONSUMER_PARTITIONS_CONCURRENTLY of the service (default 3, its default)
  --bare-runs N         runs of the bare consumer, each in a new group; the median counts (default 3)
  --produce-batch N     records per produce request in phase 2 (default 5000)
  --latency-share R     latency stream rate as a share of the measured Touchline rate (default 0.7)
  --latency-seconds N   duration of the latency stream (default 25)
  --probe-ms N          one probe opportunity every N ms during the latency stream (default 100)
  --runtime build|tsx   build: tsc into .bench/stream-build, run node on the JS (default);
                        tsx: node --import tsx src/main.ts serve
  --cpu-prof            run the service under node --cpu-prof and summarise the profile
  --node-options TEXT   NODE_OPTIONS for the service process (e.g. --max-old-space-size=160)
  --skip-latency        stop after phase 4 (e.g. to profile the catch-up alone)
  --pg-activity         sample the service's pg_stat_activity every 100 ms (costs some CPU)
  --cache DIR           where generated datasets are kept (default .bench)
  --timeout-s N         give up on a phase after N seconds (default 900)
  --keep                leave topics, groups, schema, Redis keys in place (default: deleted)`;

const { values: flags } = parseArgs({
  options: {
    contacts: { type: 'string' },
    opportunities: { type: 'string' },
    touches: { type: 'string' },
    seed: { type: 'string' },
    'dirty-rate': { type: 'string' },
    'no-dimensions': { type: 'boolean' },
    partitions: { type: 'string' },
    concurrency: { type: 'string' },
    'produce-batch': { type: 'string' },
    'bare-runs': { type: 'string' },
    'latency-share': { type: 'string' },
    'latency-seconds': { type: 'string' },
    'probe-ms': { type: 'string' },
    runtime: { type: 'string' },
    'cpu-prof': { type: 'boolean' },
    'node-options': { type: 'string' },
    'skip-latency': { type: 'boolean' },
    'pg-activity': { type: 'boolean' },
    cache: { type: 'string' },
    'timeout-s': { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const int = (value: string | undefined, fallback: number, name: string, min = 0): number => {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
};
const share = (value: string | undefined, fallback: number, name: string): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!(n >= 0 && n <= 1)) throw new Error(`--${name} must be between 0 and 1, got "${value}"`);
  return n;
};
const options = {
  contacts: int(flags.contacts, 20_000, 'contacts', 1),
  opportunities: int(flags.opportunities, 10_000, 'opportunities'),
  touches: int(flags.touches, 170_000, 'touches'),
  seed: int(flags.seed, 42, 'seed'),
  dirtyRate: share(flags['dirty-rate'], DEFAULT_GENERATE.dirtyRate, 'dirty-rate'),
  dimensions: flags['no-dimensions'] !== true,
  partitions: int(flags.partitions, 6, 'partitions', 1),
  concurrency: int(flags.concurrency, 3, 'concurrency', 1),
  bareRuns: int(flags['bare-runs'], 3, 'bare-runs', 1),
  produceBatch: int(flags['produce-batch'], 5_000, 'produce-batch', 1),
  latencyShare: share(flags['latency-share'], 0.7, 'latency-share'),
  latencySeconds: int(flags['latency-seconds'], 25, 'latency-seconds', 1),
  probeMs: int(flags['probe-ms'], 100, 'probe-ms', 10),
  runtime: (flags.runtime ?? 'build') as Runtime,
  cpuProf: flags['cpu-prof'] === true,
  nodeOptions: flags['node-options'],
  skipLatency: flags['skip-latency'] === true,
  pgActivity: flags['pg-activity'] === true,
  cacheRoot: resolve(ROOT, flags.cache ?? '.bench'),
  timeoutMs: int(flags['timeout-s'], 900, 'timeout-s', 1) * 1000,
  keep: flags.keep === true,
};
if (options.runtime !== 'build' && options.runtime !== 'tsx')
  throw new Error(`--runtime must be build or tsx, got "${String(flags.runtime)}"`);

// ---------------------------------------------------------------------------------------------
// Small helpers

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const fmtMs = (seconds: number): string =>
  Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(0)} ms` : '∞';
const fmtMb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
/** CliIo for the product's commands whose per-row messages the benchmark does not print. */
const QUIET = { stdout: () => undefined, stderr: () => undefined };
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const loadAverage = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const met = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

function codeVersion(): string {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === '') return 'unknown (no git)';
  return git('status', '--porcelain', '--', 'src') === ''
    ? commit
    : `${commit} + uncommitted changes in src/`;
}

async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Polls `probe` every `everyMs` until it returns true; false when `timeoutMs` passed first. */
async function until(probe: () => Promise<boolean>, everyMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return true;
    await sleep(everyMs);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// 1. Data: `touchline generate`, once per size and seed

interface Size {
  readonly contacts: number;
  readonly opportunities: number;
  readonly touches: number;
}

async function ensureDataset(size: Size, seed: number, start: string, label: string): Promise<string> {
  const dirty = options.dirtyRate === DEFAULT_GENERATE.dirtyRate ? '' : `-d${options.dirtyRate}`;
  const at = start === DEFAULT_GENERATE.start ? '' : `-${start.slice(0, 10)}`;
  const plain = options.dimensions ? '' : '-plain';
  const dir = join(
    options.cacheRoot,
    `stream-c${size.contacts}-o${size.opportunities}-t${size.touches}-s${seed}${dirty}${at}${plain}`,
  );
  if (existsSync(join(dir, 'complete.json'))) {
    say(`  ${label}: reusing ${dir}`);
    return dir;
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const argv = [
    '--out',
    tmp,
    '--seed',
    String(seed),
    '--contacts',
    String(size.contacts),
    '--opportunities',
    String(size.opportunities),
    '--touches',
    String(size.touches),
    '--dirty-rate',
    String(options.dirtyRate),
    '--start',
    start,
    ...(options.dimensions ? [] : ['--no-dimensions']),
  ];
  let output = '';
  const io = { stdout: (text: string) => (output += text), stderr: (text: string) => (output += text) };
  const { value: code, ms } = await timed(() => runGenerate(argv, io));
  if (code !== 0) throw new Error(`touchline generate failed (${code}): ${output}`);
  writeFileSync(join(tmp, 'complete.json'), `${JSON.stringify({ argv, output }, null, 2)}\n`);
  renameSync(tmp, dir);
  say(`  ${label}: ${output.trim().replaceAll(tmp, dir)} — ${fmtS(ms)}`);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The run's isolated names (test/support/services.ts isolatedRun, as the tests get theirs)

function isolatedNames(): { id: string; env: Record<string, string>; topics: TopicNames } {
  const { id, env } = isolatedRun(
    'bench',
    {
      TOPIC_PARTITIONS: String(options.partitions),
      CONSUMER_PARTITIONS_CONCURRENTLY: String(options.concurrency),
      LOG_LEVEL: 'info',
      ...(options.nodeOptions === undefined ? {} : { NODE_OPTIONS: options.nodeOptions }),
    },
    'bench',
  );
  return { id, env: { ...env, KAFKA_CLIENT_ID: `touchline-${id}` }, topics: topicsFromEnv(env) };
}

// ---------------------------------------------------------------------------------------------
// 8. Cleanup: everything the run created, whatever happened

async function cleanup(run: {
  env: Record<string, string>;
  topics: TopicNames;
  groups: string[];
  admin: Admin;
  service: ServiceChild | null;
}): Promise<void> {
  const step = async (label: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      const { ms } = await timed(work);
      say(`  ${label} (${fmtS(ms)})`);
    } catch (error) {
      say(`  ${label}: FAILED ${(error as Error).message}`);
    }
  };
  if (run.service !== null) {
    const service = run.service;
    await step('service stopped with SIGTERM', async () => say(`  service: ${await service.stop(30_000)}`));
  }
  if (options.keep) {
    say(
      `  --keep: left topics ${run.env['TOPIC_TOUCHPOINTS']}…, schema ${run.env['PG_SCHEMA']}, Redis ${run.env['REDIS_KEY_PREFIX']}*`,
    );
    return;
  }
  const all = [
    run.topics.touchpoints,
    run.topics.contacts,
    run.topics.opportunities,
    run.topics.pipeline,
    run.topics.dlq,
    run.topics.fxRates,
  ];
  await step('topics deleted', async () => {
    const existing = new Set(await run.admin.listTopics());
    const topics = all.filter((t) => existing.has(t));
    if (topics.length > 0) await run.admin.deleteTopics({ topics, timeout: 30_000 });
  });
  await step('consumer groups deleted', async () => {
    const listed = new Set((await run.admin.listGroups()).groups.map((g) => g.groupId));
    const groups = run.groups.filter((g) => listed.has(g));
    if (groups.length > 0) await run.admin.deleteGroups(groups);
  });
  await step('registry subjects deleted', async () => {
    const registry = run.env['SCHEMA_REGISTRY_URL'] ?? '';
    for (const topic of all) {
      for (const suffix of ['key', 'value']) {
        const subject = encodeURIComponent(`${topic}-${suffix}`);
        const soft = await fetch(`${registry}/subjects/${subject}`, { method: 'DELETE' });
        if (soft.ok) await fetch(`${registry}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
      }
    }
  });
  await step(`Postgres schema ${run.env['PG_SCHEMA']} dropped`, () => dropSchema(run.env));
  await step(`Redis keys ${run.env['REDIS_KEY_PREFIX']}* deleted`, async () =>
    say(`  ${fmtInt(await deleteRedisKeys(run.env))} Redis keys`),
  );
}

// ---------------------------------------------------------------------------------------------
// Service HTTP

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

async function isReady(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/**
 * Samples the service's own memory gauges every `everyMs` and keeps the sample taken at the
 * highest RSS: what the resident set was made of at its peak (V8 heap vs. off-heap buffers).
 */
interface MemorySample {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
}
function sampleMemory(port: number, everyMs: number): { stop(): Promise<MemorySample | null> } {
  let running = true;
  let peak: MemorySample | null = null;
  const loop = (async () => {
    while (running) {
      try {
        const m = await scrape(port);
        const sample = {
          rss: sumOf(m, 'process_resident_memory_bytes'),
          heapTotal: sumOf(m, 'nodejs_heap_size_total_bytes'),
          heapUsed: sumOf(m, 'nodejs_heap_size_used_bytes'),
          external: sumOf(m, 'nodejs_external_memory_bytes'),
        };
        if (peak === null || sample.rss > peak.rss) peak = sample;
      } catch {
        // the service is busy or stopping: skip this sample
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
const fmtMemory = (m: MemorySample | null): string => {
  if (m === null) return 'no sample';
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  return `RSS ${mb(m.rss)} = V8 heap ${mb(m.heapTotal)} (${mb(m.heapUsed)} used) + external/array buffers ${mb(m.external)} + code, stacks, native`;
};

/**
 * Rows written by the service, from pg_stat_user_tables (each backend reports its counters when
 * it goes idle, so the last second or so may be missing), and the rows present now.
 */
async function postgresWrites(env: Record<string, string>): Promise<string> {
  return withClient(async (client) => {
    await sleep(1500);
    const rows = (
      await client.query<{ relname: string; ins: string; upd: string; del: string; live: string }>(
        `SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_del::text AS del, n_live_tup::text AS live
           FROM pg_stat_user_tables WHERE schemaname = $1 AND relname <> 'schema_migrations' ORDER BY relname`,
        [env['PG_SCHEMA']],
      )
    ).rows;
    return rows
      .map(
        (r) =>
          `${r.relname} +${fmtInt(Number(r.ins))} ins / ${fmtInt(Number(r.upd))} upd / ${fmtInt(Number(r.del))} del (${fmtInt(Number(r.live))} live)`,
      )
      .join('; ');
  });
}

interface AnswerWrites {
  readonly answers: number;
  readonly writes: number;
}

/**
 * How often each answer was written, from the answers themselves: every revision of an
 * (opportunity, model) row is one write, so Σ revision / rows = writes per (opportunity, model).
 * (Credit rows undone are not counted: since migration 002 the credits live only in the answer's
 * JSON, attribution_credit is a view over it, and what a rewrite replaced leaves no trace.)
 */
async function answerWrites(env: Record<string, string>): Promise<AnswerWrites> {
  const { answer } = tablesOf(env['PG_SCHEMA'] ?? '');
  return withClient(async (client) => {
    const row = (
      await client.query<{ answers: string; writes: string }>(
        `SELECT count(*)::text AS answers, coalesce(sum(revision), 0)::text AS writes FROM ${answer}`,
      )
    ).rows[0];
    return { answers: Number(row?.answers ?? 0), writes: Number(row?.writes ?? 0) };
  });
}
const writesPerAnswer = (a: AnswerWrites): string =>
  a.answers === 0 ? 'n/a' : (a.writes / a.answers).toFixed(2);
const fmtAnswerWrites = (a: AnswerWrites): string =>
  `answer writes per (opportunity, model) ${writesPerAnswer(a)} (${fmtInt(a.writes)} writes of ${fmtInt(a.answers)} answers)`;

// ---------------------------------------------------------------------------------------------
// 5. Latency: the fixed-rate stream, the probes, the histogram

interface LatencyResult {
  readonly rate: number;
  readonly sent: number;
  readonly sendSeconds: number;
  readonly behindMaxMs: number;
  readonly maxLag: number;
  readonly drainMs: number;
  readonly caughtUp: boolean;
  readonly histogram: Histogram;
  readonly probes: number[];
  readonly probesLost: number;
}

async function latencyPhase(ctx: {
  readonly admin: Admin;
  readonly producer: Producer;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly stream: readonly EncodedMessage[];
  readonly rate: number;
  readonly startEventTime: number;
}): Promise<LatencyResult> {
  const { admin, producer, codec, topics, env, port, stream, rate } = ctx;
  const inputs = inputTopics(topics);
  const group = env['KAFKA_GROUP_ID'] ?? '';
  const before = histogramOf(await scrape(port), LATENCY_METRIC);

  // The probes: one new opportunity at a time, looked for in Postgres every 10 ms.
  const client = new pg.Client({ connectionString: env['DATABASE_URL'] });
  await client.connect();
  const pending = new Map<string, number>();
  const latencies: number[] = [];
  let lastEventTime = ctx.startEventTime;
  let streaming = true;
  let probeCount = 0;
  const probeLoop = (async () => {
    while (streaming) {
      const tickAt = performance.now();
      probeCount += 1;
      const id = `LPROBE${String(probeCount).padStart(6, '0')}`;
      const value = {
        opportunity_id: id,
        op: 'UPSERT',
        account_id: `LPROBEAC${probeCount}`,
        amount: 1_000_000_000_000n,
        created_at: lastEventTime,
        sales_segment: 'Commercial',
        updated_at: lastEventTime,
      };
      const message = {
        key: await codec.encodeKey(topics.opportunities, { opportunity_id: id }),
        value: await codec.encodeValue(topics.opportunities, value),
      };
      pending.set(id, performance.now());
      await producer.send({ topic: topics.opportunities, acks: -1, messages: [message] });
      await sleep(Math.max(0, options.probeMs - (performance.now() - tickAt)));
    }
  })();
  let polling = true;
  const pollLoop = (async () => {
    const sql = `SELECT DISTINCT opportunity_id FROM "${env['PG_SCHEMA']}".opportunity_answer WHERE opportunity_id = ANY($1::text[])`;
    while (polling) {
      if (pending.size > 0) {
        const ids = [...pending.keys()];
        const rows = (await client.query<{ opportunity_id: string }>(sql, [ids])).rows;
        const now = performance.now();
        for (const row of rows) {
          const sentAt = pending.get(row.opportunity_id);
          if (sentAt === undefined) continue;
          latencies.push((now - sentAt) / 1000);
          pending.delete(row.opportunity_id);
        }
      }
      await sleep(10);
    }
  })();
  let maxLag = 0;
  let lagging = true;
  const lagLoop = (async () => {
    while (lagging) {
      maxLag = Math.max(maxLag, await groupLag(admin, group, inputs));
      await sleep(1000);
    }
  })();

  let sendResult: Awaited<ReturnType<typeof sendAtRate>>;
  let caughtUp = false;
  let drainMs = 0;
  try {
    sendResult = await sendAtRate(producer, stream, rate, 20, (_, eventTime) => {
      lastEventTime = eventTime;
    });
    streaming = false;
    await probeLoop;
    const drainStarted = performance.now();
    caughtUp = await until(
      async () => pending.size === 0 && (await groupLag(admin, group, inputs)) === 0,
      50,
      120_000,
    );
    drainMs = performance.now() - drainStarted;
  } finally {
    streaming = false;
    polling = false;
    lagging = false;
    await Promise.allSettled([probeLoop, pollLoop, lagLoop]);
    await client.end();
  }
  const after = histogramOf(await scrape(port), LATENCY_METRIC);
  return {
    rate,
    sent: sendResult.sent,
    sendSeconds: sendResult.seconds,
    behindMaxMs: sendResult.behindMaxMs,
    maxLag,
    drainMs,
    caughtUp,
    histogram: histogramDelta(after, before),
    probes: latencies,
    probesLost: pending.size,
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  say(
    `Touchline streaming benchmark — node ${process.version}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, load average ${loadAverage()}, code ${codeVersion()}`,
  );
  say(
    `services: Kafka ${SERVICES.KAFKA_BROKERS}, registry ${SERVICES.SCHEMA_REGISTRY_URL}, ${SERVICES.REDIS_URL}, ${SERVICES.DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}`,
  );

  say('\n1. data (touchline generate)');
  const size: Size = {
    contacts: options.contacts,
    opportunities: options.opportunities,
    touches: options.touches,
  };
  const dataDir = await ensureDataset(size, options.seed, DEFAULT_GENERATE.start, 'main dataset');

  const { id, env, topics } = isolatedNames();
  const inputs = inputTopics(topics);
  const group = env['KAFKA_GROUP_ID'] ?? '';
  const bareGroup = `${group}-bare`;
  say(
    `\nrun ${id}: topics ${id}.*, groups ${group} and ${bareGroup}-N, Postgres schema ${env['PG_SCHEMA']}, Redis prefix ${env['REDIS_KEY_PREFIX']}`,
  );

  const kafka = createKafka({
    brokers: SERVICES.KAFKA_BROKERS.split(','),
    clientId: `touchline-bench-${id}`,
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`${message}\n`);
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const bareGroups = Array.from({ length: options.bareRuns }, (_, i) => `${bareGroup}-${i + 1}`);
  const run = { env, topics, groups: [group, ...bareGroups], admin, service: null as ServiceChild | null };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say('\ninterrupted: cleaning up (again to exit at once)');
    void cleanup(run).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // 2. Produce once, as fast as possible.
    say(
      `\n2. produce (topics of ${options.partitions} partitions, ${fmtInt(options.produceBatch)} records per request)`,
    );
    await ensureTopics(admin, topics, options.partitions, 1);
    const codec = await createAvroCodec(createSchemaRegistry(SERVICES.SCHEMA_REGISTRY_URL), topics);
    const read = await timed(() => readMessages(join(dataDir, 'events'), QUIET, topics));
    const encoded = await timed(() => encodeMessages(codec, read.value.messages));
    const sent = await timed(() => sendAll(producer, encoded.value, options.produceBatch, 1));
    const produced = await endOffsets(admin, inputs);
    const total = produced.total;
    say(
      `  read + map + sort ${fmtS(read.ms)} (${fmtInt(read.value.messages.length)} records, ${read.value.refused} rows refused as unencodable)`,
    );
    say(
      `  Avro encode       ${fmtS(encoded.ms)} (${fmtInt(read.value.messages.length / (encoded.ms / 1000))} records/s)`,
    );
    say(`  send (acks=all)   ${fmtS(sent.ms)} (${fmtInt(total / (sent.ms / 1000))} records/s)`);
    say(
      `  in the topics: ${[...produced.byTopic].map(([t, n]) => `${t.slice(id.length + 1)} ${fmtInt(n)}`).join(', ')}; total ${fmtInt(total)}`,
    );
    if (total !== read.value.messages.length)
      throw new Error(`produced ${read.value.messages.length} but the topics hold ${total}`);

    // 3. Bare consumer baseline.
    say(
      `\n3. bare consumer (kafkajs, new group, from the beginning, Avro value decode only; partitionsConsumedConcurrently ${options.concurrency})`,
    );
    const bareRates: number[] = [];
    for (let i = 1; i <= options.bareRuns; i += 1) {
      const cpu3 = cpuSnapshot();
      const bare = await bareConsume({
        kafka,
        codec,
        groupId: `${bareGroup}-${i}`,
        topics: inputs,
        expected: total,
        partitionsConsumedConcurrently: options.concurrency,
        timeoutMs: options.timeoutMs,
      });
      const rate = bare.records / (bare.sinceJoinMs / 1000);
      bareRates.push(rate);
      const bareCpu = cpuBetween(cpu3, cpuSnapshot(), new Map([[process.pid, 'bench (consumer)']]));
      say(
        `  run ${i}: ${fmtInt(bare.records)} records (${bare.undecodable} undecodable) in ${fmtS(bare.sinceJoinMs)} from group join (${fmtS(bare.sinceFirstMs)} from the first batch, ${fmtS(bare.totalMs)} from connect): ${fmtInt(rate)} records/s`,
      );
      say(`    CPU: ${formatCpu(bareCpu, cpus().length)}`);
    }
    const bareRate = quantileOf(bareRates, 0.5);
    say(
      `  rate: ${fmtInt(bareRate)} records/s (median of ${bareRates.length} runs; each run is short, so it is noisy)`,
    );

    // 4. Touchline, from the beginning.
    say(
      `\n4. Touchline serve (child process, runtime ${options.runtime}${options.cpuProf ? ', --cpu-prof' : ''})`,
    );
    let entry: string | undefined;
    if (options.runtime === 'build') {
      const built = await timed(() => buildService(ROOT, join(options.cacheRoot, 'stream-build')));
      entry = built.value;
      say(`  compiled src/ with tsc into ${dirname(dirname(entry))} (${fmtS(built.ms)})`);
    }
    const spawnedAt = performance.now();
    const service = spawnService({
      root: ROOT,
      runtime: options.runtime,
      ...(entry === undefined ? {} : { entry }),
      env,
      ...(options.cpuProf ? { cpuProfDir: profileDirOf(id) } : {}),
    });
    run.service = service;
    const port = await service.port;
    const listeningAt = performance.now();
    if (!(await until(() => isReady(port), 20, 120_000)))
      throw new Error(`service never became ready:\n${service.stderrTail()}`);
    const readyAt = performance.now();
    const readyRssKb = service.currentRssKb();
    const memory4 = sampleMemory(port, 1000);
    const activity4 = options.pgActivity ? sampleActivity(SERVICES.DATABASE_URL, service.pid, 100) : null;
    const cpu4 = cpuSnapshot();
    let firstCommitAt: number | null = null;
    // Done = every offset committed AND every pending set drained into Postgres (offsets are
    // committed when the state is written; answers follow when the pending sets drain). The
    // pending gauge is read twice, 300 ms apart (> one idle drain cycle), so a gauge from a drain
    // that ran before the last marks cannot end the phase early.
    const drainedSets = async (): Promise<boolean> => {
      const series = byLabel(await scrape(port), 'touchline_pending_opportunities', 'partition');
      return series.size >= options.partitions && [...series.values()].every((n) => n === 0);
    };
    const caughtUp = await until(
      async () => {
        const lag = await groupLag(admin, group, inputs);
        if (lag < total) firstCommitAt ??= performance.now();
        if (lag !== 0 || !(await drainedSets())) return false;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return drainedSets();
      },
      100,
      options.timeoutMs,
    );
    const doneAt = performance.now();
    const cpuUse4 = cpuBetween(
      cpu4,
      cpuSnapshot(),
      new Map([
        [service.pid, 'touchline'],
        [process.pid, 'bench (polling)'],
      ]),
    );
    const memoryPeak4 = await memory4.stop();
    const pgActivity4 = await activity4?.stop();
    if (!caughtUp)
      throw new Error(
        `Touchline did not catch up within ${options.timeoutMs / 1000} s:\n${service.stderrTail()}`,
      );
    const tlMs = doneAt - readyAt;
    const tlRate = total / (tlMs / 1000);
    const catchUpRssKb = service.peakRssKb();
    const m4 = await scrape(port);
    const outcomes = byLabel(m4, 'touchline_events_total', 'outcome');
    say(
      `  pid ${service.pid}, HTTP port ${port}; process start → listening ${fmtS(listeningAt - spawnedAt)}, → ready (group joined) ${fmtS(readyAt - spawnedAt)}`,
    );
    say(
      `  ${fmtInt(total)} records committed and attributed in ${fmtS(tlMs)} from ready (first commit seen after ${fmtS((firstCommitAt ?? doneAt) - readyAt)}; ${fmtS(doneAt - spawnedAt)} from process start)`,
    );
    say(
      `  events: ${[...outcomes].map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')}; DLQ ${fmtInt(sumOf(m4, 'touchline_dlq_records_total'))}; revisions ${fmtInt(sumOf(m4, 'touchline_revisions_total'))}`,
    );
    say(
      `  rate: ${fmtInt(tlRate)} events/s end to end = ${pct(tlRate / bareRate)} of the bare consumer's ${fmtInt(bareRate)} records/s`,
    );
    say(`  CPU: ${formatCpu(cpuUse4, cpus().length)}`);
    const batches = sumOf(m4, 'touchline_batch_records_count');
    const op = (operation: string, what: 'sum' | 'count'): number =>
      sumOf(m4, `touchline_store_latency_seconds_${what}`, { store: 'pipeline', operation });
    const publishSeconds = sumOf(m4, 'touchline_store_latency_seconds_sum', {
      store: 'kafka',
      operation: 'publish',
    });
    say(
      `  ${fmtInt(batches)} chunks handled (mean ${(sumOf(m4, 'touchline_batch_records_sum') / Math.max(1, batches)).toFixed(0)} records); ingest ${fmtInt(op('ingest', 'count'))} calls, ${op('ingest', 'sum').toFixed(1)} s summed over ${options.concurrency} concurrent partitions; drain ${fmtInt(op('drain', 'count'))} calls, ${op('drain', 'sum').toFixed(1)} s (publish to Kafka inside it: ${publishSeconds.toFixed(1)} s)`,
    );
    if (pgActivity4 !== undefined) say(`  its Postgres connections: ${formatActivity(pgActivity4)}`);
    say(
      `  peak RSS so far ${fmtMb(catchUpRssKb)} (VmHWM); RSS at ready (group joined) ${fmtMb(readyRssKb)}, now ${fmtMb(service.currentRssKb())}`,
    );
    say(`  at the highest RSS sampled (/metrics, every second): ${fmtMemory(memoryPeak4)}`);
    if (options.skipLatency) {
      say(`\n--skip-latency: stopping after phase 4; service peak RSS ${fmtMb(service.peakRssKb())}`);
      say(`Postgres writes of the run: ${await postgresWrites(env)}`);
      say(`Postgres answers of the run: ${fmtAnswerWrites(await answerWrites(env))}`);
      return 0;
    }

    // 5. Latency at a share of the measured rate.
    const rate = Math.max(1, tlRate * options.latencyShare);
    const needed = Math.ceil(rate * options.latencySeconds);
    const requested = size.contacts + size.opportunities + size.touches;
    // Sized in steps of 25,000 records (+3 % for refused rows) so later runs reuse the cached dataset.
    const liveRecords = Math.ceil(needed / 25_000) * 25_000 * 1.03;
    const scale = (n: number): number => Math.ceil((n * liveRecords) / requested);
    const liveSize: Size = {
      contacts: Math.max(1, scale(size.contacts)),
      opportunities: scale(size.opportunities),
      touches: scale(size.touches),
    };
    const liveStartMs = Date.parse(DEFAULT_GENERATE.start) + DEFAULT_GENERATE.days * MS_PER_DAY;
    const liveStart = new Date(liveStartMs).toISOString().replace('.000Z', 'Z');
    say(
      `\n5. latency: ${fmtInt(needed)} new events at ${fmtInt(rate)}/s (${pct(options.latencyShare)} of ${fmtInt(tlRate)}) for ${options.latencySeconds} s, + a probe opportunity every ${options.probeMs} ms`,
    );
    const liveDir = await ensureDataset(liveSize, options.seed + 1, liveStart, 'live dataset');
    const live = readMessages(join(liveDir, 'events'), QUIET, topics);
    const stream = (await encodeMessages(codec, live.messages.map(prefixIds('L')))).slice(0, needed);
    say(
      `  stream: ${fmtInt(stream.length)} records (ids prefixed "L", event times from ${liveStart}, seed ${options.seed + 1})`,
    );
    const memory5 = sampleMemory(port, 1000);
    const activity5 = options.pgActivity ? sampleActivity(SERVICES.DATABASE_URL, service.pid, 100) : null;
    const cpu5 = cpuSnapshot();
    const latency = await latencyPhase({
      admin,
      producer,
      codec,
      topics,
      env,
      port,
      stream,
      rate,
      startEventTime: liveStartMs,
    });
    const cpuUse5 = cpuBetween(
      cpu5,
      cpuSnapshot(),
      new Map([
        [service.pid, 'touchline'],
        [process.pid, 'bench (producer, probes)'],
      ]),
    );
    const memoryPeak5 = await memory5.stop();
    const pgActivity5 = await activity5?.stop();
    const h = latency.histogram;
    const p50h = histogramQuantile(h, 0.5);
    const p99h = histogramQuantile(h, 0.99);
    const within = shareAtOrBelow(h, GOALS.p99Seconds);
    const p50p = quantileOf(latency.probes, 0.5);
    const p99p = quantileOf(latency.probes, 0.99);
    const maxP = latency.probes.length === 0 ? NaN : Math.max(...latency.probes);
    const bucketText = (q: ReturnType<typeof histogramQuantile>): string =>
      q === null ? 'n/a' : `≈ ${fmtMs(q.estimate)} (bucket ${fmtMs(q.lower)}–${fmtMs(q.upper)})`;
    say(
      `  sent ${fmtInt(latency.sent)} in ${latency.sendSeconds.toFixed(1)} s = ${fmtInt(latency.sent / latency.sendSeconds)}/s (producer at most ${latency.behindMaxMs.toFixed(0)} ms behind schedule)`,
    );
    say(
      `  consumer lag during the stream: max ${fmtInt(latency.maxLag)} records (sampled every second); caught up ${latency.caughtUp ? `${fmtS(latency.drainMs)} after the last send` : 'NOT within 120 s'}`,
    );
    say(
      `  histogram ${LATENCY_METRIC} (Kafka timestamp → Postgres commit), delta over the stream: ${fmtInt(h.count)} observations, mean ${fmtMs(h.count > 0 ? h.sum / h.count : NaN)}`,
    );
    say(
      `    p50 ${bucketText(p50h)}; p99 ${bucketText(p99h)}; ≤ 500 ms: ${within === null ? 'n/a' : pct(within)}`,
    );
    say(
      `    buckets (s): ${h.buckets.map((b) => `≤${b.le === Infinity ? '+Inf' : b.le} ${fmtInt(b.count)}`).join(', ')}`,
    );
    say(
      `  probes (produce → row visible in ${env['PG_SCHEMA']}.opportunity_answer, polled every 10 ms): ${latency.probes.length} seen, ${latency.probesLost} lost`,
    );
    say(`    p50 ${fmtMs(p50p)}, p99 ${fmtMs(p99p)}, max ${fmtMs(maxP)}`);
    say(`  CPU: ${formatCpu(cpuUse5, cpus().length)}`);
    if (pgActivity5 !== undefined) say(`  its Postgres connections: ${formatActivity(pgActivity5)}`);

    say(`  Postgres writes of the whole run (phases 4 and 5): ${await postgresWrites(env)}`);
    const answers = await answerWrites(env);
    say(`  Postgres answers of the whole run: ${fmtAnswerWrites(answers)}`);

    // 6. Peak RSS.
    const peakRssKb = service.peakRssKb();
    say(
      `\n6. service peak RSS (VmHWM of pid ${service.pid}): ${fmtMb(peakRssKb)} (after catch-up ${fmtMb(catchUpRssKb)}); RSS now ${fmtMb(service.currentRssKb())}`,
    );
    say(`  highest RSS sampled during the latency stream: ${fmtMemory(memoryPeak5)}`);

    // 7. Summary.
    const p99Met =
      p99p <= GOALS.p99Seconds &&
      within !== null &&
      within >= 0.99 &&
      latency.probesLost === 0 &&
      latency.caughtUp;
    say('\n================ summary ================');
    say(
      `data                 ${fmtInt(total)} records (${fmtInt(size.contacts)} contacts, ${fmtInt(size.opportunities)} opportunities, ${fmtInt(size.touches)} touches requested; seed ${options.seed}, dirty rate ${options.dirtyRate})`,
    );
    say(
      `produce (once)       ${fmtS(sent.ms)} send + ${fmtS(encoded.ms)} encode; ${fmtInt(total / (sent.ms / 1000))} records/s sent`,
    );
    say(`bare consumer        ${fmtInt(bareRate)} records/s (decode only)`);
    say(
      `Touchline            ${fmtInt(tlRate)} events/s end to end (${fmtS(tlMs)} from ready to all committed)`,
    );
    say(`Touchline / bare     ${pct(tlRate / bareRate)}`);
    say(
      `latency @ ${pct(options.latencyShare).padEnd(10)} probes p50 ${fmtMs(p50p)}, p99 ${fmtMs(p99p)} (n=${latency.probes.length}); histogram p50 ${bucketText(p50h)}, p99 ${bucketText(p99h)}`,
    );
    say(`peak RSS             ${fmtMb(peakRssKb)}`);
    say(
      `answer writes        ${writesPerAnswer(answers)} per (opportunity, model) (${fmtInt(answers.writes)} writes of ${fmtInt(answers.answers)} answers)`,
    );
    say('goals:');
    const goal = (label: string, value: string, ok: boolean, note = ''): void =>
      say(`  ${label.padEnd(40)} ${value.padStart(12)}   ${met(ok).padEnd(7)} ${note}`.trimEnd());
    goal(
      `≥ ${fmtInt(GOALS.eventsPerSecond)} events/s end to end`,
      fmtInt(tlRate),
      tlRate >= GOALS.eventsPerSecond,
    );
    goal(
      `≥ ${pct(GOALS.shareOfBare)} of the bare-consumer rate`,
      pct(tlRate / bareRate),
      tlRate / bareRate >= GOALS.shareOfBare,
    );
    goal(
      `p99 ≤ ${fmtMs(GOALS.p99Seconds)} at ${pct(options.latencyShare)} of peak`,
      fmtMs(p99p),
      p99Met,
      `(probes; histogram: ${within === null ? 'n/a' : pct(within)} ≤ 500 ms)`,
    );
    goal(`peak RSS ≤ ${GOALS.rssMb} MB`, fmtMb(peakRssKb), peakRssKb / 1024 <= GOALS.rssMb);
    say(
      `machine              ${cpus().length} CPUs shared with Kafka, the registry, Redis and Postgres; load average now ${loadAverage()}`,
    );
    say('==========================================');
  } finally {
    say('\n8. cleanup');
    await cleanup(run);
    await producer.disconnect();
    await admin.disconnect();
    if (options.cpuProf && run.service !== null) {
      const files = existsSync(profileDirOf(id))
        ? readdirSync(profileDirOf(id)).filter((f) => f.endsWith('.cpuprofile'))
        : [];
      for (const file of files) {
        say(`\nCPU profile ${join(profileDirOf(id), file)}`);
        say(formatSummary(summariseProfile(join(profileDirOf(id), file), ROOT), 25));
      }
    }
  }
  return 0;
}

const profileDirOf = (id: string): string => join(options.cacheRoot, 'stream-profiles', id);

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench-stream: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
