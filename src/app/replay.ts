import { createTotals, type Breakdown, type Cell } from '../domain/aggregate.js';
import type { AttributionSettings, OpportunityAttribution } from '../domain/attribute.js';
import type { Decision } from '../domain/decide.js';
import type { DomainEvent, Opportunity } from '../domain/events.js';
import { formatNanos, type Nanos } from '../domain/money.js';
import { UNASSIGNED } from '../domain/channel-rules.js';
import { localDate } from '../domain/period.js';
import { createRateBook, formatRate, RATE_SCALE, type RateBook } from '../domain/fx.js';
import { validateRate, type Rejection, type Vocabularies } from '../domain/validate.js';
import { createSpendBook, validateSpend, type SpendTotals } from '../domain/spend.js';
import { applyEvents, type ApplyOptions } from './apply-events.js';
import { attributeInState } from './attribute-opportunities.js';
import { validateRecord, type RateRecord, type SourcedRecord, type SpendRecord } from './ingest.js';
import {
  createQualityTracker,
  FileLine,
  type QualityReport,
  type QualityTracker,
  type RecordOrigin,
} from './quality.js';
import { createWorkingState, type WorkingState } from './working-state.js';

export interface ReplayResult {
  readonly cells: Cell[];
  readonly quality: QualityReport;
  readonly opportunities: number;
  /** Opportunities in a foreign currency without a usable rate: counted here, credited nowhere. */
  readonly pendingFx: number;
  /** Σ of the amounts of all attributed opportunities: every model's cells must add up to it. */
  readonly totalAmount: Nanos;
  /**
   * Revenue (SPEC "Stage models"): the closed-won opportunities' credits, the same as their
   * pipeline's, in cells broken down by `revenueBreakdown` (periods of closed_at).
   */
  readonly revenueCells: Cell[];
  readonly closedWon: number;
  /** Σ of the closed-won amounts: every model's revenue cells add up to it. */
  readonly revenueAmount: Nanos;
  /** Spend per channel and period in the reporting currency, when spend rows were given. */
  readonly spend?: SpendTotals;
}

export interface ReplayDeps {
  readonly settings: AttributionSettings;
  readonly vocab: Vocabularies;
  /** Receives every opportunity's attribution (the touch-level table is written from these). */
  readonly onAttribution?: (attribution: OpportunityAttribution) => void;
  /** What the table is broken down by beyond model × channel × segment (periods, campaigns). */
  readonly breakdown?: Breakdown;
  /** The same for revenue, whose period is that of closed_at; `breakdown` when absent. */
  readonly revenueBreakdown?: Breakdown;
  /** Which live opportunities are attributed and counted (--from/--to); all when absent. */
  readonly selectOpportunity?: (opportunity: Opportunity) => boolean;
  /**
   * Which closed-won opportunities count as revenue (--from/--to on the closing date); when
   * absent, those selectOpportunity selects.
   */
  readonly selectRevenue?: (opportunity: Opportunity) => boolean;
  /**
   * Currency conversion: the reporting currency, the zone whose local creation date picks a
   * rate, and the rate rows (validated like every record and counted in the quality report).
   */
  readonly fx?: {
    readonly reportingCurrency: string;
    readonly timeZone: string;
    readonly rates: Iterable<RateRecord>;
  };
  /**
   * Marketing spend rows (SPEC "Stage models, revenue and spend"), validated and counted like
   * every record, last writer wins per (date, channel, campaign), totalled per channel and
   * `periodOf(date)` (and campaign) in the reporting currency with the same rates.
   */
  readonly spend?: {
    readonly records: Iterable<SpendRecord>;
    readonly periodOf: (date: string) => string;
    readonly byCampaign: boolean;
  };
  /** Validated events handed to applyEvents at a time (1 = one call per record). */
  readonly batchSize?: number;
}

/**
 * Valid records are decided in small arrays: one applyEvents call per array, not per record.
 * Measured on 1.4 M records (docs/benchmarks.md): 1 → 256 saves the per-call allocations.
 */
const DEFAULT_BATCH = 256;

type Kind = 'touch' | 'contact' | 'opportunity';

/**
 * Batch replay, synchronous: validate every record, decide and record the valid ones in one
 * WorkingState through the same applyEvents that streaming runs (without tracking or recording
 * changes: batch attributes everything once at the end, and its state is the store), then
 * attribute every live opportunity once. No promise per record: the records come from a
 * synchronous iterable (the file readers read large chunks).
 */
