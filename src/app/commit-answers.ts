import type { AttributionSettings, OpportunityAttribution } from '../domain/attribute.js';
import { compareText } from '../domain/aggregate.js';
import { createRateBook } from '../domain/fx.js';
import type { Instant } from '../domain/time.js';
import { windowStart } from '../domain/window.js';
import { attributeIdInState } from './attribute-opportunities.js';
import { planCommit } from './commit-plan.js';
import { isAppError } from '../errors.js';
import type {
  AnswerStore,
  AttributionRevision,
  NextAttributions,
  PendingClaim,
  StateStore,
} from './ports.js';
import { createWorkingState, type WorkingState } from './working-state.js';

export interface DrainDeps {
  readonly store: StateStore;
  readonly answers: AnswerStore;
  readonly settings: AttributionSettings;
  /** Publishes changed answers; runs inside the answer transaction, before it commits. */
  readonly publish: (revisions: readonly AttributionRevision[]) => Promise<void>;
}

export interface Drained {
  readonly claims: readonly PendingClaim[];
  readonly revisions: readonly AttributionRevision[];
  /** Opportunities whose answer could not be computed or stored for a reason a retry cannot fix. */
  readonly failed: readonly { readonly opportunityId: string; readonly error: Error }[];
  /** How many opportunities of the state wait for an FX rate after this drain (null: nothing claimed). */
  readonly pendingFx: number | null;
}

/**
 * Drains up to `limit` pending opportunities of one source created at or before `upTo`:
 * claim → commit their answers → release. A crash anywhere leaves them pending for the next
 * owner of the source; committing again finds the answers unchanged.
 */
export async function drainPending(
  deps: DrainDeps,
  source: string,
  upTo: Instant,
  limit: number,
): Promise<Drained> {
  const claims = await deps.store.claimPending(source, upTo, limit);
  if (claims.length === 0) return { claims, revisions: [], failed: [], pendingFx: null };
  const reasons = new Map(claims.map((c) => [c.opportunityId, c.reason] as const));
  let pendingFx = 0;
  const attribute = async (ids: readonly string[]): Promise<NextAttributions> => {
    const state = await loadForAttribution(deps.store, ids, deps.settings.windowMs);
    const settings = await withRatesFor(deps.store, state, ids, deps.settings);
    const next = new Map<string, { attribution: OpportunityAttribution | null; reason: string }>();
    const waiting: string[] = [];
    const settled: string[] = [];
    for (const id of ids) {
      const attribution = attributeIdInState(state, id, settings);
      next.set(id, { attribution, reason: reasons.get(id) ?? 'unknown' });
      // A live opportunity left unattributed is pending_fx (no usable rate yet); every other
      // one (attributed, deleted, unknown) waits no more, whatever its currency was before.
      if (state.opportunity(id)?.kind === 'live' && attribution === null) waiting.push(id);
      else settled.push(id);
    }
    pendingFx = await deps.store.notePendingFx(waiting, settled);
    return next;
  };
  const commit = (ids: readonly string[]): Promise<AttributionRevision[]> =>
    commitAnswers(deps.answers, ids, attribute, deps.publish, deps.settings.timeZone);
  const revisions: AttributionRevision[] = [];
  const failed: { opportunityId: string; error: Error }[] = [];
  try {
    revisions.push(...(await commit([...reasons.keys()])));
  } catch (error) {
    if (isAppError(error) && error.retriable) throw error;
    // One opportunity at fault must not hold back the others: each is committed alone.
    for (const id of reasons.keys()) {
      try {
        revisions.push(...(await commit([id])));
      } catch (single) {
        if (isAppError(single) && single.retriable) throw single;
        failed.push({
          opportunityId: id,
          error: single instanceof Error ? single : new Error(String(single)),
        });
      }
    }
  }
  await deps.store.releasePending(source, claims);
  return { claims, revisions, failed, pendingFx };
}

/**
 * The one place answers are committed, top to bottom:
 *   lock the opportunities → reload the state and attribute (after every earlier holder's
 *   commit, so the last writer sees the latest state) → load the stored answers → plan the
 *   changed ones (revision + 1, exact cell deltas) → write → publish → move the totals → commit.
 * Unchanged answers produce no revision; a redelivered or concurrent commit counts nothing twice.
 */
export async function commitAnswers(
  answers: AnswerStore,
  opportunityIds: readonly string[],
  attribute: (ids: readonly string[]) => Promise<NextAttributions>,
  publish: (revisions: readonly AttributionRevision[]) => Promise<void>,
  /** The reporting time zone the per-day totals are kept in. */
  timeZone = 'UTC',
): Promise<AttributionRevision[]> {
  const ids = [...new Set(opportunityIds)].sort(compareText);
  if (ids.length === 0) return [];
  const tx = await answers.begin();
  try {
    await tx.lock(ids);
    const next = await attribute(ids);
    const stored = await tx.load(ids);
    const plan = planCommit(next, stored, timeZone);
    await tx.writeAnswers(plan.writes);
    await publish(plan.revisions);
    // The totals rows are shared by most commits: locked last, after the publish, so concurrent
    // commits on other opportunities wait only for a statement, not a publish. The all-time
    // cells, the most shared, come after the per-day ones (fewer commits meet on a day's rows).
    await tx.moveDayTotals(plan.dayDeltas, plan.campaignDeltas);
    await tx.moveTotals(plan.deltas);
    await tx.commit();
    return plan.revisions;
  } catch (error) {
    await tx.rollback();
    throw error;
  }
}

/**
 * The settings with the stored FX rates of the chunk's foreign currencies (one read, only when
 * the chunk has an opportunity in another currency than the reporting one).
 */
async function withRatesFor(
  store: StateStore,
  state: WorkingState,
  ids: readonly string[],
  settings: AttributionSettings,
): Promise<AttributionSettings> {
  const fx = settings.fx;
  if (fx === undefined) return settings;
  const currencies = new Set<string>();
  for (const id of ids) {
    const record = state.opportunity(id);
    const currency = record?.kind === 'live' ? record.opportunity.currency : undefined;
    if (currency !== undefined && currency !== fx.reportingCurrency) currencies.add(currency);
  }
  if (currencies.size === 0) return settings;
  const rates = createRateBook(fx.reportingCurrency);
  for (const row of fx.rates.rows()) rates.add(row);
  for (const row of await store.loadRates([...currencies])) rates.add(row);
  return { ...settings, fx: { ...fx, rates } };
}

/**
 * What attributing these opportunities reads, in three bulk round trips: the opportunities,
 * their accounts' contacts, those contacts' touches within the chunk's windows.
 */
export async function loadForAttribution(
  store: StateStore,
  ids: readonly string[],
  windowMs: number,
): Promise<WorkingState> {
  const opportunities = await store.loadOpportunities(ids);
  const accounts = new Set<string>();
  let from = Infinity;
  let to = -Infinity;
  for (const record of opportunities.values()) {
    if (record.kind !== 'live') continue;
    accounts.add(record.opportunity.accountId);
    from = Math.min(from, windowStart(record.opportunity.createdAt, windowMs));
    to = Math.max(to, record.opportunity.createdAt);
  }
  const accountContacts = await store.loadAccountContacts([...accounts]);
  const contactIds = [...new Set([...accountContacts.values()].flat())];
  const histories =
    contactIds.length === 0 ? new Map() : await store.loadTouchHistories(contactIds, from, to);
  return createWorkingState({
    opportunities: opportunities.values(),
    accountContacts,
    touches: [...histories.values()].flat(),
  });
}
