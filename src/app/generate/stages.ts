/**
 * Stage-model inputs for the events format (SPEC "Stage models, revenue and spend"): when each
 * contact became a lead, and each opportunity's stage and closing instant. Each comes from a
 * stream of its own and draws the same number of values per record whatever it decides, so the
 * rows both formats share never move.
 */
import type { Stage } from '../../domain/events.js';
import { MS_PER_DAY } from '../../domain/time.js';
import { iso } from './format.js';
import type { Random } from './random.js';

/** Shares of contacts with a lead_created_at, and of those, where it lies. */
export const LEAD_SHARES = {
  /** Contacts that carry lead_created_at at all. */
  carried: 0.7,
  /** Within the 90 days before the account's first opportunity (inside its window). */
  inWindow: 0.7,
  /** Long before the account's first opportunity: 91 to 330 days (before every window). */
  beforeWindow: 0.2,
  // The rest, 10 %: up to 45 days after the first opportunity (a contact who joined later).
  /** Contacts with a lead that also get a later version (same lead_created_at). */
  updated: 0.05,
} as const;

/** Stage mix of opportunities, as of their latest version; the rest stay open. */
export const STAGE_SHARES = {
  closedWon: 0.25,
  closedLost: 0.2,
  /** Of the closed ones: first written open, closed by a later version. */
  closedLater: 0.35,
  /** Of the open ones (and of first versions closed later): `stage: "open"` written, not absent. */
  explicitOpen: 0.5,
} as const;

/** A closed opportunity closes 7 to 120 days after it was created, never after the data ends. */
const CLOSE_DAYS = { min: 7, max: 120 } as const;
/** Lead times are whole seconds. */
const SECOND = 1000;

export interface ContactLead {
  /** The contact's lead_created_at, if it carries one. */
  readonly leadCreatedAt?: string;
  /** The updated_at of a later version of the contact (same account, same lead). */
  readonly updatedAt?: string;
}

/**
 * A contact's lead, placed against its account's first opportunity (`firstOpportunity`, ms; none
 * for an account without one or a detached contact: then anywhere in the data's span).
 */
export function contactLead(
  random: Random,
  firstOpportunity: number | undefined,
  data: { readonly start: number; readonly span: number },
): ContactLead {
  const carried = random.chance(LEAD_SHARES.carried);
  const where = random.next();
  const offset = random.next();
  const updated = random.chance(LEAD_SHARES.updated);
  const updatedAt = data.start + SECOND * (1 + random.int(Math.max(1, data.span / SECOND)));
  if (!carried) return {};
  const seconds = (days: number): number => SECOND * Math.floor((offset * days * MS_PER_DAY) / SECOND);
  let lead: number;
  if (firstOpportunity === undefined) lead = data.start + seconds(data.span / MS_PER_DAY);
  else if (where < LEAD_SHARES.inWindow) lead = firstOpportunity - seconds(89);
  else if (where < LEAD_SHARES.inWindow + LEAD_SHARES.beforeWindow)
    lead = firstOpportunity - 91 * MS_PER_DAY - seconds(240);
  else lead = firstOpportunity + seconds(45);
  const leadCreatedAt = iso(SECOND * Math.floor(lead / SECOND));
  return updated ? { leadCreatedAt, updatedAt: iso(updatedAt) } : { leadCreatedAt };
}

/** The stage fields an events copy of an opportunity adds (none: open by default). */
export interface StageFields {
  readonly stage?: Stage;
  readonly closed_at?: string;
}

export interface StagePlan {
  /** What every version of the opportunity written by the generator's main stream carries. */
  readonly first: StageFields;
  /** A later version that closes it: at `closedAt`, stamped a little after (`stampDelay`). */
  readonly later?: { readonly fields: StageFields; readonly closedAt: number; readonly stampDelay: number };
}

/** An opportunity created at `createdAt` (ms), in data that ends at `end` (ms). */
export function stagePlan(random: Random, createdAt: number, end: number): StagePlan {
  const roll = random.next();
  const first: StageFields = random.chance(STAGE_SHARES.explicitOpen) ? { stage: 'open' } : {};
  const delay = random.next();
  const closedLater = random.chance(STAGE_SHARES.closedLater);
  // Recorded in the CRM within two hours of closing.
  const stampDelay = SECOND * (1 + random.int(2 * 3600));
  const stage: Stage =
    roll < STAGE_SHARES.closedWon
      ? 'closed_won'
      : roll < STAGE_SHARES.closedWon + STAGE_SHARES.closedLost
        ? 'closed_lost'
        : 'open';
  const room = Math.min(CLOSE_DAYS.max * MS_PER_DAY, end - createdAt);
  // Created too close to the end of the data to have closed yet: still open.
  if (stage === 'open' || room < CLOSE_DAYS.min * MS_PER_DAY) return { first };
  const minimum = CLOSE_DAYS.min * MS_PER_DAY;
  const closedAt = createdAt + minimum + SECOND * Math.floor((delay * (room - minimum)) / SECOND);
  const fields: StageFields = { stage, closed_at: iso(closedAt) };
  return closedLater ? { first, later: { fields, closedAt, stampDelay } } : { first: fields };
}
