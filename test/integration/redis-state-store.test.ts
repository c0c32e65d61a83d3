// The Redis StateStore on the real Redis: the shared contract, then what only Redis has — round
// trips, key layout, one cluster hash slot per deployment, nothing left behind by trimming or
// draining, watermarks and pending sets shared by two connections, the EVAL fallback and error
// classification. Each test owns a random key prefix and deletes its keys afterwards.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/adapters/redis/connect.js';
import {
  createRedisStateStore,
  type RedisBatch,
  type RedisCommands,
} from '../../src/adapters/redis/redis-state-store.js';
import type { PendingMarks, StateChanges, StateStore } from '../../src/app/ports.js';
import type { Touch } from '../../src/domain/events.js';
import { AppError } from '../../src/errors.js';
import { generationKey } from '../../src/adapters/redis/keys.js';
import { createRedisStateGenerations } from '../../src/adapters/redis/state-generations.js';
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

/** The generation every test's store is opened on (its key is written first, as the service does). */
const GEN = 'g1';
async function storeOn(redis: RedisCommands, prefix: string, generation = GEN): Promise<StateStore> {
  await client.hset(generationKey(prefix), {
    id: generation,
    status: 'ready',
    owner: 'test',
    heartbeatAt: '0',
  });
  return createRedisStateStore(redis, { prefix, generation });
}

stateStoreContract('redis', async () => {
  const prefix = newPrefix();
  return {
    store: await storeOn(client, prefix),
    cleanup: () => deleteUnder(prefix),
  };
});

/**
 * Wraps the client, counting round trips (direct commands and EXECs) and recording every key a
 * command names (the first argument of a queued command, the KEYS of a script).
 */
function counting(
  inner: Redis,
  options: { breakShas?: boolean } = {},
): { redis: RedisCommands; roundTrips: () => number; keys: () => Set<string> } {
  let roundTrips = 0;
  const keys = new Set<string>();
  const scriptKeys = (numKeys: number, rest: readonly string[]): void => {
    for (const key of rest.slice(0, numKeys)) keys.add(key);
  };
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
            scriptKeys(numKeys, rest);
            target.evalsha(sha(given), numKeys, ...rest);
            return receiver as RedisBatch;
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (typeof args[0] === 'string') keys.add(args[0]);
          (value as (...a: unknown[]) => unknown).apply(target, args);
          return receiver as RedisBatch;
        };
      },
    });
  const redis: RedisCommands = {
    multi: () => wrapBatch(inner.multi()),
    evalsha: (given, numKeys, ...rest) => {
      roundTrips += 1;
      scriptKeys(numKeys, rest);
      return inner.evalsha(sha(given), numKeys, ...rest);
    },
    eval: (source, numKeys, ...rest) => {
      roundTrips += 1;
      scriptKeys(numKeys, rest);
      return inner.eval(source, numKeys, ...rest);
    },
    hscan: (key, cursor, count, n) => {
      roundTrips += 1;
      keys.add(key);
      return inner.hscan(key, cursor, count, n);
    },
  };
  return { redis, roundTrips: () => roundTrips, keys: () => keys };
}

/** CRC16-XMODEM (poly 0x1021, init 0), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The cluster slot of a key, as CLUSTER KEYSLOT computes it: only the part between the first
 * '{' and the first '}' after it is hashed, when that part is not empty.
 */
function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16_384;
  }
  return crc16(bytes) % 16_384;
}

