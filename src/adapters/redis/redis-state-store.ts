import { createHash } from 'node:crypto';
import type { PendingMarks, StateChanges, StateStore } from '../../app/ports.js';
import { formatRate, type RateRow } from '../../domain/fx.js';
import type { OpportunityRecord } from '../../domain/decide.js';
import { compareTouches, type Contact, type Touch } from '../../domain/events.js';
import type { Instant } from '../../domain/time.js';
import { AppError } from '../../errors.js';
import * as codec from './keys.js';
import { stateLost } from './state-generations.js';

/**
 * The Redis commands the store uses, and no others (an ioredis `Redis` satisfies it). Every call
 * of the store is one MULTI/EXEC round trip: reads see one consistent snapshot, writes land
 * all or nothing.
 */
export interface RedisBatch {
  hmget(key: string, ...fields: string[]): RedisBatch;
  hget(key: string, field: string): RedisBatch;
  hset(key: string, fieldValues: Map<string, string>): RedisBatch;
  zadd(key: string, ...scoresAndMembers: string[]): RedisBatch;
  zrem(key: string, member: string): RedisBatch;
  zrangebyscore(key: string, min: string, max: string, withScores: 'WITHSCORES'): RedisBatch;
  sadd(key: string, member: string): RedisBatch;
  srem(key: string, member: string): RedisBatch;
  smembers(key: string): RedisBatch;
  hdel(key: string, field: string): RedisBatch;
  hgetall(key: string): RedisBatch;
  zcard(key: string): RedisBatch;
  scard(key: string): RedisBatch;
  get(key: string): RedisBatch;
  incr(key: string): RedisBatch;
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): RedisBatch;
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

export interface RedisCommands {
  multi(): RedisBatch;
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  hscan(
    key: string,
    cursor: string,
    count: 'COUNT',
    n: number,
  ): Promise<[cursor: string, elements: string[]]>;
}

export interface RedisStateStoreOptions {
  /** Starts every key, e.g. "touchline:" in production, "tltest:<random>:" in a test. */
  readonly prefix: string;
  /**
   * The generation of state this store reads and writes (see state-generations.ts). Every call
   * checks, atomically with its reads or writes, that the deployment's generation key still
   * names it, and fails with STATE_LOST when it does not.
   */
  readonly generation: string;
}

interface Script {
  readonly source: string;
  readonly sha: string;
}
/**
 * Every script starts with the generation check: KEYS[1] the generation key, ARGV[1] the
 * generation the caller holds. The script's own keys and arguments follow.
 */
const GUARD = `
local current = redis.call('HGET', KEYS[1], 'id')
if current ~= ARGV[1] then return redis.error_reply('STATE_LOST ' .. (current or '')) end
`;
const script = (body: string): Script => {
  const source = GUARD + body;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
};

/**
 * (after the guard) KEYS[2] touches hash, KEYS[3 .. 2+P] pending zsets, then the histories;
 * ARGV[2] trimBefore, ARGV[3] P, ARGV[4] the window in ms, ARGV[5 ..] the contact of each history.
 * The bound is lowered to the oldest pending opportunity's createdAt − window (ports.ts TrimGuard),
 * read here, atomically with the trim. Drops history members older than the bound, and their
 * touch fields — but only a field that still describes that trimmed touch, so a touch since moved
 * elsewhere under the same id stays.
 */
const TRIM = script(`
local bound = tonumber(ARGV[2])
local p = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
for i = 3, 2 + p do
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  if oldest[2] then
    local keep = tonumber(oldest[2]) - window
    if keep < bound then bound = keep end
  end
end
local limit = '(' .. string.format('%.0f', bound)
local owned = {}
for k = 0, #KEYS - 3 - p do
  local key = KEYS[3 + p + k]
  local contact = ARGV[5 + k]
  local members = redis.call('ZRANGEBYSCORE', key, '-inf', limit)
  if #members > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', limit)
    for _, member in ipairs(members) do
      local id = cjson.decode(member)[1]
      local stored = redis.call('HGET', KEYS[2], id)
      if stored then
        local touch = cjson.decode(stored)
        if touch[1] == contact and touch[3] < bound then owned[#owned + 1] = id end
      end
    end
  end
end
for j = 1, #owned, 500 do
  redis.call('HDEL', KEYS[2], unpack(owned, j, math.min(j + 499, #owned)))
end
return #owned`);

