import { UNATTRIBUTED } from './catalog.js';
import { UNASSIGNED, type ChannelResolver } from './channel-rules.js';
import { closedWonAt, type Opportunity, type Touch } from './events.js';
import { splitByWeights, type Nanos } from './money.js';
import type { AttributionModel, ModelContext } from './models/index.js';
import type { Instant } from './time.js';
import { convertAmount, type Rate, type RateBook } from './fx.js';
import { localDate } from './period.js';
import { eligibleTouches } from './window.js';

export interface AttributionSettings {
  readonly windowMs: number;
  readonly halfLifeMs: number;
  readonly models: readonly AttributionModel[];
  /** Currency conversion; without it every amount is taken as given (one currency). */
  readonly fx?: FxSettings;
  /** The reporting time zone (IANA) that per-day totals use; UTC when absent. */
  readonly timeZone?: string;
  /**
   * The channel rules in force: a touch the rules placed (Touch.channelText) is placed again
   * with them, so answers follow a rules change. Without them, the channel stored is used.
   */
  readonly channelRules?: ChannelResolver;
}

/** The reporting currency, the rates into it, and the zone whose local date picks a rate. */
export interface FxSettings {
  readonly reportingCurrency: string;
  readonly rates: RateBook;
  readonly timeZone: string;
}

/** An opportunity's amount as it was given, when it was converted from another currency. */
export interface OriginalAmount {
  readonly amount: Nanos;
  readonly currency: string;
  readonly rate: Rate;
  readonly rateDate: string;
}

/**
 * The opportunity with its amount in the reporting currency (SPEC "Currency": amount × rate,
 * exact, rounded half-even to the nano, before any split), or null when it is `pending_fx`: in a
 * foreign currency with no rate dated on or before its local creation date.
 */
export function inReportingCurrency(
  opportunity: Opportunity,
  fx: FxSettings | undefined,
): { readonly opportunity: Opportunity; readonly original: OriginalAmount | null } | null {
  const currency = opportunity.currency;
  if (fx === undefined || currency === undefined || currency === fx.reportingCurrency)
    return { opportunity, original: null };
  const conversion = convertAmount(
    opportunity.amount,
    currency,
    localDate(opportunity.createdAt, fx.timeZone),
    fx.rates,
  );
  if (conversion.kind === 'pending_fx') return null;
  return {
    opportunity: { ...opportunity, amount: conversion.amount },
    original: {
      amount: opportunity.amount,
      currency,
      rate: conversion.rate,
      rateDate: conversion.rateDate ?? '',
    },
  };
}

/** One touch's share of one opportunity under one model; touchpointId null = Unattributed. */
export interface Credit {
  readonly touchpointId: string | null;
  readonly channel: string;
  readonly occurredAt: Instant | null;
  readonly amount: Nanos;
  /** The touch's campaign (domain/events.ts campaignOf); absent or null = none. */
  readonly campaign?: string | null;
}

export interface ModelResult {
  readonly model: string;
  readonly credits: readonly Credit[];
}

export interface OpportunityAttribution {
  readonly opportunityId: string;
  readonly accountId: string;
  readonly segment: string;
  /** In the reporting currency: what the credits sum to. */
  readonly amount: Nanos;
  /** The amount as given, when it was converted from another currency. */
  readonly original?: OriginalAmount;
  /** The version of the channel rules the credits were placed with, when rules are in force. */
  readonly rulesVersion?: string;
  readonly createdAt: Instant;
  /**
   * When the opportunity is closed won (SPEC "Stage models", revenue): its closing instant, which
   * revenue is reported by. Absent for an open or lost opportunity.
   */
  readonly closedWonAt?: Instant;
  readonly eligibleTouches: number;
  readonly results: readonly ModelResult[];
}

/**
 * Attributes one opportunity under every model. `candidates` are the touches of all contacts of
 * the opportunity's account (any time; the window is applied here). Pure and deterministic:
 * the same opportunity and the same set of touches give the same credits, in any input order.
 */
export function attributeOpportunity(
  opportunity: Opportunity,
  candidates: readonly Touch[],
  settings: AttributionSettings,
  leadTimes: readonly Instant[] = [],
): OpportunityAttribution {
  const closedAt = closedWonAt(opportunity);
  const afterCreation =
    closedAt === null
      ? []
      : eligibleTouches(candidates, closedAt, closedAt - opportunity.createdAt).filter(
          (touch) => touch.occurredAt > opportunity.createdAt,
        );
  return attributeEligible(
    opportunity,
    eligibleTouches(candidates, opportunity.createdAt, settings.windowMs),
    settings,
    { leadCreatedAt: leadCreationOf(leadTimes, opportunity.createdAt, settings.windowMs), afterCreation },
  );
}

/**
 * What stage models need beyond the eligible touches (SPEC "Stage models"): L, and for an
 * opportunity closed won at C the account's touches in (created_at, C], in canonical order.
 */
export interface StageInputs {
  readonly leadCreatedAt: Instant | null;
  readonly afterCreation: readonly Touch[];
}

const NO_STAGE_INPUTS: StageInputs = { leadCreatedAt: null, afterCreation: [] };

/** L: the earliest of the contacts' lead_created_at with created_at − W ≤ L ≤ created_at; null when none. */
export function leadCreationOf(
  leadTimes: Iterable<Instant>,
  createdAt: Instant,
  windowMs: number,
): Instant | null {
  let earliest: Instant | null = null;
  for (const at of leadTimes)
    if (at >= createdAt - windowMs && at <= createdAt && (earliest === null || at < earliest)) earliest = at;
  return earliest;
}

