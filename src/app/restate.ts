import type { Affected } from './apply-events.js';
import type { PendingMarks, StateStore } from './ports.js';

/** Records read per scan page, and marks written per apply. */
const PAGE = 1_000;

export interface Restated {
  /** Live opportunities marked for re-attribution. */
  readonly marked: number;
  /** Deleted opportunities (tombstones) passed over. */
  readonly deleted: number;
}

/**
 * `touchline restate`: marks every live opportunity for re-attribution (reason `restate`), in
 * the pending set its owner drains, so the running instances attribute each one again with
 * the settings they now run with — after a channel rules change, every instance restarted with
 * the new rules file. Nothing is computed here: the drain does it through the one commit path,
 * so an answer that comes out the same makes no revision, and a changed one is published and
 * moves the totals by its exact delta. Marking twice is harmless (one mark per opportunity).
 */
export async function markAllForRestatement(
  store: StateStore,
  pendingSetOf: (opportunityId: string) => string,
  markedAt: number,
): Promise<Restated> {
  let cursor = '0';
  let marked = 0;
  let deleted = 0;
  const seen = new Set<string>();
  do {
    const page = await store.scanOpportunities(cursor, PAGE);
    cursor = page.next;
    const bySet = new Map<string, Map<string, Affected>>();
    for (const record of page.records) {
      if (record.kind !== 'live') {
        deleted += 1;
        continue;
      }
      const { id, createdAt } = record.opportunity;
      // HSCAN may return a record twice; it is marked once and counted once.
      if (seen.has(id)) continue;
      seen.add(id);
      const set = pendingSetOf(id);
      let affected = bySet.get(set);
      if (affected === undefined) bySet.set(set, (affected = new Map<string, Affected>()));
      affected.set(id, { reason: 'restate', createdAt });
      marked += 1;
    }
    const marks: PendingMarks[] = [...bySet].map(([source, affected]) => ({ source, affected, markedAt }));
    if (marks.length > 0)
      await store.apply({ touches: [], contacts: [], opportunities: [] }, Number.MIN_SAFE_INTEGER, marks);
  } while (cursor !== '0');
  return { marked, deleted };
}
