/**
 * Soak: `touchline serve` (a child process) under a steady stream for a long time, to see what
 * grows. Not in CI. It prints, every --every-s seconds, the service's RSS, the consumer lag and
 * the end-to-end latency (touchline_attribution_latency_seconds over the interval: Kafka
 * timestamp → committed in Postgres), and at the end the least-squares slopes of RSS (MB/min)
 * and lag (records/min): a flat line is a pass, a positive slope a leak or a service that
 * cannot keep up.
 *
 *   npm run soak                         # 10 minutes at 70 % of a peak measured first
 *   npm run soak -- --minutes 3          # shorter
 *   npm run soak -- --rate 4000          # a given rate, no peak measurement
 *
 * The peak: the first --peak-records records are produced before the service starts, and the
 * rate at which it catches up (lag 0, pending sets drained) is the peak. The stream is the
 * generated dataset sent round after round, each round with its ids prefixed ("R1-", ...) and
 * its event times moved on by the dataset's span, so every round is new data, later in time.
 * Services: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL (as bench:stream).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Admin, Producer } from 'kafkajs';
import { createAvroCodec, createSchemaRegistry, type AvroCodec } from '../src/adapters/kafka/avro-codec.js';
import { createKafka, ensureTopics } from '../src/adapters/kafka/client.js';
import type { InputMessage } from '../src/adapters/kafka/input-values.js';
import { topicsFromEnv } from '../src/adapters/kafka/topics.js';
import { DEFAULT_GENERATE } from '../src/app/generate/generate.js';
import { readMessages } from '../src/cli/produce.js';
import { MS_PER_DAY } from '../src/domain/time.js';
import { deleteRedisKeys, dropSchema, groupLag, isolatedRun, SERVICES } from '../test/support/services.js';
import { pendingInRedis, scrape, sleep } from './chaos/fleet.js';
import { generateDataset, loadProducer } from './chaos/load.js';
import {
  encodeMessages,
  inputTopics,
  prefixIds,
  sendAll,
  sendBatch,
  type EncodedMessage,
} from './bench/stream-kafka.js';
import { histogramDelta, histogramOf, histogramQuantile, type Histogram } from './bench/stream-metrics.js';
import { buildService, spawnService, type ServiceChild } from './bench/stream-service.js';

const ROOT = resolve(import.meta.dirname, '..');
const LATENCY = 'touchline_attribution_latency_seconds';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string' },
    rate: { type: 'string' },
    share: { type: 'string' },
    'peak-records': { type: 'string' },
    'every-s': { type: 'string' },
    contacts: { type: 'string' },
    opportunities: { type: 'string' },
    touches: { type: 'string' },
    entry: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help === true) {
  process.stdout
    .write(`Usage: npm run soak -- [--minutes 10] [--rate N | --share 0.7 --peak-records 60000] [--every-s 15]
  [--contacts 20000 --opportunities 10000 --touches 170000] [--entry dist/src/main.js] [--keep]
  --entry: a compiled service to run (default: src/ compiled into .bench/stream-build, as bench:stream does)\n`);
  process.exit(0);
}
const num = (v: string | undefined, fallback: number): number => (v === undefined ? fallback : Number(v));
const options = {
  minutes: num(flags.minutes, 10),
  rate: flags.rate === undefined ? null : Number(flags.rate),
  share: num(flags.share, 0.7),
  peakRecords: num(flags['peak-records'], 60_000),
  everyS: num(flags['every-s'], 15),
  contacts: num(flags.contacts, 20_000),
  opportunities: num(flags.opportunities, 10_000),
  touches: num(flags.touches, 170_000),
};
const say = (text: string): void => void process.stdout.write(`${text}\n`);
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** Round `round` of the dataset: ids prefixed, event times moved on by `round` spans. */
function roundOf(messages: readonly InputMessage[], round: number, spanMs: number): InputMessage[] {
  if (round === 0) return [...messages];
  const prefix = prefixIds(`R${round}-`);
  const shift = (value: Record<string, unknown> | null): Record<string, unknown> | null => {
    if (value === null) return null;
    const out = { ...value };
    for (const field of ['occurred_at', 'created_at', 'updated_at']) {
      const time = out[field];
      if (typeof time === 'number') out[field] = time + round * spanMs;
    }
    return out;
  };
  return messages.map((m) => {
    const p = prefix(m);
    return { ...p, value: shift(p.value), eventTime: m.eventTime + round * spanMs };
  });
}