/** Whether any of the models weighs touches after creation (then StageInputs.afterCreation is needed). */
export const weighsThroughClose = (settings: AttributionSettings): boolean =>
  settings.models.some((model) => model.candidates === 'through_close');

/**
 * Whether any of the models reads StageInputs at all: the position models, which declare their
 * candidate set (models/model.ts); the others see only the window and creation instant.
 */
export const readsStageInputs = (settings: AttributionSettings): boolean =>
  settings.models.some((model) => model.candidates !== undefined);

/**
 * The same from touches already known to be the eligible ones: in the window, unique by id and
 * in canonical order (what a state's sorted, binary-searched histories give; see
 * app/attribute-opportunities.ts), so nothing is filtered or sorted again.
 */
export function attributeEligible(
  opportunity: Opportunity,
  touches: readonly Touch[],
  settings: AttributionSettings,
  stage: StageInputs = NO_STAGE_INPUTS,
): OpportunityAttribution {
  const results: ModelResult[] = [];
  const closedAt = closedWonAt(opportunity);
  const context: ModelContext = {
    createdAt: opportunity.createdAt,
    halfLifeMs: settings.halfLifeMs,
    leadCreatedAt: stage.leadCreatedAt,
    closedWonAt: closedAt,
  };
  let throughClose: readonly Touch[] | null = null;
  for (const model of settings.models) {
    let candidates = touches;
    if (model.candidates === 'through_close' && stage.afterCreation.length > 0)
      candidates = throughClose ??= [...touches, ...stage.afterCreation];
    results.push({
      model: model.name,
      credits: creditsFor(model, opportunity, candidates, context, settings.channelRules),
    });
  }
  return {
    opportunityId: opportunity.id,
    accountId: opportunity.accountId,
    segment: opportunity.segment,
    amount: opportunity.amount,
    createdAt: opportunity.createdAt,
    eligibleTouches: touches.length,
    results,
    ...(settings.channelRules === undefined ? {} : { rulesVersion: settings.channelRules.version }),
    ...(closedAt === null ? {} : { closedWonAt: closedAt }),
  };
}

/** A touch's channel under the rules in force (see AttributionSettings.channelRules). */
export function channelOf(touch: Touch, rules: ChannelResolver | undefined): string {
  if (rules === undefined || touch.channelText === undefined) return touch.channel;
  const tags = touch.tags;
  const resolved = rules.resolve({
    channel: touch.channelText,
    utm_source: tags?.utm_source ?? null,
    utm_medium: tags?.utm_medium ?? null,
    utm_campaign: tags?.utm_campaign ?? null,
    campaign_name: tags?.campaign_name ?? null,
  });
  // Text that new rules no longer map cannot be refused any more (it was accepted): Unassigned.
  return resolved.kind === 'known' || resolved.kind === 'rule' ? resolved.channel : UNASSIGNED;
}

const creditOf = (touch: Touch, amount: Nanos, rules: ChannelResolver | undefined): Credit => {
  const channel = channelOf(touch, rules);
  return touch.campaign === undefined || touch.campaign === null
    ? { touchpointId: touch.id, channel, occurredAt: touch.occurredAt, amount }
    : { touchpointId: touch.id, channel, occurredAt: touch.occurredAt, amount, campaign: touch.campaign };
};

function creditsFor(
  model: AttributionModel,
  opportunity: Opportunity,
  touches: readonly Touch[],
  context: ModelContext,
  rules: ChannelResolver | undefined,
): Credit[] {
  if (touches.length === 0) {
    return [{ touchpointId: null, channel: UNATTRIBUTED, occurredAt: null, amount: opportunity.amount }];
  }
  const weights = model.weigh(touches, context);
  const n = touches.length;
  if (weights.length !== n) throw invalidWeights(model, n);
  let positives = 0;
  let sole = -1;
  let allEqual = true;
  const firstWeight = weights[0] as bigint;
  for (let i = 0; i < n; i += 1) {
    const weight = weights[i] as bigint;
    if (weight < 0n) throw invalidWeights(model, n);
    if (weight > 0n) {
      positives += 1;
      sole = i;
    }
    if (weight !== firstWeight) allEqual = false;
  }
  if (positives === 0) throw invalidWeights(model, n);
  // The shortcuts give exactly what splitByWeights gives: one positive weight takes the whole
  // amount; equal weights get amount / n each, the remainder one nano each to the earliest.
  if (positives === 1) return [creditOf(touches[sole] as Touch, opportunity.amount, rules)];
  if (allEqual) {
    const count = BigInt(n);
    const base = opportunity.amount / count;
    const extra = Number(opportunity.amount % count);
    const credits: Credit[] = [];
    for (let i = 0; i < n; i += 1)
      credits.push(creditOf(touches[i] as Touch, i < extra ? base + 1n : base, rules));
    return credits;
  }
  const amounts = splitByWeights(opportunity.amount, weights);
  const credits: Credit[] = [];
  for (let i = 0; i < n; i += 1) {
    if ((weights[i] as bigint) === 0n) continue;
    credits.push(creditOf(touches[i] as Touch, amounts[i] as Nanos, rules));
  }
  return credits;
}

const invalidWeights = (model: AttributionModel, n: number): RangeError =>
  new RangeError(`model ${model.name} returned invalid weights for ${n} touches`);
