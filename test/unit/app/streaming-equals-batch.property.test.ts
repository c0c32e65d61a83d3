/**
 * Streaming equals batch: the messy random worlds, delivered in random order, with repeats,
 * in random batch sizes through processEvents over the in-memory stores, end with the same
 * channel × segment table as replay() of the same records — and redelivering everything
 * changes nothing and publishes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import { validateRecord, type SourcedRecord } from '../../../src/app/ingest.js';
import type { AttributionRevision } from '../../../src/app/ports.js';
import { streamBatch as processEvents } from '../../fakes/stream.js';
import { replay } from '../../../src/app/replay.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import { sortCells, type Cell } from '../../../src/domain/aggregate.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { MODEL_NAMES } from '../../../src/domain/models/index.js';
import { messyWorldArb, withRepeats } from '../../fakes/world.js';

const settings = buildSettings({});
const vocab = buildVocabularies();

const validEvents = (records: readonly SourcedRecord[]): DomainEvent[] =>
  records.flatMap((r) => {
    const v = validateRecord(r, vocab);
    return v.ok ? [v.value] : [];
  });

const chunks = <T>(items: readonly T[], sizes: readonly number[]): T[][] => {
  const out: T[][] = [];
  let i = 0;
  let k = 0;
  while (i < items.length) {
    const size = sizes[k % sizes.length] ?? 1;
    out.push(items.slice(i, i + size));
    i += size;
    k += 1;
  }
  return out;
};

const comparable = (cells: readonly Cell[]): Cell[] => sortCells([...cells], MODEL_NAMES);

async function stream(events: readonly DomainEvent[], sizes: readonly number[]) {
  const store = createMemoryStateStore();
  const answers = createMemoryAnswerStore();
  const published: AttributionRevision[] = [];
  const deps = {
    store,
    answers,
    settings,
    windowMs: settings.windowMs,
    // Lateness large enough that trimming never drops a touch a batch replay would use.
    allowedLatenessMs: 10 * 365 * 86_400_000,
    watermarkSources: 1,
    publish: (revisions: readonly AttributionRevision[]) => {
      published.push(...revisions);
      return Promise.resolve();
    },
  };
  for (const batch of chunks(events, sizes)) await processEvents(batch, deps);
  return { answers, published, deps };
}

describe('processEvents (streaming) against replay (batch)', () => {
  it('ends with the same table for any delivery order, batching and repetition', async () => {
    await fc.assert(
      fc.asyncProperty(
        messyWorldArb.chain((records) => fc.tuple(fc.constant(records), withRepeats(records))),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        async ([records, delivered], sizes) => {
          const batch = replay(records, { settings, vocab });
          const { answers } = await stream(validEvents(delivered), sizes);
          expect(comparable(answers.cells())).toEqual(comparable(batch.cells));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('publishes nothing and moves nothing when everything is delivered again', async () => {
    await fc.assert(
      fc.asyncProperty(messyWorldArb, async (records) => {
        const events = validEvents(records);
        const { answers, published, deps } = await stream(events, [3]);
        const before = comparable(answers.cells());
        const count = published.length;
        for (const batch of chunks(events, [4])) await processEvents(batch, deps);
        expect(published.length).toBe(count);
        expect(comparable(answers.cells())).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });
});
