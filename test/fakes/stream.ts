// The streaming use cases as the service chains them, for unit tests over the in-memory stores:
// ingest one batch of one source, then drain every pending opportunity of that source.
import { drainPending, type DrainDeps } from '../../src/app/commit-answers.js';
import { ingestEvents, type IngestDeps } from '../../src/app/ingest-events.js';
import type { AttributionRevision } from '../../src/app/ports.js';
import type { Decision } from '../../src/domain/decide.js';
import type { DomainEvent } from '../../src/domain/events.js';

/** The use cases' deps; without `pendingSetOf`, every opportunity is marked in the set 'default'. */
export type StreamDeps = Omit<IngestDeps, 'pendingSetOf'> &
  Partial<Pick<IngestDeps, 'pendingSetOf'>> &
  DrainDeps;

export interface Streamed {
  readonly decisions: Decision[];
  readonly revisions: AttributionRevision[];
  readonly watermark: number;
}

/** Ingests the batch (from `source`), then drains the pending set 'default' completely, 50 opportunities a commit. */
export async function streamBatch(
  events: readonly DomainEvent[],
  deps: StreamDeps,
  source = 'default',
): Promise<Streamed> {
  const ingested = await ingestEvents(
    events,
    { ...deps, pendingSetOf: deps.pendingSetOf ?? (() => 'default') },
    source,
    0,
  );
  const revisions = await drainAll(deps, 'default');
  return { decisions: ingested.decisions, revisions, watermark: ingested.watermark };
}

export async function drainAll(
  deps: DrainDeps,
  source = 'default',
  upTo = Infinity,
): Promise<AttributionRevision[]> {
  const revisions: AttributionRevision[] = [];
  for (;;) {
    const drained = await drainPending(deps, source, upTo, 50);
    const firstFailure = drained.failed[0];
    if (firstFailure !== undefined) throw firstFailure.error;
    revisions.push(...drained.revisions);
    if (drained.claims.length === 0) return revisions;
  }
}
