import { UNATTRIBUTED } from './catalog.js';
import type { Opportunity, Touch } from './events.js';
import { splitByWeights, type Nanos } from './money.js';
import type { AttributionModel } from './models/index.js';
import type { Instant } from './time.js';
import { eligibleTouches } from './window.js';

export interface AttributionSettings {
  readonly windowMs: number;
  readonly halfLifeMs: number;
  readonly models: readonly AttributionModel[];
}

/** One touch's share of one opportunity under one model; touchpointId null = Unattributed. */
export interface Credit {
  readonly touchpointId: string | null;
  readonly channel: string;
  readonly occurredAt: Instant | null;
  readonly amount: Nanos;
}

export interface ModelResult {
  readonly model: string;
  readonly credits: readonly Credit[];
}

export interface OpportunityAttribution {
  readonly opportunityId: string;
  readonly accountId: string;
  readonly segment: string;
  readonly amount: Nanos;
  readonly createdAt: Instant;
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
): OpportunityAttribution {
  const touches = eligibleTouches(candidates, opportunity.createdAt, settings.windowMs);
  const results = settings.models.map((model) => ({
    model: model.name,
    credits: creditsFor(model, opportunity, touches, settings.halfLifeMs),
  }));
  return {
    opportunityId: opportunity.id,
    accountId: opportunity.accountId,
    segment: opportunity.segment,
    amount: opportunity.amount,
    createdAt: opportunity.createdAt,
    eligibleTouches: touches.length,
    results,
  };
}

function creditsFor(
  model: AttributionModel,
  opportunity: Opportunity,
  touches: readonly Touch[],
  halfLifeMs: number,
): Credit[] {
  if (touches.length === 0) {
    return [{ touchpointId: null, channel: UNATTRIBUTED, occurredAt: null, amount: opportunity.amount }];
  }
  const weights = model.weigh(touches, { createdAt: opportunity.createdAt, halfLifeMs });
  if (weights.length !== touches.length || weights.some((w) => w < 0n) || !weights.some((w) => w > 0n)) {
    throw new RangeError(`model ${model.name} returned invalid weights for ${touches.length} touches`);
  }
  const amounts = splitByWeights(opportunity.amount, weights);
  const credits: Credit[] = [];
  touches.forEach((touch, index) => {
    if ((weights[index] ?? 0n) === 0n) return;
    credits.push({
      touchpointId: touch.id,
      channel: touch.channel,
      occurredAt: touch.occurredAt,
      amount: amounts[index] ?? 0n,
    });
  });
  return credits;
}
