// The Redis StateStore on the real Redis: the shared contract, then what only Redis has — round
// trips, key layout, nothing left behind by trimming, watermarks shared by two connections,
// the EVAL fallback and error classification. Each test owns a random key prefix and deletes
// its keys afterwards.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/adapters/redis/connect.js';
import {
  createRedisStateStore,
  type RedisBatch,
  type RedisCommands,
} from '../../src/adapters/redis/redis-state-store.js';
import type { StateChanges, StateStore } from '../../src/app/ports.js';
import type { Touch } from '../../src/domain/events.js';
import { AppError } from '../../src/errors.js';
import { stateStoreContract } from '../contracts/state-store.contract.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const T = 1_700_000_000_000;

let client: Redis;
beforeAll(async () => {
  client = await connectRedis(REDIS_URL, { connectionName: 'touchline-test' });
});
afterAll(async () => {
  await closeRedis(client);
});

const newPrefix = (): string => `tltest:${randomUUID()}:`;

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

async function deleteUnder(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
}

stateStoreContract('redis', () => {
  const prefix = newPrefix();
  return Promise.resolve({
    store: createRedisStateStore(client, { prefix }),
    cleanup: () => deleteUnder(prefix),
  });
});

/** Wraps the client, counting round trips (direct commands and EXECs) and commands per EXEC. */
function counting(
  inner: Redis,
  options: { breakShas?: boolean } = {},
): { redis: RedisCommands; roundTrips: () => number } {
  let roundTrips = 0;
  const sha = (given: string): string => (options.breakShas === true ? '0'.repeat(40) : given);
  const wrapBatch = (batch: RedisBatch): RedisBatch =>
    new Proxy(batch, {
      get(target, property, receiver) {
        if (property === 'exec') {
          return () => {
            roundTrips += 1;
            return target.exec();
          };
        }
        if (property === 'evalsha') {
          return (given: string, numKeys: number, ...rest: string[]) => {
            target.evalsha(sha(given), numKeys, ...rest);
            return receiver as RedisBatch;
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          (value as (...a: unknown[]) => unknown).apply(target, args);
          return receiver as RedisBatch;
        };
      },
    });
  const redis: RedisCommands = {
    multi: () => wrapBatch(inner.multi()),
    evalsha: (given, numKeys, ...rest) => {
      roundTrips += 1;
      return inner.evalsha(sha(given), numKeys, ...rest);
    },
    eval: (source, numKeys, ...rest) => {
      roundTrips += 1;
      return inner.eval(source, numKeys, ...rest);
    },
  };
  return { redis, roundTrips: () => roundTrips };
}

const tp = (id: string, contactId: string, occurredAt: number): Touch => ({
  id,
  contactId,
  channel: 'Adwords',
  occurredAt,
  source: 'marketing',
});
const newTouches = (...touches: Touch[]): StateChanges => ({
  touches: touches.map((touch) => ({ touch, replaced: null })),
  contacts: [],
  opportunities: [],
});

describe('Redis state store on a real Redis', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = newPrefix();
  });
  afterEach(async () => {
    await deleteUnder(prefix);
  });

  /** Counts the round trips of one call. */
  async function roundTripsOf(run: (store: StateStore) => Promise<unknown>): Promise<number> {
    const { redis, roundTrips } = counting(client);
    await run(createRedisStateStore(redis, { prefix }));
    return roundTrips();
  }

  it('makes every call one round trip, whatever the number of ids', async () => {
    const store = createRedisStateStore(client, { prefix });
    await store.apply(newTouches(tp('warm-up', 'C-warm', T - 1)), T); // caches the trim script
    const sources = Array.from({ length: 64 }, (_, i) => `touches:${i}`);
    for (const source of sources) await store.advanceWatermark(source, T); // caches the watermark script
    const contactIds = Array.from({ length: 1_000 }, (_, i) => `C${i}`);
    const touches = contactIds.flatMap((c, i) => [
      tp(`${c}-1`, c, T + i),
      tp(`${c}-2`, c, T + i + 1),
      tp(`${c}-3`, c, T - 1),
    ]);
    const bulk: StateChanges = {
      touches: touches.map((touch) => ({ touch, replaced: null })),
      contacts: contactIds.map((id, i) => ({
        contact: { id, accountId: `A${i % 50}`, version: 1 },
        previousAccountId: null,
      })),
      opportunities: contactIds.map((_, i) => ({
        record: {
          kind: 'live',
          opportunity: {
            id: `O${i}`,
            accountId: `A${i % 50}`,
            amount: 1n,
            createdAt: T,
            segment: 'SMB',
            version: 1,
          },
        },
        previousAccountId: null,
      })),
    };
    const accounts = Array.from({ length: 50 }, (_, i) => `A${i}`);

    expect(await roundTripsOf((s) => s.apply(bulk, T))).toBe(1);
    expect(await roundTripsOf((s) => s.loadTouchHistories(contactIds, -Infinity, Infinity))).toBe(1);
    expect(await roundTripsOf((s) => s.loadTouches(touches.map((t) => t.id)))).toBe(1);
    expect(await roundTripsOf((s) => s.loadContacts(contactIds))).toBe(1);
    expect(await roundTripsOf((s) => s.loadOpportunities(contactIds.map((_, i) => `O${i}`)))).toBe(1);
    expect(await roundTripsOf((s) => s.loadAccountContacts(accounts))).toBe(1);
    expect(await roundTripsOf((s) => s.loadAccountOpportunities(accounts))).toBe(1);
    expect(await roundTripsOf((s) => s.advanceWatermark('contacts:0', T))).toBe(1);
    expect((await store.advanceWatermark('touches:0', T)).size).toBe(65);
    expect(await roundTripsOf((s) => s.loadTouches([]))).toBe(0);
    expect(await roundTripsOf((s) => s.apply({ touches: [], contacts: [], opportunities: [] }, T))).toBe(0);
    expect((await store.loadTouches(touches.map((t) => t.id))).size).toBe(2_000);
  });

  it('writes exactly the keys documented in keys.ts, amounts as decimal strings', async () => {
    const store = createRedisStateStore(client, { prefix });
    await store.apply(
      {
        touches: [{ touch: tp('tp-1', 'C1', T), replaced: null }],
        contacts: [{ contact: { id: 'C1', accountId: 'A1', version: 2 }, previousAccountId: null }],
        opportunities: [
          {
            record: {
              kind: 'live',
              opportunity: {
                id: 'O1',
                accountId: 'A1',
                amount: 123456789012345678901234567n,
                createdAt: T,
                segment: 'SMB',
                version: 3,
              },
            },
            previousAccountId: null,
          },
        ],
      },
      -Infinity,
    );
    await store.advanceWatermark('touches:0', T);
    await store.advanceWatermark('contacts:3', -86_400_000);
    const names = [
      'account-contacts:A1',
      'account-opportunities:A1',
      'contacts',
      'history:C1',
      'opportunities',
      'touches',
      'watermarks',
    ];
    expect(await keysUnder(prefix)).toEqual(names.map((n) => `${prefix}${n}`));
    expect(await client.hget(`${prefix}opportunities`, 'O1')).toBe(
      '["live","A1","123456789012345678901234567",1700000000000,"SMB",3]',
    );
    expect(await client.hget(`${prefix}touches`, 'tp-1')).toBe('["C1","Adwords",1700000000000,"marketing"]');
    expect(await client.zrange(`${prefix}history:C1`, 0, -1, 'WITHSCORES')).toEqual([
      '["tp-1","Adwords","marketing"]',
      '1700000000000',
    ]);
    expect(await client.hgetall(`${prefix}watermarks`)).toEqual({
      'touches:0': '1700000000000',
      'contacts:3': '-86400000',
    });
  });

  it('leaves no key or field behind for trimmed touches', async () => {
    const store = createRedisStateStore(client, { prefix });
    await store.apply(
      newTouches(
        tp('c1-a', 'C1', T - 2),
        tp('c1-b', 'C1', T - 1),
        tp('c2-a', 'C2', T - 1),
        tp('c2-b', 'C2', T + 1),
      ),
      -Infinity,
    );
    await store.apply(newTouches(tp('c1-late', 'C1', T - 3)), T);
    expect(await keysUnder(prefix)).toEqual([`${prefix}history:C2`, `${prefix}touches`]);
    expect((await client.hkeys(`${prefix}touches`)).sort()).toEqual(['c2-a', 'c2-b']);

    await store.apply(newTouches(tp('c2-late', 'C2', T)), T + 2);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('shares the watermarks between connections, each source ending at the maximum of a race', async () => {
    const other = await connectRedis(REDIS_URL, { connectionName: 'touchline-test-2' });
    try {
      const first = createRedisStateStore(client, { prefix });
      const second = createRedisStateStore(other, { prefix });
      const times = Array.from({ length: 200 }, (_, i) => T + ((i * 7919) % 200));
      // Connections alternate call by call, sources pair by pair: each source is raised through both.
      const source = (i: number): string => (i % 4 < 2 ? 'touches:0' : 'contacts:0');
      await Promise.all(
        times.map((t, i) =>
          (i % 2 === 0 ? first : second).advanceWatermark(
            source(i),
            source(i) === 'contacts:0' ? t - 1_000 : t,
          ),
        ),
      );
      const expected = new Map([
        ['touches:0', T + 199],
        ['contacts:0', T + 198 - 1_000],
      ]);
      expect(await second.advanceWatermark('touches:0', T)).toEqual(expected);
      expect(await first.advanceWatermark('contacts:0', T - 1_000_000)).toEqual(expected);
      expect(await client.hgetall(`${prefix}watermarks`)).toEqual({
        'touches:0': String(T + 199),
        'contacts:0': String(T - 802),
      });
    } finally {
      await closeRedis(other);
    }
  });

  it('falls back to EVAL when Redis does not have a script cached', async () => {
    const { redis, roundTrips } = counting(client, { breakShas: true });
    const store = createRedisStateStore(redis, { prefix });
    await store.apply(newTouches(tp('old', 'C1', T - 1), tp('kept', 'C1', T)), -Infinity);
    await store.apply(newTouches(tp('new', 'C1', T + 1)), T);
    expect(await store.advanceWatermark('touches:0', T + 5)).toEqual(new Map([['touches:0', T + 5]]));
    expect(await store.advanceWatermark('touches:0', T)).toEqual(new Map([['touches:0', T + 5]]));
    // apply, apply + EVAL of the trim, then EVALSHA + EVAL per watermark call
    expect(roundTrips()).toBe(1 + 2 + 2 + 2);
    expect([...(await store.loadTouches(['old', 'kept', 'new'])).keys()].sort()).toEqual(['kept', 'new']);
  });

  it('keeps stores with different prefixes apart', async () => {
    const otherPrefix = newPrefix();
    try {
      const mine = createRedisStateStore(client, { prefix });
      await mine.apply(newTouches(tp('tp-1', 'C1', T)), -Infinity);
      await mine.advanceWatermark('touches:0', T);
      const other = createRedisStateStore(client, { prefix: otherPrefix });
      expect((await other.loadTouches(['tp-1'])).size).toBe(0);
      expect(await other.advanceWatermark('touches:0', T - 1)).toEqual(new Map([['touches:0', T - 1]]));
    } finally {
      await deleteUnder(otherPrefix);
    }
  });

  it('reports a key of the wrong type as a non-retriable error', async () => {
    await client.set(`${prefix}touches`, 'not a hash');
    const failure = await createRedisStateStore(client, { prefix })
      .loadTouches(['tp-1'])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: 'INTERNAL', retriable: false });
    expect((failure as AppError).message).toContain('WRONGTYPE');
  });

  it('reports a corrupt watermark, of the source raised or of another, as a non-retriable error', async () => {
    await client.hset(`${prefix}watermarks`, 'touches:0', 'soon');
    const store = createRedisStateStore(client, { prefix });
    for (const source of ['touches:0', 'contacts:0']) {
      const failure = await store.advanceWatermark(source, T).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AppError);
      expect(failure).toMatchObject({ code: 'INTERNAL', retriable: false });
      expect((failure as AppError).message).toContain('corrupt watermark');
    }
  });

  it('reports a closed connection as a retriable STORE_UNAVAILABLE', async () => {
    const closed = await connectRedis(REDIS_URL);
    await closeRedis(closed);
    const failure = await createRedisStateStore(closed, { prefix })
      .loadTouchHistories(['C1'], 0, 1)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
  });

  it('refuses an empty prefix', () => {
    expect(() => createRedisStateStore(client, { prefix: '' })).toThrow(AppError);
  });
});

describe('connectRedis / closeRedis', () => {
  it('names the connection "touchline" and closes safely twice', async () => {
    const redis = await connectRedis(REDIS_URL);
    expect(await redis.client('GETNAME')).toBe('touchline');
    await Promise.all([closeRedis(redis), closeRedis(redis)]);
    await closeRedis(redis);
    expect(redis.status).toBe('end');
  });

  it('fails fast with a retriable error and no password when Redis is unreachable', async () => {
    const failure = await connectRedis('redis://:s3cret@127.0.0.1:1', { connectTimeoutMs: 1_000 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    expect((failure as AppError).message).not.toContain('s3cret');
  });
});
