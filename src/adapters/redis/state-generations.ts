import type { StateGeneration, StateGenerations } from '../../app/ports.js';
import { AppError } from '../../errors.js';
import { deploymentPattern, GENERATION_ID, generationKey } from './keys.js';

/** The Redis commands the generation record needs (an ioredis `Redis` satisfies it). */
export interface GenerationCommands {
  hgetall(key: string): Promise<Record<string, string>>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[cursor: string, keys: string[]]>;
  unlink(...keys: string[]): Promise<number>;
}

/** KEYS[1] generation hash; ARGV[1] expected id ('' = none), ARGV[2..5] id, status, owner, heartbeatAt. */
const REPLACE = `
local current = redis.call('HGET', KEYS[1], 'id')
if (current or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'status', ARGV[3], 'owner', ARGV[4], 'heartbeatAt', ARGV[5])
return 1`;

/** KEYS[1] generation hash; ARGV[1] id, ARGV[2] field, ARGV[3] value: sets it while the id is current. */
const UPDATE = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`;

/** KEYS[1] generation hash; ARGV[1] id, ARGV[2] at: a rebuilding generation becomes ready. */
const READY = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'ready', 'heartbeatAt', ARGV[2])
return 1`;

/** The error of a store whose generation is gone (`found`: the current one, '' if none). */
export const stateLost = (generation: string, found: string): AppError =>
  new AppError(
    'STATE_LOST',
    `Redis state lost: generation ${generation} is gone (${found === '' ? 'no generation key: Redis was flushed, restarted empty or its keys were deleted' : `the current generation is ${found}`})`,
  );

const failure = (operation: string, cause: unknown): AppError =>
  new AppError(
    'STORE_UNAVAILABLE',
    `Redis ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    { retriable: true, cause },
  );

/**
 * The generation record of a deployment's state (key layout in keys.ts): one hash beside the
 * state, changed only by compare-and-set scripts, so two instances that both notice a loss
 * start one rebuild between them.
 */
export function createRedisStateGenerations(
  redis: GenerationCommands,
  options: { readonly prefix: string },
): StateGenerations {
  const key = generationKey(options.prefix);
  const run = async (operation: string, source: string, args: string[]): Promise<boolean> => {
    try {
      return Number(await redis.eval(source, 1, key, ...args)) === 1;
    } catch (cause) {
      throw failure(operation, cause);
    }
  };
  return {
    async current() {
      let fields: Record<string, string>;
      try {
        fields = await redis.hgetall(key);
      } catch (cause) {
        throw failure('reading the state generation', cause);
      }
      const { id, status, owner, heartbeatAt } = fields;
      if (id === undefined) return null;
      if (!GENERATION_ID.test(id) || (status !== 'ready' && status !== 'rebuilding'))
        throw new AppError(
          'INTERNAL',
          `corrupt state generation in Redis at ${key}: ${JSON.stringify(fields).slice(0, 200)}`,
        );
      return { id, status, owner: owner ?? '', heartbeatAt: Number(heartbeatAt ?? 0) || 0 };
    },
    replace(expected, next: StateGeneration) {
      if (!GENERATION_ID.test(next.id)) throw new AppError('INTERNAL', `not a generation id: ${next.id}`);
      return run('replacing the state generation', REPLACE, [
        expected ?? '',
        next.id,
        next.status,
        next.owner,
        String(next.heartbeatAt),
      ]);
    },
    heartbeat: (id, at) => run('the rebuild heartbeat', UPDATE, [id, 'heartbeatAt', String(at)]),
    ready: (id, at) => run('marking the state ready', READY, [id, String(at)]),
    async discardOthers(id) {
      const keep = `${options.prefix}{s}${id}:`;
      let cursor = '0';
      let removed = 0;
      try {
        do {
          const [next, found] = await redis.scan(
            cursor,
            'MATCH',
            deploymentPattern(options.prefix),
            'COUNT',
            1000,
          );
          cursor = next;
          const stale = found.filter((k) => k !== key && !k.startsWith(keep));
          if (stale.length > 0) removed += await redis.unlink(...stale);
        } while (cursor !== '0');
      } catch (cause) {
        throw failure('discarding old state', cause);
      }
      return removed;
    },
  };
}