export function replay(records: Iterable<SourcedRecord>, deps: ReplayDeps): ReplayResult {
  const quality = createQualityTracker();
  const settings =
    deps.fx === undefined
      ? deps.settings
      : {
          ...deps.settings,
          fx: {
            reportingCurrency: deps.fx.reportingCurrency,
            timeZone: deps.fx.timeZone,
            rates: readRates(deps.fx.rates, deps.fx.reportingCurrency, quality),
          },
        };
  const state = createWorkingState();
  const book = createOriginBook();
  /** Where the stored version of each entity came from (compact codes), to charge a later rejection to it. */
  const origins: Record<Kind, Map<string, number>> = {
    touch: new Map(),
    contact: new Map(),
    opportunity: new Map(),
  };
  const options: ApplyOptions = { windowMs: settings.windowMs, track: false, record: false };
  const batchSize = Math.max(1, deps.batchSize ?? DEFAULT_BATCH);
  const events: DomainEvent[] = [];
  const eventOrigins: RecordOrigin[] = [];

  const settle = (event: DomainEvent, decision: Decision, origin: RecordOrigin): void => {
    const { source } = origin;
    const kind: Kind =
      event.kind === 'opportunity-deleted' || event.kind === 'rate' ? 'opportunity' : event.kind;
    const id = idOf(event);
    if (decision === 'apply' || decision === 'conflict-replace') {
      quality.accepted(source);
      const stored = origins[kind];
      if (decision === 'conflict-replace') {
        const loserCode = stored.get(id);
        if (loserCode !== undefined) {
          const loser = book.origin(loserCode);
          quality.unaccept(loser.source, 1);
          quality.rejected(loser, conflictRejection(kind, id, origin.location));
        }
      }
      stored.set(id, book.code(origin));
    } else if (decision === 'duplicate') quality.duplicate(source);
    else if (decision === 'stale') quality.stale(source);
    else quality.rejected(origin, conflictRejection(kind, id, null));
  };
  const flush = (): void => {
    if (events.length === 0) return;
    const { decisions } = applyEvents(state, events, options);
    for (let i = 0; i < decisions.length; i += 1) {
      settle(events[i] as DomainEvent, decisions[i] as Decision, eventOrigins[i] as RecordOrigin);
    }
    events.length = 0;
    eventOrigins.length = 0;
  };

  for (const record of records) {
    quality.read(record.origin.source);
    const validated = validateRecord(record, deps.vocab);
    if (!validated.ok) {
      // Decide what came before first, so the report's examples stay in input order.
      flush();
      quality.rejected(record.origin, validated.rejection);
      continue;
    }
    if (validated.value.kind === 'rate') {
      // The datasets' readers never hand rates over as events: they come from the rates file.
      quality.rejected(record.origin, {
        reason: 'malformed_record',
        detail: 'an FX rate among the events: batch reads rates from fx_rates.csv (or --fx-rates)',
      });
      continue;
    }
    events.push(validated.value);
    eventOrigins.push(record.origin);
    if (events.length >= batchSize) flush();
  }
  flush();
  rejectTouchesOfUnknownContacts(state, quality, origins.touch, book);
  noticeUnmappedTouches(state, quality, origins.touch, book);

  const totals = createTotals(deps.breakdown);
  const revenue = createTotals(deps.revenueBreakdown ?? deps.breakdown);
  const select = deps.selectOpportunity;
  let opportunities = 0;
  let pendingFx = 0;
  let totalAmount = 0n;
  let closedWon = 0;
  let revenueAmount = 0n;
  const selectRevenue = deps.selectRevenue;
  for (const stored of state.opportunityRecords()) {
    if (stored.kind !== 'live') continue;
    const forPipeline = select === undefined || select(stored.opportunity);
    const forRevenue =
      stored.opportunity.stage === 'closed_won' &&
      (selectRevenue === undefined ? forPipeline : selectRevenue(stored.opportunity));
    if (!forPipeline && !forRevenue) continue;
    const attribution = attributeInState(state, stored.opportunity, settings);
    if (attribution === null) {
      pendingFx += 1;
      const { id, currency = '?', createdAt } = stored.opportunity;
      quality.notice(
        originOf(origins.opportunity, book, id),
        'pending_fx',
        `opportunity ${id}: no ${currency} rate on or before ${localDate(createdAt, settings.fx?.timeZone ?? 'UTC')}; not credited`,
      );
      continue;
    }
    if (forPipeline) {
      totals.add(attribution);
      deps.onAttribution?.(attribution);
      opportunities += 1;
      totalAmount += attribution.amount;
    }
    if (forRevenue && attribution.closedWonAt !== undefined) {
      revenue.add(attribution);
      closedWon += 1;
      revenueAmount += attribution.amount;
    }
  }
  const spend = deps.spend === undefined ? undefined : readSpend(deps.spend, deps.vocab, settings, quality);
  const modelOrder = settings.models.map((m) => m.name);
  return {
    ...(spend === undefined ? {} : { spend }),
    cells: totals.cells(modelOrder),
    revenueCells: revenue.cells(modelOrder),
    closedWon,
    revenueAmount,
    quality: quality.report(),
    opportunities,
    pendingFx,
    totalAmount,
  };
}