/** Encoded records of round after round, 10,000 at a time. */
async function* stream(
  codec: AvroCodec,
  messages: readonly InputMessage[],
  spanMs: number,
  startRound: number,
  skip: number,
): AsyncGenerator<EncodedMessage[], never, undefined> {
  for (let round = startRound; ; round += 1) {
    const all = roundOf(messages, round, spanMs);
    for (let i = round === startRound ? skip : 0; i < all.length; i += 10_000)
      yield encodeMessages(codec, all.slice(i, i + 10_000));
  }
}

async function drained(
  admin: Admin,
  group: string,
  inputs: string[],
  env: Record<string, string>,
): Promise<boolean> {
  return (
    (await groupLag(admin, group, inputs)) === 0 &&
    (await pendingInRedis(SERVICES.REDIS_URL, env['REDIS_KEY_PREFIX'] ?? '')) === 0
  );
}

async function main(): Promise<number> {
  const { id, env: base } = isolatedRun(
    'soak',
    { TOPIC_PARTITIONS: '6', LOG_LEVEL: 'warn', HTTP_PORT: '28399' },
    'bench',
  );
  const env: Record<string, string> = { ...base, KAFKA_CLIENT_ID: `touchline-${id}` };
  const topics = topicsFromEnv(env);
  const inputs = inputTopics(topics);
  const group = env['KAFKA_GROUP_ID'] ?? '';
  say(
    `soak ${id}: ${options.minutes} min; services ${SERVICES.KAFKA_BROKERS}, ${SERVICES.SCHEMA_REGISTRY_URL}, ${SERVICES.REDIS_URL}`,
  );

  const dataDir = join(
    ROOT,
    '.bench',
    `soak-c${options.contacts}-o${options.opportunities}-t${options.touches}`,
  );
  if (!existsSync(join(dataDir, 'events', 'touchpoints.ndjson'))) {
    mkdirSync(dataDir, { recursive: true });
    await generateDataset(dataDir, {
      contacts: options.contacts,
      opportunities: options.opportunities,
      touches: options.touches,
      seed: 42,
      dirtyRate: DEFAULT_GENERATE.dirtyRate,
      updateRate: 0.1,
    });
  }
  const { messages } = readMessages(
    join(dataDir, 'events'),
    { stdout: () => undefined, stderr: () => undefined },
    topics,
  );
  const spanMs = DEFAULT_GENERATE.days * MS_PER_DAY;

  const kafka = createKafka({
    brokers: [SERVICES.KAFKA_BROKERS],
    clientId: `soak-${id}`,
    log: () => undefined,
  });
  const admin = kafka.admin();
  const producer: Producer = loadProducer(kafka);
  await admin.connect();
  await producer.connect();
  await ensureTopics(admin, topics, 6, 1);
  const codec = await createAvroCodec(createSchemaRegistry(SERVICES.SCHEMA_REGISTRY_URL), topics);
  const entry = flags.entry ?? buildService(ROOT, join(ROOT, '.bench', 'stream-build'));
  let service: ServiceChild | null = null;
  try {
    // 1. The peak: a backlog produced first, then the time the service takes to drain it.
    let rate = options.rate;
    let skip = 0;
    if (rate === null) {
      const backlog = await encodeMessages(codec, messages.slice(0, options.peakRecords));
      await sendAll(producer, backlog, 5000, 4);
      skip = backlog.length;
    }
    service = spawnService({ root: ROOT, runtime: 'build', entry, env });
    const port = Number(env['HTTP_PORT']);
    const startedAt = performance.now();
    if (rate === null) {
      while (!(await drained(admin, group, inputs, env).catch(() => false))) {
        if (performance.now() - startedAt > 600_000)
          throw new Error(`no catch-up in 10 minutes:\n${service.stderrTail()}`);
        await sleep(200);
      }
      const seconds = (performance.now() - startedAt) / 1000;
      const peak = skip / seconds;
      rate = Math.max(1, Math.round(options.share * peak));
      say(
        `peak: ${fmt(skip)} records caught up in ${fmt(seconds, 1)} s from process start = ${fmt(peak)} records/s; soak at ${fmt(100 * options.share)} % = ${fmt(rate)} records/s`,
      );
    } else {
      say(`soak at the given rate: ${fmt(rate)} records/s`);
    }

    // 2. The soak: records sent on a schedule (a late send is caught up, never dropped).
    const soakMs = options.minutes * 60_000;
    const t0 = performance.now();
    let sent = 0;
    let running = true;
    const sender = (async () => {
      const chunks = stream(codec, messages, spanMs, 0, skip);
      let buffer: EncodedMessage[] = [];
      while (running && performance.now() - t0 < soakMs) {
        const due = Math.floor(((performance.now() - t0) / 1000) * (rate ?? 1));
        while (sent < due) {
          if (buffer.length === 0) {
            const next = await chunks.next();
            buffer = next.done === true ? [] : next.value;
          }
          const batch = buffer.splice(0, Math.min(due - sent, 2000));
          await sendBatch(producer, batch);
          sent += batch.length;
        }
        await sleep(20);
      }
    })();

    const samples: { min: number; rssMb: number; lag: number }[] = [];
    let before: Histogram | null = null;
    say(
      `${'t (min)'.padStart(8)} ${'sent'.padStart(10)} ${'RSS MB'.padStart(7)} ${'lag'.padStart(8)} ${'pending'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'n'.padStart(7)}`,
    );
    while (performance.now() - t0 < soakMs) {
      await sleep(options.everyS * 1000);
      const min = (performance.now() - t0) / 60_000;
      const lag = await groupLag(admin, group, inputs).catch(() => Number.NaN);
      const pending = await pendingInRedis(SERVICES.REDIS_URL, env['REDIS_KEY_PREFIX'] ?? '');
      const metrics = await scrape(port);
      const now = metrics === null ? null : histogramOf(metrics, LATENCY);
      const delta = now !== null && before !== null ? histogramDelta(now, before) : now;
      before = now;
      const q = (x: number): string => {
        const r = delta === null ? null : histogramQuantile(delta, x);
        return r === null ? 'n/a' : r.upper === Infinity ? `>${fmt(r.lower * 1000)}` : fmt(r.estimate * 1000);
      };
      const rssMb = service.currentRssKb() / 1024;
      samples.push({ min, rssMb, lag });
      say(
        `${fmt(min, 2).padStart(8)} ${fmt(sent).padStart(10)} ${fmt(rssMb).padStart(7)} ${fmt(lag).padStart(8)} ${fmt(pending).padStart(8)} ${q(0.5).padStart(8)} ${q(0.99).padStart(8)} ${fmt(delta?.count ?? 0).padStart(7)}`,
      );
    }
    running = false;
    await sender;
    const achieved = sent / ((performance.now() - t0) / 1000);
    const drainStart = performance.now();
    while (
      !(await drained(admin, group, inputs, env).catch(() => false)) &&
      performance.now() - drainStart < 120_000
    )
      await sleep(200);
    const rssSlope = slope(samples.map((s) => ({ x: s.min, y: s.rssMb })));
    const lagSlope = slope(samples.filter((s) => !Number.isNaN(s.lag)).map((s) => ({ x: s.min, y: s.lag })));
    say('\n================ soak summary ================');
    say(
      `duration            ${fmt(options.minutes, 1)} min at ${fmt(rate)} records/s target, ${fmt(achieved)} achieved (${fmt(sent)} records)`,
    );
    say(
      `RSS                 first ${fmt(samples[0]?.rssMb ?? Number.NaN)} MB, last ${fmt(samples.at(-1)?.rssMb ?? Number.NaN)} MB, peak (VmHWM) ${fmt(service.peakRssKb() / 1024)} MB`,
    );
    say(`RSS slope           ${fmt(rssSlope, 2)} MB/min (least squares over ${samples.length} samples)`);
    say(
      `lag slope           ${fmt(lagSlope, 1)} records/min (max ${fmt(Math.max(...samples.map((s) => s.lag).filter((n) => !Number.isNaN(n))))})`,
    );
    say(`drained after stop  ${fmt((performance.now() - drainStart) / 1000, 1)} s`);
    say('==============================================');
    return 0;
  } finally {
    if (service !== null) say(`service: ${await service.stop(30_000)}`);
    if (flags.keep !== true) {
      const existing = new Set(await admin.listTopics());
      const all = [...inputs, topics.pipeline, topics.dlq].filter((t) => existing.has(t));
      if (all.length > 0) await admin.deleteTopics({ topics: all, timeout: 30_000 }).catch(() => undefined);
      await admin.deleteGroups([group]).catch(() => undefined);
      for (const topic of [...inputs, topics.pipeline])
        for (const suffix of ['key', 'value']) {
          const subject = `${SERVICES.SCHEMA_REGISTRY_URL}/subjects/${encodeURIComponent(`${topic}-${suffix}`)}`;
          if ((await fetch(subject, { method: 'DELETE' }).catch(() => null))?.ok === true)
            await fetch(`${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
        }
      await dropSchema(env);
      say(
        `cleanup: topics, group, subjects, schema and ${fmt(await deleteRedisKeys(env))} Redis keys of ${id} deleted`,
      );
    }
    await producer.disconnect();
    await admin.disconnect();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`soak: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