/**
 * (after the guard) KEYS[2] watermarks hash; ARGV[2] source, ARGV[3] event time. Raises the
 * source's field to at least the event time and returns HGETALL: stored text only, so no
 * precision is lost in Lua.
 */
const ADVANCE = script(`
local mark = redis.call('HGET', KEYS[2], ARGV[2])
if mark then
  local stored = tonumber(mark)
  if not stored then return redis.error_reply('corrupt watermark of ' .. ARGV[2] .. ': ' .. mark) end
  if stored < tonumber(ARGV[3]) then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
else
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
return redis.call('HGETALL', KEYS[2])`);

/**
 * (after the guard) KEYS[2] pending zset, KEYS[3] pending-marks hash, KEYS[4] the source's seq
 * counter; ARGV[2] marked-at (epoch ms text), then triples (opportunity id, score = created_at,
 * reason). Every mark gives the entry a seq never handed out before (not even to an entry a
 * release has since removed), so a drain that read an older mark does not remove it; the first
 * mark's time and reason stay.
 */
const MARK = script(`
local seq = redis.call('INCR', KEYS[4])
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  redis.call('ZADD', KEYS[2], ARGV[i + 1], id)
  local previous = redis.call('HGET', KEYS[3], id)
  local ok, mark = pcall(cjson.decode, previous or '')
  if previous and ok and type(mark) == 'table' then
    redis.call('HSET', KEYS[3], id, cjson.encode({ seq, mark[2], mark[3] }))
  else
    redis.call('HSET', KEYS[3], id, cjson.encode({ seq, ARGV[2], ARGV[i + 2] }))
  end
end
return (#ARGV - 2) / 3`);

/** (after the guard) KEYS[2..] history zsets; ARGV[2] min, ARGV[3] max score → one [member, score, …] array per key (read-only). */
const RANGES = script(`
local out = {}
for i = 2, #KEYS do
  out[i - 1] = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[2], ARGV[3], 'WITHSCORES')
end
return out`);