/**
 * The rate book from rate rows. Files have no order of truth, so two different rates for one
 * (date, currency) are a conflict, as for other records: reported, and the smaller rate kept
 * whichever came first (a compacted topic, where the later record corrects the earlier, is the
 * streaming source). A row for the reporting currency itself must say 1.
 */
function readRates(rows: Iterable<RateRecord>, reportingCurrency: string, quality: QualityTracker): RateBook {
  const book = createRateBook(reportingCurrency);
  for (const { raw, origin } of rows) {
    quality.read(origin.source);
    const validated = validateRate(raw);
    if (!validated.ok) {
      quality.rejected(origin, validated.rejection);
      continue;
    }
    const row = validated.value;
    if (row.currency === reportingCurrency) {
      if (row.rate === RATE_SCALE) quality.duplicate(origin.source);
      else
        quality.rejected(origin, {
          reason: 'invalid_rate',
          field: 'rate',
          detail: `${row.currency} is the reporting currency: its rate is 1, not ${formatRate(row.rate)}`,
        });
      continue;
    }
    const existing = book.rateFor(row.currency, row.date);
    if (existing !== null && existing.date === row.date) {
      if (existing.rate === row.rate) {
        quality.duplicate(origin.source);
        continue;
      }
      quality.rejected(origin, {
        reason: 'conflicting_duplicate',
        field: 'rate',
        detail: `rate of ${row.currency} on ${row.date} given twice, ${formatRate(existing.rate)} and ${formatRate(row.rate)}; kept ${formatRate(existing.rate < row.rate ? existing.rate : row.rate)}`,
      });
      if (row.rate < existing.rate) book.add(row);
      continue;
    }
    book.add(row);
    quality.accepted(origin.source);
  }
  return book;
}

/**
 * Spend rows to totals: each validated (channel text → a known channel), decided last writer
 * wins by updated_at (a conflict at one version is rejected, the smaller amount kept whatever
 * the order), converted with the replay's rates; rows whose rate is not known yet are noticed
 * as pending_fx and left out of the totals, never dropped silently.
 */
function readSpend(
  input: NonNullable<ReplayDeps['spend']>,
  vocab: Vocabularies,
  settings: AttributionSettings,
  quality: QualityTracker,
): SpendTotals {
  const book = createSpendBook();
  const origins = new Map<string, RecordOrigin>();
  const keyOf = (row: { date: string; channel: string; campaign: string | null }): string =>
    `${row.date}\u0000${row.channel}\u0000${row.campaign ?? ''}`;
  const channelOf = (text: string): string | null => vocab.channels.resolve(text);
  for (const { raw, origin } of input.records) {
    quality.read(origin.source);
    const validated = validateSpend(raw, channelOf);
    if (!validated.ok) {
      quality.rejected(origin, validated.rejection);
      continue;
    }
    const row = validated.value;
    const key = keyOf(row);
    const outcome = book.add(row);
    if (outcome === 'apply') {
      const replaced = origins.get(key);
      if (replaced !== undefined) {
        // The earlier row is superseded by a later version: accepted then, superseded now.
        quality.unaccept(replaced.source, 1);
        quality.stale(replaced.source);
      }
      quality.accepted(origin.source);
      origins.set(key, origin);
    } else if (outcome === 'duplicate') quality.duplicate(origin.source);
    else if (outcome === 'stale') quality.stale(origin.source);
    else
      quality.rejected(origin, {
        reason: 'conflicting_duplicate',
        field: 'amount',
        detail: `spend of ${row.channel} on ${row.date}${row.campaign === null ? '' : ` (campaign ${row.campaign})`} given twice at one updated_at with different content; kept amount ${formatNanosOf(book.get(row.date, row.channel, row.campaign))}`,
      });
  }
  const totals = book.totals({
    periodOf: input.periodOf,
    reportingCurrency: settings.fx?.reportingCurrency ?? book.rows()[0]?.currency ?? 'USD',
    rates: settings.fx?.rates,
    byCampaign: input.byCampaign,
  });
  for (const row of totals.pending)
    quality.notice(
      origins.get(keyOf(row)) ?? { source: 'spend', location: '?' },
      'pending_fx',
      `spend of ${row.channel} on ${row.date}: no ${row.currency} rate on or before ${row.date}; not in the totals`,
    );
  return totals;
}

