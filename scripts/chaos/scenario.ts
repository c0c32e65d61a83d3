/**
 * One chaos scenario: its own topics, consumer group, Redis prefix and Postgres schema on the
 * chaos stack; two service instances in one group; a generated dataset (dirty rows, updates,
 * garbage) produced at a steady rate while `inject` injects its fault; then the wait for
 * recovery (lag 0, pending 0, Postgres = replay) and the verdict (scripts/chaos/verify.ts).
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { createKafka, ensureTopics } from '../../src/adapters/kafka/client.js';
import { topicsFromEnv, type TopicNames } from '../../src/adapters/kafka/topics.js';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { isolatedRun } from '../../test/support/services.js';
import { inputTopics } from '../bench/stream-kafka.js';
import { buildService } from '../bench/stream-service.js';
import { Fleet, lagOf, metricOf, pendingInRedis, readyz, scrape, sleep, withTimeout } from './fleet.js';
import { encodeLoad, generateDataset, sendLoad, type DatasetSize } from './load.js';
import { appendLog } from './report.js';
import type { ChaosStack } from './stack.js';
import { actualCells, expectedOf, sameCells, verify, type Verdict } from './verify.js';

/** Allowed lateness of the chaos instances: longer than any generated dataset spans. */
const CHAOS_LATENESS_DAYS = 3650;

export interface Injection {
  /** Date.now() when the fault was injected. */
  readonly at: number;
  /** Opportunities pending in Redis + consumer lag, right before the fault. */
  readonly inFlight: number;
  readonly pending: number;
  readonly lag: number;
  readonly note: string;
}

export interface FaultContext {
  readonly stack: ChaosStack;
  readonly fleet: Fleet;
  readonly random: () => number;
  /** Share of the load sent so far (0..1). */
  readonly progress: () => number;
  /** Records pending + lag now, and the injection record for a fault injected now. */
  readonly snapshot: (note: string) => Promise<Injection>;
  /** Makes the output topic refuse every write, or accept them again. */
  readonly setOutputWritable: (writable: boolean) => Promise<void>;
  /** The consumer group as the coordinator sees it: members and state ('Stable' once rebalanced). */
  readonly group: () => Promise<{ members: number; state: string }>;
}

export interface ScenarioResult {
  readonly fault: string;
  readonly injections: Injection[];
  readonly verdict: Verdict;
  /** ms from the last injection until lag 0, pending 0 and Postgres = replay; null = never. */
  readonly recoverMs: number | null;
  readonly crashed: string[];
  readonly lines: string[];
  /** What the probes saw from the fault on: /readyz answers, rebuild gauge and counter. */
  readonly probes: { readyz503: boolean; rebuildingMax: number | null; rebuildsTotal: number | null };
  readonly loadSeconds: number;
  readonly records: number;
  /** Sends the producer had to start again after failing for good (its chunk may be in the log twice). */
  readonly producerResumes: number;
}

export interface ScenarioOptions {
  readonly root: string;
  readonly runDir: string;
  readonly stack: ChaosStack;
  readonly entry: string;
  readonly fault: string;
  readonly size: DatasetSize;
  readonly rate: number;
  readonly garbage: number;
  readonly recoverTimeoutMs: number;
  readonly random: () => number;
  readonly basePort: number;
  readonly inject: (ctx: FaultContext) => Promise<Injection[]>;
}