const marks = (source: string, markedAt: number, ...entries: [string, string, number][]): PendingMarks => ({
  source,
  affected: new Map(entries.map(([id, reason, createdAt]) => [id, { reason, createdAt }] as const)),
  markedAt,
});
const NOTHING: StateChanges = { touches: [], contacts: [], opportunities: [] };

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
    await run(await storeOn(redis, prefix));
    return roundTrips();
  }

  it('makes every call one round trip, whatever the number of ids', async () => {
    const store = await storeOn(client, prefix);
    await store.apply(newTouches(tp('warm-up', 'C-warm', T - 1)), T); // caches the trim script
    await store.apply(NOTHING, -Infinity, marks('warm-up', T, ['O-warm', 'touch', T])); // caches the mark script
    await store.releasePending('warm-up', await store.claimPending('warm-up', Infinity, 1)); // caches claim and release
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

    const affected = marks(
      'touches:7',
      T,
      ...contactIds.map((_, i): [string, string, number] => [`O${i}`, 'touch', T + i]),
    );
    expect(await roundTripsOf((s) => s.apply(bulk, T, affected))).toBe(1);
    expect(await roundTripsOf((s) => s.loadTouchHistories(contactIds, -Infinity, Infinity))).toBe(1);
    expect(await roundTripsOf((s) => s.loadTouches(touches.map((t) => t.id)))).toBe(1);
    expect(await roundTripsOf((s) => s.loadContacts(contactIds))).toBe(1);
    expect(await roundTripsOf((s) => s.loadOpportunities(contactIds.map((_, i) => `O${i}`)))).toBe(1);
    expect(await roundTripsOf((s) => s.loadAccountContacts(accounts))).toBe(1);
    expect(await roundTripsOf((s) => s.loadAccountOpportunities(accounts))).toBe(1);
    expect(await roundTripsOf((s) => s.advanceWatermark('contacts:0', T))).toBe(1);
    expect(await roundTripsOf((s) => s.countPending('touches:7'))).toBe(1);
    expect(await roundTripsOf((s) => s.claimPending('touches:7', Infinity, 1_000))).toBe(1);
    const claims = await store.claimPending('touches:7', Infinity, 1_000);
    expect(await roundTripsOf((s) => s.releasePending('touches:7', claims))).toBe(1);
    expect(await store.countPending('touches:7')).toBe(0);
    expect(await roundTripsOf((s) => s.releasePending('touches:7', []))).toBe(0);
    expect((await store.advanceWatermark('touches:0', T)).size).toBe(65);
    expect((await store.loadAccountOpportunities(['A7'])).get('A7')?.get('O7')).toBe(T);
    expect(await roundTripsOf((s) => s.loadTouches([]))).toBe(0);
    expect(await roundTripsOf((s) => s.apply({ touches: [], contacts: [], opportunities: [] }, T))).toBe(0);
    expect((await store.loadTouches(touches.map((t) => t.id))).size).toBe(2_000);
  });

  it('writes exactly the keys documented in keys.ts, amounts as decimal strings', async () => {
    const store = await storeOn(client, prefix);
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
      marks(
        'opportunities:1',
        T + 500,
        ['O1', 'opportunity_changed', T],
        ['O-gone', 'opportunity_deleted', Number.MIN_SAFE_INTEGER],
      ),
    );
    await store.advanceWatermark('touches:0', T);
    await store.advanceWatermark('contacts:3', -86_400_000);
    const names = [
      'account-contacts:A1',
      'account-opps:A1',
      'contacts',
      'history:C1',
      'opportunities',
      'pending-marks:opportunities:1',
      'pending-seq:opportunities:1',
      'pending:opportunities:1',
      'touches',
      'watermarks',
    ];
    const key = (name: string): string => `${prefix}{s}g1:${name}`;
    expect(await keysUnder(prefix)).toEqual([...names.map(key), generationKey(prefix)]);
    expect(await client.hget(key('opportunities'), 'O1')).toBe(
      '["live","A1","123456789012345678901234567",1700000000000,"SMB",3]',
    );
    expect(await client.hget(key('touches'), 'tp-1')).toBe('["C1","Adwords",1700000000000,"marketing"]');
    expect(await client.zrange(key('history:C1'), 0, -1, 'WITHSCORES')).toEqual([
      '["tp-1","Adwords","marketing"]',
      '1700000000000',
    ]);
    expect(await client.smembers(key('account-contacts:A1'))).toEqual(['C1']);
    expect(await client.hgetall(key('account-opps:A1'))).toEqual({ O1: '1700000000000' });
    expect(await client.hgetall(key('contacts'))).toEqual({ C1: '["A1",2]' });
    expect(await client.hgetall(key('watermarks'))).toEqual({
      'touches:0': '1700000000000',
      'contacts:3': '-86400000',
    });
    expect(await client.zrange(key('pending:opportunities:1'), 0, -1, 'WITHSCORES')).toEqual([
      'O-gone',
      '-9007199254740991',
      'O1',
      '1700000000000',
    ]);
    expect(await client.hgetall(key('pending-marks:opportunities:1'))).toEqual({
      O1: '[1,"1700000000500","opportunity_changed"]',
      'O-gone': '[1,"1700000000500","opportunity_deleted"]',
    });
    expect(await client.get(key('pending-seq:opportunities:1'))).toBe('1');

    // A second mark of O1 takes the next seq and keeps the first time and reason.
    await store.apply(NOTHING, -Infinity, marks('opportunities:1', T + 900, ['O1', 'touch', T]));
    expect(await client.hget(key('pending-marks:opportunities:1'), 'O1')).toBe(
      '[2,"1700000000500","opportunity_changed"]',
    );
    expect(await client.get(key('pending-seq:opportunities:1'))).toBe('2');
  });

  it('keeps every key of a deployment in one cluster hash slot, whatever the ids and sources', async () => {
    // The CRC against values Redis documents: CLUSTER KEYSLOT foo = 12182, the XMODEM check value,
    // and hash-tag examples from the cluster specification.
    expect(keySlot('foo')).toBe(12_182);
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16_384);
    expect(keySlot('foo{{bar}}zap')).toBe(crc16(Buffer.from('{bar')) % 16_384);
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));

    const { redis, keys } = counting(client);
    const store = await storeOn(redis, prefix);
    const odd = (id: string): string => `${id}{x}}{`;
    const source = odd('touches:{0}');
    const first = tp(odd('tp-1'), odd('C1'), T - 10);
    await store.apply(
      {
        touches: [
          { touch: first, replaced: null },
          { touch: tp('tp-2', 'C2', T), replaced: null },
        ],
        contacts: [
          { contact: { id: odd('C1'), accountId: odd('A1'), version: 1 }, previousAccountId: null },
          { contact: { id: 'C2', accountId: 'A2', version: 1 }, previousAccountId: null },
        ],
        opportunities: [
          {
            record: {
              kind: 'live',
              opportunity: {
                id: odd('O1'),
                accountId: odd('A1'),
                amount: 1n,
                createdAt: T,
                segment: 'SMB',
                version: 1,
              },
            },
            previousAccountId: null,
          },
        ],
      },
      -Infinity,
      marks(source, T, [odd('O1'), 'touch', T]),
    );
    await store.apply(
      {
        touches: [{ touch: tp(odd('tp-1'), 'C2', T + 1), replaced: first }],
        contacts: [{ contact: { id: odd('C1'), accountId: 'A2', version: 2 }, previousAccountId: odd('A1') }],
        opportunities: [
          { record: { kind: 'deleted', id: odd('O1'), version: 2 }, previousAccountId: odd('A1') },
        ],
      },
      T,
      marks(source, T + 1, [odd('O1'), 'opportunity_deleted', Number.MIN_SAFE_INTEGER]),
    );
    await store.advanceWatermark(source, T);
    await store.loadTouches([odd('tp-1'), 'tp-2']);
    await store.loadContacts([odd('C1')]);
    await store.loadOpportunities([odd('O1')]);
    await store.loadAccountContacts([odd('A1'), 'A2']);
    await store.loadAccountOpportunities([odd('A1'), 'A2']);
    await store.loadTouchHistories([odd('C1'), 'C2'], -Infinity, Infinity);
    await store.countPending(source);
    await store.releasePending(source, await store.claimPending(source, Infinity, 10));

    const named = [...keys()];
    // Every kind of key was named: the 12 below plus the scripts' (history, pending, …).
    expect(named.length).toBeGreaterThanOrEqual(12);
    expect(named.every((k) => k.startsWith(`${prefix}{s}g1:`) || k === generationKey(prefix))).toBe(true);
    const slot = keySlot('s');
    expect(new Set([...named, ...(await keysUnder(prefix))].map(keySlot))).toEqual(new Set([slot]));
    // The tag is the same for every deployment: a deployment is one slot, never several.
    expect(keySlot(`touchline:{s}history:${odd('C1')}`)).toBe(slot);
  });

  it('refuses a prefix with a brace, which would move the hash tag or split the keys over slots', () => {
    // With "x{}" the first tag is empty, so Redis would hash every key whole.
    expect(keySlot('x{}{s}touches')).not.toBe(keySlot('x{}{s}contacts'));
    for (const bad of ['x{}', 'tenant{a}:', '{', '}'])
      expect(() => createRedisStateStore(client, { prefix: bad, generation: GEN })).toThrow(AppError);
  });

  it('leaves only the seq counter behind once a pending set is drained', async () => {
    const store = await storeOn(client, prefix);
    await store.apply(NOTHING, -Infinity, marks('touches:0', T, ['O1', 'touch', T], ['O2', 'touch', T + 1]));
    await store.releasePending('touches:0', await store.claimPending('touches:0', Infinity, 10));
    expect(await keysUnder(prefix)).toEqual([`${prefix}{s}g1:pending-seq:touches:0`, generationKey(prefix)]);
  });

  it('an instance caching the FX rates sees a rate another instance writes, at its next read', async () => {
    const other = await connectRedis(REDIS_URL, { connectionName: 'touchline-test-fx' });
    try {
      const reader = await storeOn(client, prefix);
      const writer = await storeOn(other, prefix);
      await writer.applyRates([{ currency: 'EUR', date: '2024-03-14', rate: 1_100_000_000_000n }]);
      expect((await reader.loadRates(['EUR'])).map((r) => r.rate)).toEqual([1_100_000_000_000n]);
      await writer.applyRates([{ currency: 'EUR', date: '2024-03-15', rate: 1_200_000_000_000n }]);
      expect((await reader.loadRates(['EUR'])).map((r) => r.rate).sort()).toEqual([
        1_100_000_000_000n,
        1_200_000_000_000n,
      ]);
      // A read with nothing new is one small round trip (the version), not the whole hash.
      expect(await roundTripsOf((store) => store.loadRates(['EUR']))).toBeLessThanOrEqual(2);
    } finally {
      await closeRedis(other);
    }
  });

  it('shares the pending sets between connections: a mark on one survives a release on the other', async () => {
    const other = await connectRedis(REDIS_URL, { connectionName: 'touchline-test-2' });
    try {
      const ingest = await storeOn(client, prefix);
      const drain = await storeOn(other, prefix);
      await ingest.apply(
        NOTHING,
        -Infinity,
        marks('touches:0', T, ['O1', 'touch', T], ['O2', 'touch', T + 1]),
      );
      const claims = await drain.claimPending('touches:0', Infinity, 10);
      expect(claims.map((c) => c.opportunityId)).toEqual(['O1', 'O2']);
      // Marks race the release: 50 batches mark O2 (and a new O3) while the drain releases.
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) =>
          ingest.apply(
            NOTHING,
            -Infinity,
            marks('touches:0', T + 1 + i, ['O2', 'touch', T + 1], ['O3', 'touch', T + 2]),
          ),
        ),
        drain.releasePending('touches:0', claims),
      ]);
      // Whether the release ran before or after a given mark, the last mark of O2 follows the
      // claim, so O2 stays pending; O1, not marked again, is gone; O3 keeps its first mark.
      const left = await drain.claimPending('touches:0', Infinity, 10);
      expect(left.map((c) => c.opportunityId)).toEqual(['O2', 'O3']);
      expect(left[1]?.markedAt).toBe(T + 1);
      expect(await ingest.countPending('touches:0')).toBe(2);
    } finally {
      await closeRedis(other);
    }
  });

  it('leaves no key or field behind for trimmed touches', async () => {
    const store = await storeOn(client, prefix);
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
    expect(await keysUnder(prefix)).toEqual([
      `${prefix}{s}g1:history:C2`,
      `${prefix}{s}g1:touches`,
      generationKey(prefix),
    ]);
    expect((await client.hkeys(`${prefix}{s}g1:touches`)).sort()).toEqual(['c2-a', 'c2-b']);

    await store.apply(newTouches(tp('c2-late', 'C2', T)), T + 2);
    expect(await keysUnder(prefix)).toEqual([generationKey(prefix)]);
  });

  it('shares the watermarks between connections, each source ending at the maximum of a race', async () => {
    const other = await connectRedis(REDIS_URL, { connectionName: 'touchline-test-2' });
    try {
      const first = await storeOn(client, prefix);
      const second = await storeOn(other, prefix);
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
      expect(await client.hgetall(`${prefix}{s}g1:watermarks`)).toEqual({
        'touches:0': String(T + 199),
        'contacts:0': String(T - 802),
      });
    } finally {
      await closeRedis(other);
    }
  });

  it('falls back to EVAL when Redis does not have a script cached', async () => {
    const { redis, roundTrips } = counting(client, { breakShas: true });
    const store = await storeOn(redis, prefix);
    await store.apply(newTouches(tp('old', 'C1', T - 1), tp('kept', 'C1', T)), -Infinity);
    await store.apply(newTouches(tp('new', 'C1', T + 1)), T);
    expect(await store.advanceWatermark('touches:0', T + 5)).toEqual(new Map([['touches:0', T + 5]]));
    expect(await store.advanceWatermark('touches:0', T)).toEqual(new Map([['touches:0', T + 5]]));
    // apply, apply + EVAL of the trim, then EVALSHA + EVAL per watermark call
    expect(roundTrips()).toBe(1 + 2 + 2 + 2);
    expect([...(await store.loadTouches(['old', 'kept', 'new'])).keys()].sort()).toEqual(['kept', 'new']);
  });

  it('falls back to EVAL for the pending scripts too, marking once per apply', async () => {
    const { redis, roundTrips } = counting(client, { breakShas: true });
    const store = await storeOn(redis, prefix);
    await store.apply(
      NOTHING,
      -Infinity,
      marks('touches:0', T + 7, ['O1', 'touch', T], ['O2', 'touch', T + 1]),
    );
    await store.apply(NOTHING, -Infinity, marks('touches:0', T + 8, ['O2', 'contact_changed', T + 1]));
    const claims = await store.claimPending('touches:0', Infinity, 1);
    expect(claims.map((c) => [c.opportunityId, c.reason, c.markedAt])).toEqual([['O1', 'touch', T + 7]]);
    await store.releasePending('touches:0', claims);
    // per apply: the EXEC and an EVAL of the mark; claim and release: EVALSHA + EVAL each
    expect(roundTrips()).toBe(2 + 2 + 2 + 2);
    expect(await store.countPending('touches:0')).toBe(1);
    expect(await client.hget(`${prefix}{s}g1:pending-marks:touches:0`, 'O2')).toBe(
      '[2,"1700000000007","touch"]',
    );
  });

  it('keeps stores with different prefixes apart', async () => {
    const otherPrefix = newPrefix();
    try {
      const mine = await storeOn(client, prefix);
      await mine.apply(newTouches(tp('tp-1', 'C1', T)), -Infinity);
      await mine.advanceWatermark('touches:0', T);
      const other = await storeOn(client, otherPrefix);
      expect((await other.loadTouches(['tp-1'])).size).toBe(0);
      expect(await other.advanceWatermark('touches:0', T - 1)).toEqual(new Map([['touches:0', T - 1]]));
    } finally {
      await deleteUnder(otherPrefix);
    }
  });

  it('reports a key of the wrong type as a non-retriable error', async () => {
    await client.set(`${prefix}{s}g1:touches`, 'not a hash');
    const failure = await (
      await storeOn(client, prefix)
    )
      .loadTouches(['tp-1'])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: 'INTERNAL', retriable: false });
    expect((failure as AppError).message).toContain('WRONGTYPE');
  });

  it('reports a corrupt watermark, of the source raised or of another, as a non-retriable error', async () => {
    await client.hset(`${prefix}{s}g1:watermarks`, 'touches:0', 'soon');
    const store = await storeOn(client, prefix);
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
    const failure = await createRedisStateStore(closed, { prefix, generation: GEN })
      .loadTouchHistories(['C1'], 0, 1)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
  });

  it('refuses an empty prefix', () => {
    expect(() => createRedisStateStore(client, { prefix: '', generation: GEN })).toThrow(AppError);
  });
});