const formatNanosOf = (row: { amount: Nanos; currency: string } | undefined): string =>
  row === undefined ? '?' : `${formatNanos(row.amount)} ${row.currency}`;

const idOf = (event: DomainEvent): string => {
  switch (event.kind) {
    case 'touch':
      return event.touch.id;
    case 'contact':
      return event.contact.id;
    case 'opportunity':
      return event.opportunity.id;
    case 'opportunity-deleted':
      return event.deletion.id;
    case 'rate':
      return `${event.rate.currency}/${event.rate.date}`;
  }
};

function conflictRejection(kind: string, id: string, keptAt: string | null): Rejection {
  return {
    reason: 'conflicting_duplicate',
    detail: `${kind} ${id} appears again, same version, different content; kept ${keptAt === null ? 'the earlier record' : `the record at ${keptAt}`}`,
  };
}

/** In batch every contact has arrived by the end, so a touch whose contact never came is bad input. */
function rejectTouchesOfUnknownContacts(
  state: WorkingState,
  quality: QualityTracker,
  touchOrigins: ReadonlyMap<string, number>,
  book: OriginBook,
): void {
  for (const contactId of state.contactsWithTouches()) {
    if (state.contact(contactId) !== undefined) continue;
    for (const touch of state.touchesOf(contactId, -Infinity, Infinity)) {
      const code = touchOrigins.get(touch.id);
      const origin = code === undefined ? { source: 'unknown', location: '?' } : book.origin(code);
      quality.unaccept(origin.source, 1);
      quality.rejected(origin, {
        reason: 'unknown_contact',
        field: 'contact_id',
        detail: `touchpoint ${touch.id}: contact ${contactId} is not in the contact data`,
      });
    }
  }
}

const originOf = (origins: ReadonlyMap<string, number>, book: OriginBook, id: string): RecordOrigin => {
  const code = origins.get(id);
  return code === undefined ? { source: 'unknown', location: '?' } : book.origin(code);
};

/** Touches no channel rule placed: credited to Unassigned, and counted so a reader sees them. */
function noticeUnmappedTouches(
  state: WorkingState,
  quality: QualityTracker,
  touchOrigins: ReadonlyMap<string, number>,
  book: OriginBook,
): void {
  for (const contactId of state.contactsWithTouches()) {
    if (state.contact(contactId) === undefined) continue;
    for (const touch of state.touchesOf(contactId, -Infinity, Infinity)) {
      if (touch.channel !== UNASSIGNED) continue;
      quality.notice(
        originOf(touchOrigins, book, touch.id),
        'unmapped_channel',
        `touchpoint ${touch.id}: no channel and no channel rule matched its UTM/campaign fields; credited to ${UNASSIGNED}`,
      );
    }
  }
}

/**
 * Origins as small numbers: a file line is (line × 64 + source index), one number and no
 * object per stored record; the "file:line" text is made only when a rejection is reported.
 * Any other origin (or a 65th file) is kept as it is, under a negative code.
 */
interface OriginBook {
  code(origin: RecordOrigin): number;
  origin(code: number): RecordOrigin;
}

const FILES_PER_CODE = 64;

function createOriginBook(): OriginBook {
  const sources: string[] = [];
  const sourceIndex = new Map<string, number>();
  const others: RecordOrigin[] = [];
  return {
    code(origin) {
      if (origin instanceof FileLine) {
        let index = sourceIndex.get(origin.source);
        if (index === undefined && sources.length < FILES_PER_CODE) {
          index = sources.length;
          sources.push(origin.source);
          sourceIndex.set(origin.source, index);
        }
        if (index !== undefined) return origin.line * FILES_PER_CODE + index;
      }
      others.push(origin);
      return -others.length;
    },
    origin(code) {
      if (code < 0) return others[-code - 1] as RecordOrigin;
      return new FileLine(sources[code % FILES_PER_CODE] as string, Math.floor(code / FILES_PER_CODE));
    },
  };
}
