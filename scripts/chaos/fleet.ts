/**
 * Service instances of one chaos scenario (child processes `node <build>/src/main.js serve`,
 * spawned by the stream benchmark's spawnService) in one consumer group, and the probes the
 * suite reads while faults are injected: consumer lag (the group's committed offsets), the
 * pending sets in Redis, each instance's /metrics and /readyz, and the log lines it wrote.
 */
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import { generationKey } from '../../src/adapters/redis/keys.js';
import { groupLag } from '../../test/support/services.js';
import { parseMetrics, sumOf, type Sample } from '../bench/stream-metrics.js';
import { spawnService, type ServiceChild } from '../bench/stream-service.js';

/** Every instance any fleet started and that still runs: killed at the end whatever happened. */
const ALL_CHILDREN = new Set<ServiceChild>();
export function killAllInstances(): number {
  for (const child of ALL_CHILDREN) process.kill(child.pid, 'SIGKILL');
  return ALL_CHILDREN.size;
}

export interface Instance {
  readonly name: string;
  readonly slot: number;
  readonly port: number;
  readonly child: ServiceChild;
  /** Set when the suite killed it on purpose. */
  killed: boolean;
}

export class Fleet {
  readonly instances: Instance[] = [];
  /** Log lines seen on the instances' stderr (LOG_LEVEL=info); also written to <run dir>/data/<fault>/instances.log. */
  readonly lines: string[] = [];
  private readonly seenTails = new Map<string, string>();
  private watcher: NodeJS.Timeout | null = null;
  private started = 0;

  constructor(
    private readonly root: string,
    private readonly entry: string,
    private readonly env: Readonly<Record<string, string>>,
    private readonly basePort: number,
  ) {}

  /** Starts instance `slot` (0, 1, ...) on its own HTTP port; a restarted slot reuses its port. */
  spawn(slot: number): Instance {
    this.started += 1;
    const port = this.basePort + slot;
    const child = spawnService({
      root: this.root,
      runtime: 'build',
      entry: this.entry,
      env: { ...this.env, HTTP_PORT: String(port), KAFKA_CLIENT_ID: `chaos-${slot}-${this.started}` },
    });
    const instance: Instance = { name: `i${slot}#${this.started}`, slot, port, child, killed: false };
    ALL_CHILDREN.add(child);
    void child.exited.then(() => ALL_CHILDREN.delete(child));
    this.instances.push(instance);
    this.watcher ??= setInterval(() => this.collectLines(), 200);
    return instance;
  }

  live(): Instance[] {
    return this.instances.filter((i) => !i.killed && !exited(i));
  }

  /** kill -9 of a random live instance; returns it. */
  killRandom(random: () => number): Instance {
    const live = this.live();
    const victim = live[Math.floor(random() * live.length)];
    if (victim === undefined) throw new Error('no live instance to kill');
    victim.killed = true;
    process.kill(victim.child.pid, 'SIGKILL');
    return victim;
  }

  /**
   * kill -9 of the first instance seen dead-lettering (its touchline_dlq_records_total went up
   * since the last look, 20 ms ago): a kill aimed at the window between a dead letter sent and
   * its offset committed. A random kill when none is seen within `timeoutMs`.
   */
  async killAfterDeadLetter(random: () => number, timeoutMs: number): Promise<Instance> {
    const seen = new Map<string, number>();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const i of this.live()) {
        const count = metricOf(await scrape(i.port), 'touchline_dlq_records_total');
        if (count === null) continue;
        const before = seen.get(i.name);
        seen.set(i.name, count);
        if (before !== undefined && count > before) {
          i.killed = true;
          process.kill(i.child.pid, 'SIGKILL');
          return i;
        }
      }
      await sleep(20);
    }
    return this.killRandom(random);
  }

  /** Instances that exited although nobody killed them: a crash. */
  crashed(): Instance[] {
    return this.instances.filter((i) => !i.killed && exited(i));
  }

  async readyAll(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await Promise.all(this.live().map((i) => readyz(i.port)));
      if (states.length > 0 && states.every((s) => s === 200)) return true;
      await sleep(200);
    }
    return false;
  }

  private collectLines(): void {
    for (const i of this.instances) {
      const tail = i.child.stderrTail();
      const before = this.seenTails.get(i.name) ?? '';
      if (tail === before) continue;
      this.seenTails.set(i.name, tail);
      const old = new Set(before.split('\n'));
      for (const line of tail.split('\n'))
        if (line !== '' && !old.has(line)) this.lines.push(`${i.name} ${line}`);
    }
  }

  async stop(): Promise<void> {
    if (this.watcher !== null) clearInterval(this.watcher);
    this.watcher = null;
    this.collectLines();
    await Promise.all(this.instances.map((i) => i.child.stop(20_000)));
  }
}

const exited = (i: Instance): boolean => {
  try {
    process.kill(i.child.pid, 0);
    return false;
  } catch {
    return true;
  }
};

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

export async function scrape(port: number): Promise<Sample[] | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? parseMetrics(await response.text()) : null;
  } catch {
    return null;
  }
}

export const metricOf = (samples: Sample[] | null, name: string): number | null =>
  samples === null || !samples.some((s) => s.name === name) ? null : sumOf(samples, name);

/** Opportunities waiting in the deployment's pending sets, straight from Redis. */
export async function pendingInRedis(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let total = 0;
    let cursor = '0';
    // The pending sets of the current state generation (src/adapters/redis/keys.ts, layout v3).
    const generation = await redis.hget(generationKey(prefix), 'id');
    if (generation === null) return Number.NaN; // lost, or not opened yet: not settled
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix}{s}${generation}:pending:*`,
        'COUNT',
        1000,
      );
      for (const key of keys) total += await redis.zcard(key);
      cursor = next;
    } while (cursor !== '0');
    return total;
  } catch {
    return Number.NaN;
  } finally {
    redis.disconnect();
  }
}

/** The group's lag over the input topics; NaN while the broker does not answer (within 5 s). */
export async function lagOf(admin: Admin, group: string, topics: readonly string[]): Promise<number> {
  try {
    return await withTimeout(groupLag(admin, group, topics), 5000);
  } catch {
    return Number.NaN;
  }
}

export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