/** The compiled service: CHAOS_ENTRY if set, dist/ when it is newer than every source file (CI builds it), else a build of our own in .bench/. */
export function serviceEntry(root: string): string {
  const given = process.env['CHAOS_ENTRY'];
  if (given !== undefined && given !== '') return given;
  const dist = join(root, 'dist', 'src', 'main.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (m, e) =>
        Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs),
      0,
    );
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(join(root, 'src'))) return dist;
  // Inside the checkout, so the build's imports find its node_modules (a run dir under /tmp would not).
  return buildService(root, join(root, '.bench', 'chaos-build'));
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const dir = join(o.runDir, 'data', o.fault);
  mkdirSync(dir, { recursive: true });
  const events = await generateDataset(dir, o.size);
  const expected = expectedOf(events);
  const { id, env: isolated } = isolatedRun(o.fault.replace(/[^a-z0-9]/gi, ''), {
    TOPIC_PARTITIONS: '4',
    CONSUMER_PARTITIONS_CONCURRENTLY: '2',
    // info: the checks look for the lines an outage ends with ("… works again after …").
    LOG_LEVEL: 'info',
    // The load plays about a year of event time in 13 s, so a second of fault is weeks of
    // event-time lateness: a broker restart that makes the producer send a chunk again delivers
    // touches months late, beyond the 30-day default, where trimmed touches are by contract not
    // guaranteed (ALLOWED_LATENESS_DAYS). The faults here test delivery, not lateness (that is
    // test/e2e and the state store contract): the lateness covers the whole dataset.
    ALLOWED_LATENESS_DAYS: String(CHAOS_LATENESS_DAYS),
  });
  const env: Record<string, string> = { ...isolated, ...o.stack.env };
  const topics: TopicNames = topicsFromEnv(env);
  const inputs = inputTopics(topics);
  const group = env['KAFKA_GROUP_ID'] ?? '';
  const prefix = env['REDIS_KEY_PREFIX'] ?? '';
  const schema = env['PG_SCHEMA'] ?? '';
  const kafka = createKafka({
    brokers: [o.stack.env.KAFKA_BROKERS],
    clientId: `chaos-${id}`,
    log: () => undefined,
  });
  const admin = kafka.admin({ retry: { retries: 3, maxRetryTime: 1000 } });
  const trace = (text: string): void =>
    appendLog(join(o.runDir, 'chaos.log'), `${new Date().toISOString()} [${o.fault}] ${text}`);
  const pool = createPool(o.stack.env.DATABASE_URL);
  pool.on('error', () => undefined);
  const fleet = new Fleet(o.root, o.entry, env, o.basePort);
  try {
    await admin.connect();
    // The touch topic keeps what that lateness needs (the service refuses less at start).
    await ensureTopics(admin, topics, 4, 1, (90 + CHAOS_LATENESS_DAYS + 7) * 86_400_000);
    const load = await encodeLoad(events, topics, o.stack.env.SCHEMA_REGISTRY_URL, o.garbage);
    fleet.spawn(0);
    fleet.spawn(1);
    if (!(await fleet.readyAll(120_000)))
      throw new Error(`instances not ready:\n${fleet.instances.map((i) => i.child.stderrTail()).join('\n')}`);

    trace(`instances ready; sending ${load.messages.length} records at ${o.rate}/s`);
    let sent = 0;
    const snapshot = async (note: string): Promise<Injection> => {
      const [pending, lag] = await Promise.all([
        pendingInRedis(o.stack.env.REDIS_URL, prefix),
        lagOf(admin, group, inputs),
      ]);
      return {
        at: Date.now(),
        pending,
        lag,
        inFlight: (Number.isNaN(pending) ? 0 : pending) + (Number.isNaN(lag) ? 0 : lag),
        note,
      };
    };
    const probes = {
      readyz503: false,
      rebuildingMax: null as number | null,
      rebuildsTotal: null as number | null,
    };
    let faultSeen = false;
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        if (faultSeen)
          for (const i of fleet.live()) {
            if ((await readyz(i.port)) === 503) probes.readyz503 = true;
            const m = await scrape(i.port);
            const g = metricOf(m, 'touchline_state_rebuilding');
            if (g !== null) probes.rebuildingMax = Math.max(probes.rebuildingMax ?? 0, g);
          }
        await sleep(250);
      }
    })();
    const loadRun = sendLoad(kafka, load.messages, o.rate, (n) => (sent = n));
    const injections = await o.inject({
      stack: o.stack,
      fleet,
      random: o.random,
      progress: () => sent / load.messages.length,
      group: async () => {
        const [described] = (await admin.describeGroups([group])).groups;
        return { members: described?.members.length ?? 0, state: described?.state ?? 'unknown' };
      },
      setOutputWritable: async (writable) => {
        // alterConfigs replaces the topic's whole config: the compaction the service set stays.
        // A limit of 64 bytes per record batch refuses every answer (MESSAGE_TOO_LARGE). (A
        // min.insync.replicas above the replication factor does not stop writes on this Kafka.)
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: topics.pipeline,
              configEntries: [
                { name: 'cleanup.policy', value: 'compact' },
                ...(writable ? [] : [{ name: 'max.message.bytes', value: '64' }]),
              ],
            },
          ],
        });
      },
      snapshot: async (note) => {
        const s = await snapshot(note);
        faultSeen = true;
        return s;
      },
    });
    trace(`injected: ${injections.map((i) => `${i.note} [pending ${i.pending}, lag ${i.lag}]`).join('; ')}`);
    const loadResult = await loadRun;
    void withTimeout(loadResult.producer.disconnect(), 5000).catch(() => undefined);
    trace(`load sent in ${loadResult.seconds.toFixed(1)} s (${loadResult.resumes} resumes)`);

    const last = Math.max(...injections.map((i) => i.at), Date.now());
    let recoveredAt: number | null = null;
    const deadline = Date.now() + o.recoverTimeoutMs;
    while (Date.now() < deadline) {
      const lag = await lagOf(admin, group, inputs);
      const pending = lag === 0 ? await pendingInRedis(o.stack.env.REDIS_URL, prefix) : Number.NaN;
      if (lag === 0 && pending === 0 && sameCells(await actualCells(pool, schema), expected.cells)) {
        recoveredAt = Date.now();
        break;
      }
      await sleep(500);
    }
    trace(recoveredAt === null ? 'not recovered' : `recovered ${recoveredAt - last} ms after the last fault`);
    for (const i of fleet.live()) {
      const total = metricOf(await scrape(i.port), 'touchline_state_rebuilds_total');
      if (total !== null) probes.rebuildsTotal = (probes.rebuildsTotal ?? 0) + total;
    }
    probing = false;
    await probeLoop;
    trace('verifying');
    const verdict = await verify({
      pool,
      schema,
      kafka,
      registryUrl: o.stack.env.SCHEMA_REGISTRY_URL,
      topics,
      expected,
      expectedDeadLetters: expected.rejected - load.refused + load.garbage,
      readerGroup: `${group}-verify`,
    });
    writeFileSync(join(dir, 'instances.log'), `${fleet.lines.join('\n')}\n`);
    trace(
      `verdict ${JSON.stringify({ ...verdict, cellsDiff: verdict.cellsDiff.length, outputMismatches: verdict.outputMismatches.slice(0, 3), revisionGaps: verdict.revisionGaps.slice(0, 3) })}`,
    );
    return {
      fault: o.fault,
      injections,
      verdict,
      recoverMs: recoveredAt === null ? null : recoveredAt - last,
      crashed: fleet
        .crashed()
        .map((i) => `${i.name}: ${i.child.stderrTail().split('\n').slice(-5).join(' | ')}`),
      lines: fleet.lines,
      probes,
      loadSeconds: loadResult.seconds,
      producerResumes: loadResult.resumes,
      records: load.messages.length,
    };
  } finally {
    await fleet.stop();
    await admin.disconnect().catch(() => undefined);
    await closePool(pool).catch(() => undefined);
  }
}
