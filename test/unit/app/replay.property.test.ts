import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvents } from '../../../src/app/apply-events.js';
import { attributeIdInState } from '../../../src/app/attribute-opportunities.js';
import { validateRecord, type SourcedRecord } from '../../../src/app/ingest.js';
import { replay, type ReplayResult } from '../../../src/app/replay.js';
import { createWorkingState } from '../../../src/app/working-state.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import { diffAttributions } from '../../../src/domain/aggregate.js';
import type { OpportunityAttribution } from '../../../src/domain/attribute.js';
import { ALL_MODELS } from '../../../src/domain/models/index.js';
import { cleanWorldArb, messyWorldArb, shuffled, withRepeats } from '../../fakes/world.js';

const settings = buildSettings({});
const vocab = buildVocabularies();
const MODEL_NAMES = ALL_MODELS.map((m) => m.name);
const RUNS = { numRuns: 150 };

interface Outcome {
  result: ReplayResult;
  attributions: OpportunityAttribution[];
}

function run(records: readonly SourcedRecord[]): Outcome {
  const attributions: OpportunityAttribution[] = [];
  const result = replay(records, {
    settings,
    vocab,
    onAttribution: (a) => attributions.push(a),
  });
  attributions.sort((a, b) =>
    a.opportunityId < b.opportunityId ? -1 : a.opportunityId > b.opportunityId ? 1 : 0,
  );
  return { result, attributions };
}

/** What must not depend on delivery: the table, and every opportunity's credits. */
const answer = ({ result, attributions }: Outcome): unknown => ({
  cells: result.cells,
  opportunities: result.opportunities,
  totalAmount: result.totalAmount,
  attributions,
});

const sumOf = (amounts: Iterable<bigint>): bigint => {
  let total = 0n;
  for (const a of amounts) total += a;
  return total;
};

describe('replay properties (random small worlds)', () => {
  it('conserves pipeline: per model, Σ cells incl. Unattributed = Σ amounts of the live opportunities', () => {
    fc.assert(
      fc.property(cleanWorldArb, (world) => {
        const { result, attributions } = run(world.records);
        expect(result.totalAmount).toBe(world.expectedTotal);
        expect(result.opportunities).toBe(world.liveIds.length);
        expect(attributions.map((a) => a.opportunityId)).toEqual([...world.liveIds].sort());
        for (const model of MODEL_NAMES) {
          const cells = result.cells.filter((c) => c.model === model);
          expect(sumOf(cells.map((c) => c.amount))).toBe(world.expectedTotal);
          for (const cell of cells) expect(cell.opportunities).toBeLessThanOrEqual(world.liveIds.length);
        }
      }),
      RUNS,
    );
  });

  it('credits each opportunity exactly its amount under every model, never a negative credit', () => {
    fc.assert(
      fc.property(messyWorldArb, (records) => {
        const { result, attributions } = run(records);
        expect(sumOf(attributions.map((a) => a.amount))).toBe(result.totalAmount);
        for (const a of attributions) {
          expect(a.results.map((r) => r.model)).toEqual(MODEL_NAMES);
          for (const r of a.results) {
            expect(sumOf(r.credits.map((c) => c.amount))).toBe(a.amount);
            for (const c of r.credits) expect(c.amount >= 0n).toBe(true);
            const unattributed = r.credits.filter((c) => c.touchpointId === null);
            if (a.eligibleTouches === 0)
              expect(r.credits).toEqual([
                { touchpointId: null, channel: 'Unattributed', occurredAt: null, amount: a.amount },
              ]);
            else expect(unattributed).toEqual([]);
          }
        }
        for (const model of MODEL_NAMES) {
          expect(sumOf(result.cells.filter((c) => c.model === model).map((c) => c.amount))).toBe(
            result.totalAmount,
          );
        }
      }),
      RUNS,
    );
  });

  it('accounts for every record read, per source', () => {
    fc.assert(
      fc.property(messyWorldArb, (records) => {
        const { result } = run(records);
        for (const s of result.quality.sources) {
          const rejected = sumOf(Object.values(s.rejected).map(BigInt));
          expect(s.accepted).toBeGreaterThanOrEqual(0);
          expect(BigInt(s.read)).toBe(BigInt(s.accepted + s.duplicates + s.stale) + rejected);
        }
        expect(result.quality.totals.read).toBe(records.length);
      }),
      RUNS,
    );
  });

  it('gives the same answer for any delivery order', () => {
    fc.assert(
      fc.property(
        messyWorldArb.chain((records) => fc.tuple(fc.constant(records), shuffled(records))),
        ([records, reordered]) => {
          expect(answer(run(reordered))).toEqual(answer(run(records)));
        },
      ),
      RUNS,
    );
  });

  it('gives the same answer when records are delivered more than once', () => {
    fc.assert(
      fc.property(
        messyWorldArb.chain((records) => fc.tuple(fc.constant(records), withRepeats(records))),
        ([records, repeated]) => {
          expect(answer(run(repeated))).toEqual(answer(run(records)));
        },
      ),
      RUNS,
    );
  });

  it('gives the same table when streamed event by event (re-attributing what applyEvents names) as in batch', () => {
    fc.assert(
      fc.property(messyWorldArb.chain(shuffled), (records) => {
        const state = createWorkingState();
        const current = new Map<string, OpportunityAttribution | null>();
        const totals = new Map<string, { amount: bigint; opportunities: number }>();
        for (const record of records) {
          const validated = validateRecord(record, vocab);
          if (!validated.ok) continue;
          const { affected } = applyEvents(state, [validated.value], {
            windowMs: settings.windowMs,
            track: true,
            record: false,
          });
          for (const id of affected.keys()) {
            const next = attributeIdInState(state, id, settings);
            for (const d of diffAttributions(current.get(id) ?? null, next)) {
              const key = `${d.model}|${d.channel}|${d.segment}`;
              const cell = totals.get(key) ?? { amount: 0n, opportunities: 0 };
              cell.amount += d.amount;
              cell.opportunities += d.opportunities;
              totals.set(key, cell);
            }
            current.set(id, next);
          }
        }
        const streamed: Record<string, [bigint, number]> = {};
        for (const [key, cell] of totals)
          if (cell.opportunities !== 0 || cell.amount !== 0n)
            streamed[key] = [cell.amount, cell.opportunities];
        const batch: Record<string, [bigint, number]> = {};
        for (const c of run(records).result.cells)
          batch[`${c.model}|${c.channel}|${c.segment}`] = [c.amount, c.opportunities];
        expect(streamed).toEqual(batch);
      }),
      RUNS,
    );
  });
});