describe('state generations on a real Redis', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = newPrefix();
  });
  afterEach(() => deleteUnder(prefix));

  const lostCode = (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
      () => 'resolved',
      (error: unknown) => (error instanceof AppError ? `${error.code}: ${error.message}` : String(error)),
    );

  it('fails every read and write with STATE_LOST once the deployment lost its keys, naming why', async () => {
    const store = await storeOn(client, prefix);
    await store.apply(
      newTouches(tp('tp-1', 'C1', T)),
      -Infinity,
      marks('opportunities:0', T, ['O1', 'touch', T]),
    );
    await client.unlink(...(await keysUnder(prefix))); // what a flush or an empty restart does
    const calls: [string, () => Promise<unknown>][] = [
      ['loadTouches', () => store.loadTouches(['tp-1'])],
      ['loadContacts', () => store.loadContacts(['C1'])],
      ['loadOpportunities', () => store.loadOpportunities(['O1'])],
      ['loadAccountContacts', () => store.loadAccountContacts(['A1'])],
      ['loadAccountOpportunities', () => store.loadAccountOpportunities(['A1'])],
      ['loadTouchHistories', () => store.loadTouchHistories(['C1'], -Infinity, Infinity)],
      ['apply', () => store.apply(newTouches(tp('tp-2', 'C1', T)), T)],
      [
        'apply (marks only)',
        () =>
          store.apply(
            { touches: [], contacts: [], opportunities: [] },
            -Infinity,
            marks('opportunities:0', T, ['O1', 'touch', T]),
          ),
      ],
      ['advanceWatermark', () => store.advanceWatermark('touches:0', T)],
      ['claimPending', () => store.claimPending('opportunities:0', Infinity, 10)],
      [
        'releasePending',
        () =>
          store.releasePending('opportunities:0', [
            { opportunityId: 'O1', token: 'x', reason: 'touch', markedAt: T },
          ]),
      ],
      ['countPending', () => store.countPending('opportunities:0')],
    ];
    for (const [name, call] of calls) {
      const outcome = await lostCode(call());
      expect(outcome, name).toMatch(
        /^STATE_LOST: Redis state lost: generation g1 is gone \(no generation key/,
      );
    }
  });

  it('fails with STATE_LOST naming the generation that replaced it, and never reads the new generation through the old store', async () => {
    const old = await storeOn(client, prefix, 'g1');
    await old.apply(newTouches(tp('tp-1', 'C1', T)), -Infinity);
    const fresh = await storeOn(client, prefix, 'g2');
    expect((await fresh.loadTouches(['tp-1'])).size).toBe(0); // a new generation starts empty
    await fresh.apply(newTouches(tp('tp-2', 'C1', T)), -Infinity);
    expect(await lostCode(old.loadTouches(['tp-2']))).toMatch(
      /STATE_LOST: .*generation g1 is gone \(the current generation is g2\)/,
    );
    // An apply by a store that has not noticed fails after writing into its own, dead keys only.
    expect(await lostCode(old.apply(newTouches(tp('tp-3', 'C9', T)), -Infinity))).toMatch(/^STATE_LOST/);
    expect((await fresh.loadTouches(['tp-3'])).size).toBe(0);
    expect((await fresh.loadTouches(['tp-2'])).size).toBe(1);
  });

  it('replaces the generation record by compare-and-set, heartbeats and readies only the current one, discards the others', async () => {
    const generations = createRedisStateGenerations(client, { prefix });
    expect(await generations.current()).toBeNull();
    const first = { id: 'g1', status: 'ready' as const, owner: 'a', heartbeatAt: 1 };
    expect(await generations.replace('g0', first)).toBe(false);
    expect(await generations.replace(null, first)).toBe(true);
    expect(await generations.replace(null, { ...first, id: 'g9' })).toBe(false);
    expect(await generations.current()).toEqual(first);
    const old = createRedisStateStore(client, { prefix, generation: 'g1' });
    await old.apply(newTouches(tp('tp-1', 'C1', T)), -Infinity);
    expect(
      await generations.replace('g1', { id: 'g2', status: 'rebuilding', owner: 'b', heartbeatAt: 2 }),
    ).toBe(true);
    expect(await generations.heartbeat('g1', 3)).toBe(false);
    expect(await generations.heartbeat('g2', 4)).toBe(true);
    const next = createRedisStateStore(client, { prefix, generation: 'g2' });
    await next.apply(newTouches(tp('tp-2', 'C2', T)), -Infinity);
    expect(await generations.ready('g1', 5)).toBe(false);
    expect(await generations.ready('g2', 6)).toBe(true);
    expect(await generations.current()).toEqual({ id: 'g2', status: 'ready', owner: 'b', heartbeatAt: 6 });
    expect(await generations.discardOthers('g2')).toBe(2);
    expect(await keysUnder(prefix)).toEqual([
      `${prefix}{s}g2:history:C2`,
      `${prefix}{s}g2:touches`,
      generationKey(prefix),
    ]);
  });

  it('reports a corrupt generation record as an error naming its key', async () => {
    await client.hset(generationKey(prefix), { id: 'Not An Id!', status: 'ready' });
    expect(await lostCode(createRedisStateGenerations(client, { prefix }).current())).toContain(
      `corrupt state generation in Redis at ${generationKey(prefix)}`,
    );
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
