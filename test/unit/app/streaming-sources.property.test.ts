/**
 * Streaming equals batch as the service really runs: each input kind is its own source (topic
 * partition) delivered in event-time order, batches of the sources interleave at random
 * boundaries, touch history is trimmed behind the slowest source's watermark (no extra
 * lateness), the pending sets drain only up to that watermark while "behind" and completely
 * when "live", and a crash between the Redis apply and the answer commit is followed by the
 * batch's redelivery. The final table must equal replay() of the same records.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import { eventTimeOf } from '../../../src/app/apply-events.js';
import { ingestEvents, pendingSetOf } from '../../../src/app/ingest-events.js';
import { validateRecord, type SourcedRecord } from '../../../src/app/ingest.js';
import type { AnswerStore } from '../../../src/app/ports.js';
import { replay } from '../../../src/app/replay.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import { sortCells, type Cell } from '../../../src/domain/aggregate.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { MODEL_NAMES } from '../../../src/domain/models/index.js';
import { AppError } from '../../../src/errors.js';
import { drainAll } from '../../fakes/stream.js';
import { messyWorldArb, withRepeats } from '../../fakes/world.js';

const settings = buildSettings({});
const vocab = buildVocabularies();
const comparable = (cells: readonly Cell[]): Cell[] => sortCells([...cells], MODEL_NAMES);

const SOURCES = ['touches/0', 'contacts/0', 'opportunities/0'] as const;
/** Two pending sets, as if the opportunities topic had two partitions. */
const PENDING_SETS = ['opportunities/0', 'opportunities/1'] as const;
const sourceOf = (event: DomainEvent): (typeof SOURCES)[number] =>
  event.kind === 'touch' ? 'touches/0' : event.kind === 'contact' ? 'contacts/0' : 'opportunities/0';

/** Per source, in event-time order (stable), as `touchline produce` publishes them. */
function bySource(records: readonly SourcedRecord[]): Map<string, DomainEvent[]> {
  const out = new Map<string, DomainEvent[]>(SOURCES.map((s) => [s, []]));
  for (const r of records) {
    const v = validateRecord(r, vocab);
    if (v.ok) out.get(sourceOf(v.value))?.push(v.value);
  }
  for (const list of out.values()) list.sort((a, b) => eventTimeOf(a) - eventTimeOf(b));
  return out;
}

interface Step {
  readonly source: number;
  readonly size: number;
  readonly live: boolean;
  readonly crash: boolean;
}
const stepArb = fc.record({
  source: fc.integer({ min: 0, max: 2 }),
  size: fc.integer({ min: 1, max: 6 }),
  live: fc.boolean(),
  crash: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
});

/** An answer store that fails its next `begin` when armed: the crash after the Redis apply. */
function crashable(real: AnswerStore): AnswerStore & { arm(): void; disarm(): boolean } {
  let armed = false;
  return {
    arm: () => (armed = true),
    /** Whether the crash happened (false: nothing was pending, so no commit began). */
    disarm: () => {
      const fired = !armed;
      armed = false;
      return fired;
    },
    begin: () => {
      if (!armed) return real.begin();
      armed = false;
      return Promise.reject(
        new AppError('STORE_UNAVAILABLE', 'killed before the commit', { retriable: true }),
      );
    },
  };
}

describe('streaming with several sources, trimming, gated drains and crashes', () => {
  it('ends with the same table as replay', async () => {
    await fc.assert(
      fc.asyncProperty(
        messyWorldArb.chain((records) => fc.tuple(fc.constant(records), withRepeats(records))),
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        async ([records, delivered], steps: Step[]) => {
          const expected = replay(records, { settings, vocab });
          const store = createMemoryStateStore();
          const real = createMemoryAnswerStore();
          const answers = crashable(real);
          const deps = {
            store,
            answers,
            settings,
            windowMs: settings.windowMs,
            allowedLatenessMs: 0,
            watermarkSources: 3,
            pendingSetOf: pendingSetOf('opportunities', 2),
            publish: () => Promise.resolve(),
          };
          const queues = bySource(delivered);
          let watermark = Number.MIN_SAFE_INTEGER;
          const drainEverySource = async (upTo: number): Promise<void> => {
            for (const set of PENDING_SETS) await drainAll(deps, set, upTo);
          };
          const deliver = async (source: string, batch: DomainEvent[], step: Step): Promise<void> => {
            const ingested = await ingestEvents(batch, deps, source, 0);
            watermark = Math.max(watermark, ingested.watermark);
            if (step.crash) {
              answers.arm();
              const crashed = await drainEverySource(Infinity).then(
                () => false,
                (error: Error) => error.message === 'killed before the commit',
              );
              expect(crashed).toBe(answers.disarm());
              // Not committed: Kafka redelivers the batch to whoever owns the partition next.
              await ingestEvents(batch, deps, source, 0);
            }
            await drainEverySource(step.live ? Infinity : watermark);
          };
          for (const step of steps) {
            const source = SOURCES[step.source] ?? SOURCES[0];
            const queue = queues.get(source) ?? [];
            const batch = queue.splice(0, step.size);
            if (batch.length > 0) await deliver(source, batch, step);
          }
          // The rest, source by source, then caught up: everything drains.
          for (const source of SOURCES) {
            const rest = queues.get(source) ?? [];
            while (rest.length > 0)
              await deliver(source, rest.splice(0, 5), { source: 0, size: 5, live: false, crash: false });
          }
          await drainEverySource(Infinity);
          expect(comparable(real.cells())).toEqual(comparable(expected.cells));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('pendingSetOf', () => {
  it('names one set per opportunity, the same on every call, spread over the buckets', () => {
    const setOf = pendingSetOf('crm.opportunities.v1', 6);
    // A second computation of FNV-1a 32 in bigint arithmetic, independent of the Math.imul one.
    const fnv = (text: string): number => {
      let h = 2166136261n;
      for (const ch of text) h = ((h ^ BigInt(ch.charCodeAt(0))) * 16777619n) % 4294967296n;
      return Number(h);
    };
    for (const id of ['O1', 'O2', 'opp-000123', 'é'])
      expect(setOf(id)).toBe(`crm.opportunities.v1/${fnv(id) % 6}`);
    const used = new Set(Array.from({ length: 600 }, (_, i) => setOf(`O${i}`)));
    expect(used.size).toBe(6);
  });
});