/** (after the guard) KEYS[2] pending zset, KEYS[3] marks hash; ARGV[2] upTo score, ARGV[3] limit → [id, mark, id, mark, …]. */
const CLAIM = script(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
end
return out`);

/** (after the guard) KEYS[2] pending zset, KEYS[3] marks hash; ARGV pairs from 2 (id, mark as claimed): removes those still so marked. */
const RELEASE = script(`
local removed = 0
for i = 2, #ARGV, 2 do
  if (redis.call('HGET', KEYS[3], ARGV[i]) or '') == ARGV[i + 1] then
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    removed = removed + 1
  end
end
return removed`);

/** Ids per HMGET and histories per trim call: bounds argument lists, not round trips. */
const CHUNK = 1_000;

const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

function scoreBound(instant: Instant, what: string): string {
  if (Number.isNaN(instant)) throw new RangeError(`${what} is NaN`);
  if (instant === Infinity) return '+inf';
  if (instant === -Infinity) return '-inf';
  return String(instant);
}

/** Connection trouble and transient server states are worth a retry; a malformed command is not. */
const TRANSIENT_REPLY = /\b(LOADING|BUSY|TRYAGAIN|READONLY|MASTERDOWN|CLUSTERDOWN|OOM)\b/;
function storeError(cause: unknown, operation: string, lost: (found: string) => AppError): AppError {
  if (cause instanceof AppError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const stateLost = /^STATE_LOST ?(.*)$/.exec(message);
  if (stateLost !== null) return lost(stateLost[1] ?? '');
  const isReply = cause instanceof Error && cause.name === 'ReplyError';
  const retriable = !isReply || TRANSIENT_REPLY.test(message);
  return new AppError(retriable ? 'STORE_UNAVAILABLE' : 'INTERNAL', `Redis ${operation} failed: ${message}`, {
    retriable,
    cause,
  });
}

/** MARK arguments in chunks: [markedAt, id, score, reason, id, score, reason, …]. */
function markArguments(marks: PendingMarks): string[][] {
  const entries = [...marks.affected];
  return chunks(entries).map((group) => [
    String(marks.markedAt),
    ...group.flatMap(([id, { createdAt, reason }]) => [id, String(createdAt), reason]),
  ]);
}

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * StateStore on Redis (layout in keys.ts). The client is handed in; connecting and closing it
 * are the caller's. Every method is one round trip whatever the number of ids; the only extra
 * one is an EVAL the first time a script meets a Redis that has not cached it (EVALSHA first).
 * `apply` trusts `replaced` to be the touch stored under the id, as StateChanges promises.
 */
export function createRedisStateStore(redis: RedisCommands, options: RedisStateStoreOptions): StateStore {
  if (options.prefix === '')
    throw new AppError('CONFIG_INVALID', 'a Redis state store needs a non-empty key prefix');
  // A brace in the prefix would move the hash tag off `{s}` ("a{}" even splits the keys over slots).
  if (/[{}]/.test(options.prefix))
    throw new AppError('CONFIG_INVALID', `a Redis key prefix must not contain braces: ${options.prefix}`);
  const { generation } = options;
  const keys = codec.stateKeys(options.prefix, generation);
  const generationKey = codec.generationKey(options.prefix);
  const lost = (found: string): AppError => stateLost(generation, found);
  const fail = (cause: unknown, operation: string): AppError => storeError(cause, operation, lost);
  /** The rates as last read, with the version key's value then (see loadRates). */
  let rateCache: { readonly version: string; readonly rows: readonly RateRow[] } | null = null;

  /**
   * Runs a MULTI whose last command reads the generation: the results of the others, once that
   * read names this store's generation (else STATE_LOST, before any other error is looked at).
   */
  async function execute(batch: RedisBatch, operation: string): Promise<[Error | null, unknown][]> {
    batch.hget(generationKey, 'id');
    let results: [Error | null, unknown][] | null;
    try {
      results = await batch.exec();
    } catch (cause) {
      throw fail(cause, operation);
    }
    if (results === null) throw fail(new Error('transaction aborted'), operation);
    const [error, found] = results.at(-1) ?? [new Error('empty reply'), null];
    if (error !== null) throw fail(error, operation);
    if (found !== generation) throw lost(typeof found === 'string' ? found : '');
    return results.slice(0, -1);
  }
  const valuesOf = (results: [Error | null, unknown][], operation: string): unknown[] =>
    results.map(([error, value]) => {
      if (error !== null) throw fail(error, operation);
      return value;
    });

  /**
   * EVALSHA, then EVAL (which caches the script) if Redis answers NOSCRIPT; `cached: false` goes
   * straight to EVAL. The generation key and id go first (the scripts' guard).
   */
  async function runScript(
    s: Script,
    scriptKeys: string[],
    scriptArgs: string[],
    operation: string,
    cached = true,
  ): Promise<unknown> {
    const keyList = [generationKey, ...scriptKeys];
    const args = [generation, ...scriptArgs];
    try {
      if (cached) {
        try {
          return await redis.evalsha(s.sha, keyList.length, ...keyList, ...args);
        } catch (error) {
          if (!isNoScript(error)) throw error;
        }
      }
      return await redis.eval(s.source, keyList.length, ...keyList, ...args);
    } catch (cause) {
      throw fail(cause, operation);
    }
  }

  /** HMGET of any number of fields in one round trip; absent fields are left out. */
  async function loadFields<T>(
    hash: string,
    ids: readonly string[],
    decode: (id: string, text: string) => T,
  ): Promise<Map<string, T>> {
    const unique = [...new Set(ids)];
    const found = new Map<string, T>();
    if (unique.length === 0) return found;
    const groups = chunks(unique);
    const batch = redis.multi();
    for (const group of groups) batch.hmget(hash, ...group);
    const values = valuesOf(await execute(batch, `HMGET ${hash}`), `HMGET ${hash}`).flat() as (
      string | null
    )[];
    unique.forEach((id, i) => {
      const text = values[i];
      if (typeof text === 'string') found.set(id, decode(id, text));
    });
    return found;
  }

  /** SMEMBERS of many accounts in one round trip, ids sorted so callers see a stable order. */
  async function loadMembers(
    keyOf: (accountId: string) => string,
    accountIds: readonly string[],
  ): Promise<Map<string, string[]>> {
    const unique = [...new Set(accountIds)];
    const found = new Map<string, string[]>();
    if (unique.length === 0) return found;
    const batch = redis.multi();
    for (const accountId of unique) batch.smembers(keyOf(accountId));
    const values = valuesOf(await execute(batch, 'SMEMBERS'), 'SMEMBERS') as string[][];
    unique.forEach((accountId, i) => found.set(accountId, [...(values[i] ?? [])].sort()));
    return found;
  }

  /** Queues the writes in delivery order (a later change to the same id wins); returns the histories written. */
  function queueWrites(batch: RedisBatch, changes: StateChanges): Set<string> {
    const histories = new Set<string>();
    const touchFields = new Map<string, string>();
    // One ZADD per history instead of one per touch. Per history, the removals go first and a
    // removal also cancels an add of the same member earlier in the batch; the last add of a
    // member wins — the same end state as the commands in delivery order.
    const adds = new Map<string, Map<string, string>>();
    for (const { touch, replaced } of changes.touches) {
      if (replaced !== null) {
        const member = codec.encodeHistoryMember(replaced);
        batch.zrem(keys.history(replaced.contactId), member);
        adds.get(replaced.contactId)?.delete(member);
        histories.add(replaced.contactId);
      }
      let added = adds.get(touch.contactId);
      if (added === undefined) adds.set(touch.contactId, (added = new Map<string, string>()));
      const member = codec.encodeHistoryMember(touch);
      added.delete(member);
      added.set(member, String(touch.occurredAt));
      histories.add(touch.contactId);
      touchFields.set(touch.id, codec.encodeTouch(touch));
    }
    for (const [contactId, added] of adds) {
      if (added.size === 0) continue;
      batch.zadd(keys.history(contactId), ...[...added].flatMap(([member, score]) => [score, member]));
    }
    const contactFields = new Map<string, string>();
    for (const { contact, previousAccountId } of changes.contacts) {
      if (previousAccountId !== null) batch.srem(keys.accountContacts(previousAccountId), contact.id);
      if (contact.accountId !== null) batch.sadd(keys.accountContacts(contact.accountId), contact.id);
      contactFields.set(contact.id, codec.encodeContact(contact));
    }
    const opportunityFields = new Map<string, string>();
    for (const { record, previousAccountId } of changes.opportunities) {
      const id = record.kind === 'live' ? record.opportunity.id : record.id;
      if (previousAccountId !== null) batch.hdel(keys.accountOpportunities(previousAccountId), id);
      if (record.kind === 'live') {
        batch.hset(
          keys.accountOpportunities(record.opportunity.accountId),
          new Map([[id, String(record.opportunity.createdAt)]]),
        );
        const currency = record.opportunity.currency;
        if (currency !== undefined)
          batch.zadd(keys.currencyOpportunities(currency), String(record.opportunity.createdAt), id);
      }
      opportunityFields.set(id, codec.encodeOpportunity(record));
    }
    if (touchFields.size > 0) batch.hset(keys.touches, touchFields);
    if (contactFields.size > 0) batch.hset(keys.contacts, contactFields);
    if (opportunityFields.size > 0) batch.hset(keys.opportunities, opportunityFields);
    return histories;
  }

  return {
    loadTouches: (ids) => loadFields<Touch>(keys.touches, ids, codec.decodeTouch),
    loadContacts: (ids) => loadFields<Contact>(keys.contacts, ids, codec.decodeContact),
    loadOpportunities: (ids) =>
      loadFields<OpportunityRecord>(keys.opportunities, ids, codec.decodeOpportunity),
    loadAccountContacts: (accountIds) => loadMembers(keys.accountContacts, accountIds),
    async loadAccountOpportunities(accountIds) {
      const unique = [...new Set(accountIds)];
      const found = new Map<string, Map<string, Instant>>();
      if (unique.length === 0) return found;
      const batch = redis.multi();
      for (const accountId of unique) batch.hgetall(keys.accountOpportunities(accountId));
      const values = valuesOf(await execute(batch, 'HGETALL'), 'HGETALL') as Record<string, string>[];
      unique.forEach((accountId, i) => {
        const byId = new Map<string, Instant>();
        for (const [id, text] of Object.entries(values[i] ?? {}))
          byId.set(id, codec.decodeInstant('account opportunity', text));
        found.set(accountId, byId);
      });
      return found;
    },

    async loadTouchHistories(contactIds, from, to) {
      const min = scoreBound(from, 'from');
      const max = scoreBound(to, 'to');
      const unique = [...new Set(contactIds)];
      const found = new Map<string, Touch[]>();
      if (unique.length === 0) return found;
      // One script call per 1,000 histories rather than one command each: on a chunk of 500
      // opportunities (thousands of contacts) the client's per-command cost dominated.
      const replies = await Promise.all(
        chunks(unique).map((group) =>
          runScript(
            RANGES,
            group.map((id) => keys.history(id)),
            [min, max],
            'loadTouchHistories',
          ),
        ),
      );
      const values = replies.flatMap((reply) => (Array.isArray(reply) ? (reply as string[][]) : []));
      if (values.length !== unique.length)
        throw fail(new Error('history ranges: reply of the wrong length'), 'loadTouchHistories');
      unique.forEach((contactId, i) => {
        const flat = values[i] ?? [];
        const touches: Touch[] = [];
        for (let j = 0; j + 1 < flat.length; j += 2)
          touches.push(codec.decodeHistoryMember(contactId, flat[j] ?? '', flat[j + 1] ?? ''));
        // Redis orders equal scores by member bytes; the domain orders by id in UTF-16.
        found.set(contactId, touches.sort(compareTouches));
      });
      return found;
    },

    async apply(changes, trimBefore, marks, keep) {
      const bound = scoreBound(trimBefore, 'trimBefore');
      const markSets =
        marks === undefined
          ? []
          : Array.isArray(marks)
            ? (marks as readonly PendingMarks[])
            : [marks as PendingMarks];
      const markCalls = markSets.flatMap((m) =>
        markArguments(m).map((args) => ({
          keys: [keys.pending(m.source), keys.pendingMarks(m.source), keys.pendingSeq(m.source)],
          args,
        })),
      );
      const markArgs = markCalls.map((c) => c.args);
      if (
        changes.touches.length + changes.contacts.length + changes.opportunities.length + markArgs.length ===
        0
      )
        return;
      const batch = redis.multi();
      const histories = queueWrites(batch, changes);
      const guarded = (call: { keys: string[]; args: string[] }): string[] => [
        generationKey,
        ...call.keys,
        generation,
        ...call.args,
      ];
      for (const call of markCalls) batch.evalsha(MARK.sha, call.keys.length + 1, ...guarded(call));
      const trims = trimBefore === -Infinity ? [] : chunks([...histories]);
      const guardKeys = (keep?.pendingSources ?? []).map((source) => keys.pending(source));
      const trimArgs = trims.map((contactIds) => ({
        keys: [keys.touches, ...guardKeys, ...contactIds.map((id) => keys.history(id))],
        args: [bound, String(guardKeys.length), String(keep?.windowMs ?? 0), ...contactIds],
      }));
      for (const t of trimArgs) batch.evalsha(TRIM.sha, t.keys.length + 1, ...guarded(t));
      // The generation is read last, in the same transaction: if it is no longer this store's,
      // the writes went to keys nobody reads any more, and the caller must not commit its input.
      const results = await execute(batch, 'apply');
      const scripted = markArgs.length + trimArgs.length;
      const writes = results.slice(0, results.length - scripted);
      valuesOf(writes, 'apply');
      // A Redis that lost its script cache answers NOSCRIPT inside the transaction: the writes
      // are committed, and the marks (taking a new seq twice is harmless) run again as EVAL.
      for (const [i, call] of markCalls.entries()) {
        const error = results[writes.length + i]?.[0] ?? null;
        if (error === null) continue;
        if (!isNoScript(error)) throw fail(error, 'mark');
        await runScript(MARK, call.keys, call.args, 'mark', false);
      }
      // The writes are committed; a trim whose script was not cached runs again as EVAL (trimming is idempotent).
      for (const [i, t] of trimArgs.entries()) {
        const error = results[writes.length + markArgs.length + i]?.[0] ?? null;
        if (error === null) continue;
        if (!isNoScript(error)) throw fail(error, 'trim');
        await runScript(TRIM, t.keys, t.args, 'trim', false);
      }
    },

    async claimPending(source, upTo, limit) {
      const reply = await runScript(
        CLAIM,
        [keys.pending(source), keys.pendingMarks(source)],
        [scoreBound(upTo, 'upTo'), String(limit)],
        'claimPending',
      );
      return codec.decodeClaims(reply);
    },

    async releasePending(source, claims) {
      for (const group of chunks(claims)) {
        const args = group.flatMap((c) => [c.opportunityId, c.token]);
        await runScript(RELEASE, [keys.pending(source), keys.pendingMarks(source)], args, 'releasePending');
      }
    },

    async countPending(source) {
      const batch = redis.multi();
      batch.zcard(keys.pending(source));
      const [count] = valuesOf(await execute(batch, 'ZCARD'), 'ZCARD');
      return Number(count);
    },

    async scanOpportunities(cursor, count) {
      let reply: [string, string[]];
      try {
        reply = await redis.hscan(keys.opportunities, cursor, 'COUNT', count);
      } catch (cause) {
        throw fail(cause, `HSCAN ${keys.opportunities}`);
      }
      const [next, flat] = reply;
      const records: OpportunityRecord[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        records.push(codec.decodeOpportunity(flat[i] ?? '', flat[i + 1] ?? ''));
      return { next, records };
    },

    async applyRates(rows) {
      if (rows.length === 0) return;
      const batch = redis.multi();
      batch.hset(
        keys.fxRates,
        new Map(rows.map((r) => [codec.rateField(r.currency, r.date), formatRate(r.rate)])),
      );
      // Every instance's cache of the rates (loadRates) sees the new version and reads them again.
      batch.incr(keys.fxVersion);
      valuesOf(await execute(batch, 'applyRates'), 'applyRates');
    },

    async loadRates(currencies) {
      if (currencies.length === 0) return [];
      // Rates change rarely and every drain of a foreign-currency chunk reads them: they are
      // kept here with the version they were read at, and read again only when it moved.
      const check = redis.multi();
      check.get(keys.fxVersion);
      const [version] = valuesOf(await execute(check, 'loadRates'), 'loadRates');
      if (rateCache === null || rateCache.version !== (typeof version === 'string' ? version : '')) {
        const batch = redis.multi();
        batch.hgetall(keys.fxRates);
        batch.get(keys.fxVersion);
        const [all, readAt] = valuesOf(await execute(batch, 'loadRates'), 'loadRates');
        // ioredis turns an HGETALL inside MULTI into [field, value, …]; an object is taken as well.
        const flat = Array.isArray(all) ? all : Object.entries((all ?? {}) as Record<string, string>).flat();
        rateCache = {
          version: typeof readAt === 'string' ? readAt : '',
          rows: codec.decodeRates(flat, null),
        };
      }
      const wanted = new Set(currencies);
      return rateCache.rows.filter((r) => wanted.has(r.currency));
    },

    async currencyOpportunities(currency, from) {
      const batch = redis.multi();
      batch.zrangebyscore(
        keys.currencyOpportunities(currency),
        scoreBound(from, 'from'),
        '+inf',
        'WITHSCORES',
      );
      const [reply] = valuesOf(await execute(batch, 'currencyOpportunities'), 'currencyOpportunities');
      const found = new Map<string, Instant>();
      const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        found.set(String(flat[i]), codec.decodeInstant('currency opportunity', String(flat[i + 1])));
      return found;
    },

    async notePendingFx(waiting, settled) {
      const batch = redis.multi();
      for (const id of settled) batch.srem(keys.pendingFx, id);
      for (const id of waiting) batch.sadd(keys.pendingFx, id);
      batch.scard(keys.pendingFx);
      const results = valuesOf(await execute(batch, 'notePendingFx'), 'notePendingFx');
      return Number(results.at(-1));
    },

    async countPendingFx() {
      const batch = redis.multi();
      batch.scard(keys.pendingFx);
      const [count] = valuesOf(await execute(batch, 'countPendingFx'), 'countPendingFx');
      return Number(count);
    },

    async advanceWatermark(source, eventTime) {
      if (!Number.isFinite(eventTime))
        throw new RangeError(`watermark event time must be finite, got ${eventTime}`);
      const all = await runScript(
        ADVANCE,
        [keys.watermarks],
        [source, codec.encodeWatermark(eventTime)],
        'advanceWatermark',
      );
      return codec.decodeWatermarks(all);
    },
  };
}
