// The AnswerStore contract: the in-memory twin and the Postgres store run exactly these tests, so
// the fake the streaming use cases are unit-tested with behaves like production. Most tests drive
// the store through the one use case that commits answers (commitAnswers: lock → attribute → load
// → write → publish → move totals → commit); the last group drives the transaction primitive
// itself. Attributions are built by hand (credits written out, not computed by the models) and
// every expected total is written out here with BigInt arithmetic — never computed by the code
// under test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAnswers } from '../../src/app/commit-answers.js';
import type { AnswerWrite } from '../../src/app/commit-plan.js';
import type {
  AnswerStore,
  AnswerTransaction,
  AttributionRevision,
  NextAttributions,
} from '../../src/app/ports.js';
import type { CellDelta } from '../../src/domain/aggregate.js';
import type { ModelAnswer } from '../../src/domain/answer.js';
import type { Credit, OpportunityAttribution } from '../../src/domain/attribute.js';
import { AppError } from '../../src/errors.js';
import { days, T0, UNIT } from '../fakes/builders.js';

/** One channel × segment cell of one model, as the adapter reports it. */
export interface TotalCell {
  readonly model: string;
  readonly channel: string;
  readonly segment: string;
  readonly amount: bigint;
  readonly opportunities: number;
}

/** One row of a per-day table. */
export interface DayTotalCell {
  readonly model: string;
  readonly day: string;
  readonly channel: string;
  readonly campaign: string;
  readonly segment: string;
  readonly amount: bigint;
  readonly opportunities: number;
}

export interface AnswerStoreFixture {
  readonly store: AnswerStore;
  /** Every cell of the totals, in any order. */
  readonly totals: () => Promise<TotalCell[]>;
  /** Every row of the per-day totals (campaign ''), or with `campaign` of the per-campaign-day ones. */
  readonly dayTotals: (campaign: boolean) => Promise<DayTotalCell[]>;
  /** The stored revision of one (opportunity, model), 0 when none was ever stored. */
  readonly revisionOf: (opportunityId: string, model: string) => Promise<number>;
  readonly cleanup: () => Promise<void>;
}

// ---- building attributions by hand ---------------------------------------------------------

const OCCURRED: Readonly<Record<string, number>> = {
  Adwords: T0 - days(1),
  Webinar: T0 - days(5),
  Event: T0 - days(10),
};

const credit = (channel: string, amount: bigint): Credit => ({
  touchpointId: `T-${channel}`,
  channel,
  occurredAt: OCCURRED[channel] ?? T0 - days(2),
  amount,
});
const unattributed = (amount: bigint): Credit => ({
  touchpointId: null,
  channel: 'Unattributed',
  occurredAt: null,
  amount,
});

/** An attribution with the given credits per model, the models in the order given. */
function attribution(
  opportunityId: string,
  amount: bigint,
  results: Readonly<Record<string, readonly Credit[]>>,
  segment = 'Commercial',
): OpportunityAttribution {
  const touches = new Set(
    Object.values(results).flatMap((credits) =>
      credits.flatMap((c) => (c.touchpointId === null ? [] : [c.touchpointId])),
    ),
  );
  return {
    opportunityId,
    accountId: `A-${opportunityId}`,
    segment,
    amount,
    createdAt: T0,
    eligibleTouches: touches.size,
    results: Object.entries(results).map(([model, credits]) => ({ model, credits })),
  };
}

/** O1: 100 in Commercial, first touched by a Webinar, last by Adwords. */
const o1 = (): OpportunityAttribution =>
  attribution('O1', 100n * UNIT, {
    first_touch: [credit('Webinar', 100n * UNIT)],
    last_touch: [credit('Adwords', 100n * UNIT)],
    linear: [credit('Webinar', 50n * UNIT), credit('Adwords', 50n * UNIT)],
  });
/** O3: 10 in Commercial, Adwords only. */
const o3 = (): OpportunityAttribution =>
  attribution('O3', 10n * UNIT, {
    first_touch: [credit('Adwords', 10n * UNIT)],
    last_touch: [credit('Adwords', 10n * UNIT)],
    linear: [credit('Adwords', 10n * UNIT)],
  });

const cell = (
  model: string,
  channel: string,
  segment: string,
  amount: bigint,
  opportunities: number,
): TotalCell => ({ model, channel, segment, amount, opportunities });

/** The totals of O1 and O3 together, by hand. */
const O1_AND_O3: readonly TotalCell[] = [
  cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
  cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
  cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT, 2),
  cell('linear', 'Adwords', 'Commercial', 60n * UNIT, 2),
  cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
];

/** The totals of O1 alone, by hand. */
const O1_ALONE: readonly TotalCell[] = [
  cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
  cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
  cell('linear', 'Adwords', 'Commercial', 50n * UNIT, 1),
  cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
];

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Cells in (model, channel, segment) code-unit order, reduced to the contract's fields. */
const sorted = (cells: readonly TotalCell[]): TotalCell[] =>
  cells
    .map((c) => cell(c.model, c.channel, c.segment, c.amount, c.opportunities))
    .sort((a, b) => byText(a.model, b.model) || byText(a.channel, b.channel) || byText(a.segment, b.segment));

export type Entry = readonly [string, OpportunityAttribution | null];
export const live = (...attributions: OpportunityAttribution[]): Entry[] =>
  attributions.map((a) => [a.opportunityId, a]);
const summary = (revisions: readonly AttributionRevision[]): string[] =>
  revisions.map(
    (r) => `${r.opportunityId}/${r.model}@${r.revision}${r.attribution === null ? ' tombstone' : ''}`,
  );
const nextOf = (entries: readonly Entry[], reason: string): NextAttributions =>
  new Map(entries.map(([id, a]) => [id, { attribution: a, reason }]));

/**
 * Commits the entries through commitAnswers, checking that publish saw exactly the revisions
 * returned, once (an empty list when nothing changed; not at all for no opportunities).
 */
export async function commitChecked(
  store: AnswerStore,
  entries: readonly Entry[],
  reason = 'test',
): Promise<AttributionRevision[]> {
  const published: (readonly AttributionRevision[])[] = [];
  const next = nextOf(entries, reason);
  const written = await commitAnswers(
    store,
    [...next.keys()],
    () => Promise.resolve(next),
    (revisions) => {
      published.push(revisions);
      return Promise.resolve();
    },
  );
  expect(published).toEqual(next.size === 0 ? [] : [written]);
  return written;
}

const MODELS = ['first_touch', 'last_touch', 'linear'] as const;

/** Resolves after `ms` milliseconds. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the transaction primitive, by hand ---------------------------------------------------------

/** O1's first_touch answer: 100 in Commercial, all to the Webinar. */
const firstTouchO1 = (amount = 100n * UNIT): ModelAnswer => ({
  opportunityId: 'O1',
  model: 'first_touch',
  accountId: 'A-O1',
  segment: 'Commercial',
  amount,
  createdAt: T0,
  credits: [credit('Webinar', amount)],
});
const answerWrite = (answer: ModelAnswer, revision: number): AnswerWrite => ({
  opportunityId: answer.opportunityId,
  model: answer.model,
  revision,
  reason: 'by hand',
  answer,
  replaces: revision > 1,
});
const delta = (channel: string, amount: bigint, opportunities: number, model = 'first_touch'): CellDelta => ({
  model,
  channel,
  segment: 'Commercial',
  amount,
  opportunities,
});
/** Settles to 'done' or, if the promise is still pending after `ms`, to 'waiting'. */
const within = (promise: Promise<unknown>, ms: number): Promise<'done' | 'waiting'> =>
  Promise.race([promise.then(() => 'done' as const), sleep(ms).then(() => 'waiting' as const)]);
/** Calls a transaction method, turning a synchronous throw into a rejection. */
const attempt = (call: () => Promise<unknown>): Promise<unknown> => Promise.resolve().then(call);

export function answerStoreContract(name: string, make: () => Promise<AnswerStoreFixture>): void {
  describe(`AnswerStore contract: ${name}`, () => {
    let store: AnswerStore;
    let fixture: AnswerStoreFixture;
    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const totals = async (): Promise<TotalCell[]> => sorted(await fixture.totals());
    const revisions = async (opportunityId: string): Promise<number[]> =>
      Promise.all(MODELS.map((m) => fixture.revisionOf(opportunityId, m)));

    const commit = (entries: readonly Entry[], reason = 'test'): Promise<AttributionRevision[]> =>
      commitChecked(store, entries, reason);

    describe('first answers', () => {
      it('writes revision 1 of every model, in opportunity order, and the totals', async () => {
        const first = o1();
        const second = attribution(
          'O2',
          40n * UNIT,
          {
            first_touch: [unattributed(40n * UNIT)],
            last_touch: [unattributed(40n * UNIT)],
            linear: [unattributed(40n * UNIT)],
          },
          'Enterprise',
        );
        const written = await commit(live(second, first), 'created');

        expect(summary(written)).toEqual([
          'O1/first_touch@1',
          'O1/last_touch@1',
          'O1/linear@1',
          'O2/first_touch@1',
          'O2/last_touch@1',
          'O2/linear@1',
        ]);
        expect(written.every((r) => r.reason === 'created')).toBe(true);
        expect(written.filter((r) => r.opportunityId === 'O1').every((r) => r.attribution === first)).toBe(
          true,
        );
        expect(written.filter((r) => r.opportunityId === 'O2').every((r) => r.attribution === second)).toBe(
          true,
        );
        expect(await totals()).toEqual([
          cell('first_touch', 'Unattributed', 'Enterprise', 40n * UNIT, 1),
          cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Unattributed', 'Enterprise', 40n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 50n * UNIT, 1),
          cell('linear', 'Unattributed', 'Enterprise', 40n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
        ]);
        expect(await revisions('O1')).toEqual([1, 1, 1]);
        expect(await revisions('O2')).toEqual([1, 1, 1]);
        expect(await fixture.revisionOf('O-never', 'linear')).toBe(0);
      });

      it('counts every opportunity of a shared cell once and sums its credits', async () => {
        await commit(live(o1(), o3()));
        expect(await totals()).toEqual(O1_AND_O3);
      });

      it('starts empty and commits nothing for no opportunities', async () => {
        expect(await totals()).toEqual([]);
        expect(await commit([])).toEqual([]);
        expect(await totals()).toEqual([]);
      });
    });

    describe('unchanged answers', () => {
      it('the same attribution again writes no revision and leaves the totals as they are', async () => {
        await commit(live(o1(), o3()));
        // Freshly built, equal attributions: compared by value, not identity; the reason is not part of the answer.
        expect(await commit(live(o1(), o3()), 'redelivered')).toEqual([]);
        expect(await totals()).toEqual(O1_AND_O3);
        expect(await revisions('O1')).toEqual([1, 1, 1]);
        expect(await revisions('O3')).toEqual([1, 1, 1]);
      });

      it('revises only the changed opportunity of a commit', async () => {
        await commit(live(o1(), o3()));
        const bigger = attribution('O3', 12n * UNIT, {
          first_touch: [credit('Adwords', 12n * UNIT)],
          last_touch: [credit('Adwords', 12n * UNIT)],
          linear: [credit('Adwords', 12n * UNIT)],
        });
        expect(summary(await commit(live(o1(), bigger)))).toEqual([
          'O3/first_touch@2',
          'O3/last_touch@2',
          'O3/linear@2',
        ]);
        expect(await revisions('O1')).toEqual([1, 1, 1]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT + 2n * UNIT, 1),
          cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT + 2n * UNIT, 2),
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT + 2n * UNIT, 2),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
        ]);
      });
    });

    describe('changed answers', () => {
      it('a late touch revises only the models whose answer changed and moves the totals by the exact delta', async () => {
        await commit(live(o1(), o3()));
        // An earlier Event touch arrives: first touch is now Event, last touch is still Adwords,
        // linear splits 100 three ways (the extra nano-unit to the earliest touch).
        const late = attribution('O1', 100n * UNIT, {
          first_touch: [credit('Event', 100n * UNIT)],
          last_touch: [credit('Adwords', 100n * UNIT)],
          linear: [
            credit('Event', 33_333_333_334n),
            credit('Webinar', 33_333_333_333n),
            credit('Adwords', 33_333_333_333n),
          ],
        });
        const written = await commit(live(late), 'late touch');

        expect(summary(written)).toEqual(['O1/first_touch@2', 'O1/linear@2']);
        expect(written.every((r) => r.reason === 'late touch' && r.attribution === late)).toBe(true);
        expect(await revisions('O1')).toEqual([2, 1, 2]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          // first_touch Webinar: 100 - 100 with 1 - 1 opportunities: the cell is gone.
          cell('first_touch', 'Event', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT, 2),
          // 50 → 33.333333333 is a delta of -16.666666667; the cell keeps both opportunities.
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT - 16_666_666_667n, 2),
          cell('linear', 'Event', 'Commercial', 33_333_333_334n, 1),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT - 16_666_666_667n, 1),
        ]);
        expect(
          (await totals()).filter((c) => c.model === 'linear').reduce((sum, c) => sum + c.amount, 0n),
        ).toBe(110n * UNIT);
      });

      it('an amount change revises every model and moves every cell of the opportunity', async () => {
        await commit(live(o1(), o3()));
        const bigger = attribution('O1', 250n * UNIT + 500_000_000n, {
          first_touch: [credit('Webinar', 250n * UNIT + 500_000_000n)],
          last_touch: [credit('Adwords', 250n * UNIT + 500_000_000n)],
          linear: [
            credit('Webinar', 125n * UNIT + 250_000_000n),
            credit('Adwords', 125n * UNIT + 250_000_000n),
          ],
        });
        expect(summary(await commit(live(bigger)))).toEqual([
          'O1/first_touch@2',
          'O1/last_touch@2',
          'O1/linear@2',
        ]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT + 150n * UNIT + 500_000_000n, 1),
          cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT + 150n * UNIT + 500_000_000n, 2),
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT + 75n * UNIT + 250_000_000n, 2),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT + 75n * UNIT + 250_000_000n, 1),
        ]);
      });

      it('a segment change moves the whole answer from one segment cell to another', async () => {
        await commit(live(o1(), o3()));
        const moved = attribution(
          'O1',
          100n * UNIT,
          {
            first_touch: [credit('Webinar', 100n * UNIT)],
            last_touch: [credit('Adwords', 100n * UNIT)],
            linear: [credit('Webinar', 50n * UNIT), credit('Adwords', 50n * UNIT)],
          },
          'Mid Market',
        );
        expect(summary(await commit(live(moved), 'segment change'))).toEqual([
          'O1/first_touch@2',
          'O1/last_touch@2',
          'O1/linear@2',
        ]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('first_touch', 'Webinar', 'Mid Market', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT - 100n * UNIT, 2 - 1),
          cell('last_touch', 'Adwords', 'Mid Market', 100n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT - 50n * UNIT, 2 - 1),
          cell('linear', 'Adwords', 'Mid Market', 50n * UNIT, 1),
          cell('linear', 'Webinar', 'Mid Market', 50n * UNIT, 1),
        ]);
      });

      it('keeps a stored model the new attribution no longer computes, untouched', async () => {
        await commit(live(o1()));
        const onlyFirst = attribution('O1', 100n * UNIT, { first_touch: [credit('Adwords', 100n * UNIT)] });
        expect(summary(await commit(live(onlyFirst)))).toEqual(['O1/first_touch@2']);
        expect(await revisions('O1')).toEqual([2, 1, 1]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 50n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
        ]);
        // A deletion still tombstones every live stored model.
        expect(summary(await commit([['O1', null]]))).toEqual([
          'O1/first_touch@3 tombstone',
          'O1/last_touch@2 tombstone',
          'O1/linear@2 tombstone',
        ]);
        expect(await totals()).toEqual([]);
      });
    });

    describe('deletions', () => {
      // O2's models come in a non-alphabetical order: live revisions follow the attribution,
      // tombstones (which have no attribution to follow) follow the model names.
      const o2 = (): OpportunityAttribution =>
        attribution(
          'O2',
          33n * UNIT,
          {
            linear: [
              credit('Webinar', 16n * UNIT + 500_000_000n),
              credit('Adwords', 16n * UNIT + 500_000_000n),
            ],
            first_touch: [credit('Webinar', 33n * UNIT)],
            last_touch: [credit('Adwords', 33n * UNIT)],
          },
          'Enterprise',
        );
      const WITH_O2: readonly TotalCell[] = [
        cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
        cell('first_touch', 'Webinar', 'Enterprise', 33n * UNIT, 1),
        cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
        cell('last_touch', 'Adwords', 'Enterprise', 33n * UNIT, 1),
        cell('linear', 'Adwords', 'Commercial', 50n * UNIT, 1),
        cell('linear', 'Adwords', 'Enterprise', 16n * UNIT + 500_000_000n, 1),
        cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
        cell('linear', 'Webinar', 'Enterprise', 16n * UNIT + 500_000_000n, 1),
      ];

      it('writes tombstones and leaves exactly the totals without the opportunity; a return continues the revisions', async () => {
        await commit(live(o1()));
        const withoutO2 = await totals();
        expect(withoutO2).toEqual(O1_ALONE);
        expect(summary(await commit(live(o2())))).toEqual([
          'O2/linear@1',
          'O2/first_touch@1',
          'O2/last_touch@1',
        ]);
        expect(await totals()).toEqual(WITH_O2);

        const tombstones = await commit([['O2', null]], 'deleted');
        expect(summary(tombstones)).toEqual([
          'O2/first_touch@2 tombstone',
          'O2/last_touch@2 tombstone',
          'O2/linear@2 tombstone',
        ]);
        expect(tombstones.every((r) => r.reason === 'deleted')).toBe(true);
        expect(await totals()).toEqual(withoutO2);
        expect(await revisions('O2')).toEqual([2, 2, 2]);

        const restored = await commit(live(o2()), 'restored');
        expect(summary(restored)).toEqual(['O2/linear@3', 'O2/first_touch@3', 'O2/last_touch@3']);
        expect(await totals()).toEqual(WITH_O2);
        expect(await revisions('O2')).toEqual([3, 3, 3]);
      });

      it('a second deletion, or the deletion of an opportunity never stored, writes nothing', async () => {
        await commit(live(o1(), o2()));
        await commit([['O2', null]]);
        expect(await commit([['O2', null]], 'deleted again')).toEqual([]);
        expect(await commit([['O-never', null]], 'deleted')).toEqual([]);
        expect(await revisions('O2')).toEqual([2, 2, 2]);
        expect(await revisions('O-never')).toEqual([0, 0, 0]);
        expect(await totals()).toEqual(O1_ALONE);
      });

      it('deletes and revises in one commit', async () => {
        await commit(live(o1(), o2()));
        const smaller = attribution('O1', 60n * UNIT, {
          first_touch: [credit('Webinar', 60n * UNIT)],
          last_touch: [credit('Adwords', 60n * UNIT)],
          linear: [credit('Webinar', 30n * UNIT), credit('Adwords', 30n * UNIT)],
        });
        expect(
          summary(
            await commit([
              ['O2', null],
              ['O1', smaller],
            ]),
          ),
        ).toEqual([
          'O1/first_touch@2',
          'O1/last_touch@2',
          'O1/linear@2',
          'O2/first_touch@2 tombstone',
          'O2/last_touch@2 tombstone',
          'O2/linear@2 tombstone',
        ]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT - 40n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT - 40n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 50n * UNIT - 20n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT - 20n * UNIT, 1),
        ]);
      });
    });

    describe('empty cells', () => {
      it('removes a cell whose count and amount reach zero, keeps one that still has an opportunity at zero amount', async () => {
        const free = attribution('O0', 0n, {
          first_touch: [unattributed(0n)],
          last_touch: [unattributed(0n)],
          linear: [unattributed(0n)],
        });
        await commit(live(free, o3()));
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('first_touch', 'Unattributed', 'Commercial', 0n, 1),
          cell('last_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('last_touch', 'Unattributed', 'Commercial', 0n, 1),
          cell('linear', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('linear', 'Unattributed', 'Commercial', 0n, 1),
        ]);
        await commit([['O0', null]]);
        await commit([['O3', null]]);
        expect(await totals()).toEqual([]);
        // A cell that was emptied comes back from zero.
        await commit(live(o3()));
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 10n * UNIT, 1),
        ]);
      });
    });

    describe('attribute', () => {
      it('is called once, with the requested ids without duplicates', async () => {
        const calls: (readonly string[])[] = [];
        const next = nextOf(live(o1(), o3()), 'test');
        await commitAnswers(
          store,
          ['O3', 'O1', 'O3'],
          (ids) => {
            calls.push([...ids]);
            return Promise.resolve(next);
          },
          () => Promise.resolve(),
        );
        expect(calls).toHaveLength(1);
        expect([...(calls[0] ?? [])].sort()).toEqual(['O1', 'O3']);
        expect(await totals()).toEqual(O1_AND_O3);
      });

      it('an error it throws propagates unchanged and nothing is written or published', async () => {
        await commit(live(o1()));
        const stateDown = new AppError('STORE_UNAVAILABLE', 'redis went away', { retriable: true });
        let published = 0;
        await expect(
          commitAnswers(
            store,
            ['O1', 'O3'],
            () => Promise.reject(stateDown),
            () => {
              published += 1;
              return Promise.resolve();
            },
          ),
        ).rejects.toBe(stateDown);
        expect(published).toBe(0);
        expect(await totals()).toEqual(O1_ALONE);
        expect(await revisions('O1')).toEqual([1, 1, 1]);
        expect(await revisions('O3')).toEqual([0, 0, 0]);
      });

      it('refuses an attribution filed under another opportunity id and writes nothing', async () => {
        const next: NextAttributions = new Map([
          ['O3', { attribution: o3(), reason: 'test' }],
          ['O9', { attribution: o1(), reason: 'test' }],
        ]);
        let published = 0;
        await expect(
          commitAnswers(
            store,
            ['O3', 'O9'],
            () => Promise.resolve(next),
            () => {
              published += 1;
              return Promise.resolve();
            },
          ),
        ).rejects.toMatchObject({ code: 'INTERNAL', retriable: false });
        expect(published).toBe(0);
        expect(await totals()).toEqual([]);
        expect(await revisions('O3')).toEqual([0, 0, 0]);
        expect(await revisions('O9')).toEqual([0, 0, 0]);
      });
    });

    describe('publish failing', () => {
      it('rolls everything back and propagates an AppError unchanged; the change then goes through as the next revision', async () => {
        await commit(live(o1(), o3()));
        const changed = nextOf(
          live(
            attribution('O1', 9n * UNIT, {
              first_touch: [credit('Event', 9n * UNIT)],
              last_touch: [credit('Event', 9n * UNIT)],
              linear: [credit('Event', 9n * UNIT)],
            }),
          ),
          'x',
        );
        const brokerDown = new AppError('BROKER_UNAVAILABLE', 'publish failed', { retriable: true });

        let seen: readonly AttributionRevision[] = [];
        await expect(
          commitAnswers(
            store,
            ['O1'],
            () => Promise.resolve(changed),
            (revisions) => {
              seen = revisions;
              return Promise.reject(brokerDown);
            },
          ),
        ).rejects.toBe(brokerDown);
        expect(summary(seen)).toEqual(['O1/first_touch@2', 'O1/last_touch@2', 'O1/linear@2']);
        expect(await totals()).toEqual(O1_AND_O3);
        expect(await revisions('O1')).toEqual([1, 1, 1]);

        // Thrown synchronously rather than rejected: the same.
        await expect(
          commitAnswers(
            store,
            ['O1'],
            () => Promise.resolve(changed),
            () => {
              throw brokerDown;
            },
          ),
        ).rejects.toBe(brokerDown);
        // Any other error rolls back too (how it is reported is the adapter's business).
        await expect(
          commitAnswers(
            store,
            ['O1'],
            () => Promise.resolve(changed),
            () => Promise.reject(new Error('boom')),
          ),
        ).rejects.toBeInstanceOf(Error);
        expect(await totals()).toEqual(O1_AND_O3);
        expect(await revisions('O1')).toEqual([1, 1, 1]);

        const retried = await commitAnswers(
          store,
          ['O1'],
          () => Promise.resolve(changed),
          () => Promise.resolve(),
        );
        expect(summary(retried)).toEqual(['O1/first_touch@2', 'O1/last_touch@2', 'O1/linear@2']);
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('first_touch', 'Event', 'Commercial', 9n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 110n * UNIT - 100n * UNIT, 1),
          cell('last_touch', 'Event', 'Commercial', 9n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT - 50n * UNIT, 1),
          cell('linear', 'Event', 'Commercial', 9n * UNIT, 1),
        ]);
      });
    });

    describe('serialisation', () => {
      it('a commit on the same opportunity attributes only after the earlier one committed, and sees its answer', async () => {
        let open = (): void => undefined;
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        let firstInPublish = (): void => undefined;
        const firstHolding = new Promise<void>((resolve) => {
          firstInPublish = resolve;
        });
        const first = commitAnswers(
          store,
          ['O1'],
          () => Promise.resolve(nextOf(live(o1()), 'first')),
          async () => {
            firstInPublish();
            await gate;
          },
        );
        await firstHolding;

        const bigger = attribution('O1', 200n * UNIT, {
          first_touch: [credit('Webinar', 200n * UNIT)],
          last_touch: [credit('Adwords', 200n * UNIT)],
          linear: [credit('Webinar', 100n * UNIT), credit('Adwords', 100n * UNIT)],
        });
        const seenBySecond: number[] = [];
        let secondAttributed = false;
        const second = commitAnswers(
          store,
          ['O1'],
          async () => {
            secondAttributed = true;
            seenBySecond.push(...(await revisions('O1')));
            return nextOf(live(bigger), 'second');
          },
          () => Promise.resolve(),
        );
        await sleep(150);
        const attributedWhileFirstHeld = secondAttributed;
        open();
        expect(attributedWhileFirstHeld).toBe(false);
        expect(summary(await first)).toEqual(['O1/first_touch@1', 'O1/last_touch@1', 'O1/linear@1']);
        expect(summary(await second)).toEqual(['O1/first_touch@2', 'O1/last_touch@2', 'O1/linear@2']);
        expect(seenBySecond).toEqual([1, 1, 1]);
        expect(await totals()).toEqual([
          cell('first_touch', 'Webinar', 'Commercial', 200n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 200n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 100n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 100n * UNIT, 1),
        ]);
      });

      it('a commit on other opportunities, moving other cells, does not wait for one in progress', async () => {
        // (Commits moving the same cells may wait for each other: Postgres holds a cell's row lock
        // until commit. The contract only promises no wait when neither opportunities nor cells overlap.)
        let open = (): void => undefined;
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        let firstInPublish = (): void => undefined;
        const firstHolding = new Promise<void>((resolve) => {
          firstInPublish = resolve;
        });
        const first = commitAnswers(
          store,
          ['O1'],
          () => Promise.resolve(nextOf(live(o1()), 'first')),
          async () => {
            firstInPublish();
            await gate;
          },
        );
        await firstHolding;
        const elsewhere = attribution(
          'O3',
          10n * UNIT,
          {
            first_touch: [credit('Event', 10n * UNIT)],
            last_touch: [credit('Event', 10n * UNIT)],
            linear: [credit('Event', 10n * UNIT)],
          },
          'Enterprise',
        );
        const other = commit(live(elsewhere));
        const outcome = await Promise.race([
          other.then(() => 'committed'),
          sleep(5_000).then(() => 'still waiting'),
        ]);
        open();
        expect(outcome).toBe('committed');
        expect(summary(await other)).toEqual(['O3/first_touch@1', 'O3/last_touch@1', 'O3/linear@1']);
        await first;
        expect(await totals()).toEqual([
          cell('first_touch', 'Event', 'Enterprise', 10n * UNIT, 1),
          cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 100n * UNIT, 1),
          cell('last_touch', 'Event', 'Enterprise', 10n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 50n * UNIT, 1),
          cell('linear', 'Event', 'Enterprise', 10n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 50n * UNIT, 1),
        ]);
      });

      it('concurrent commits of the same new opportunities serialise: revisions 1 then 2, totals of the last', async () => {
        const small = (id: string): OpportunityAttribution =>
          attribution(id, 10n * UNIT, {
            first_touch: [credit('Adwords', 10n * UNIT)],
            last_touch: [credit('Adwords', 10n * UNIT)],
            linear: [credit('Adwords', 10n * UNIT)],
          });
        const large = (id: string): OpportunityAttribution =>
          attribution(
            id,
            30n * UNIT,
            {
              first_touch: [credit('Webinar', 30n * UNIT)],
              last_touch: [credit('Webinar', 30n * UNIT)],
              linear: [credit('Webinar', 30n * UNIT)],
            },
            'Enterprise',
          );
        const ids = ['A', 'B', 'C', 'D', 'E', 'F'];
        const [a, b] = await Promise.all([
          commit(live(...ids.map(small))),
          commit(live(...ids.map(large).reverse())),
        ]);
        expect([...a, ...b].map((r) => r.revision).sort()).toEqual([
          ...Array<number>(18).fill(1),
          ...Array<number>(18).fill(2),
        ]);
        expect(a.every((r) => r.revision === a[0]?.revision)).toBe(true);
        const lastWasLarge = a[0]?.revision === 1;
        expect(await totals()).toEqual(
          lastWasLarge
            ? MODELS.map((m) => cell(m, 'Webinar', 'Enterprise', 6n * 30n * UNIT, 6))
            : MODELS.map((m) => cell(m, 'Adwords', 'Commercial', 6n * 10n * UNIT, 6)),
        );
      });
    });

    describe('the transaction primitive', () => {
      /** Every transaction a test begins, rolled back at the end (harmless once ended), so no lock or client is left behind. */
      let begun: AnswerTransaction[] = [];
      const begin = async (): Promise<AnswerTransaction> => {
        const tx = await store.begin();
        begun.push(tx);
        return tx;
      };
      afterEach(async () => {
        for (const tx of begun.splice(0)) await tx.rollback();
        begun = [];
      });

      it('commit writes exactly the answers and deltas given; a later load returns them', async () => {
        const tx = await begin();
        await tx.lock(['O1']);
        expect((await tx.load(['O1'])).size).toBe(0);
        await tx.writeAnswers([answerWrite(firstTouchO1(), 1)]);
        await tx.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        await tx.commit();

        expect(await totals()).toEqual([cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1)]);
        expect(await revisions('O1')).toEqual([1, 0, 0]);
        const reader = await begin();
        expect(await reader.load(['O1', 'O2'])).toEqual(
          new Map([['O1', new Map([['first_touch', { revision: 1, answer: firstTouchO1() }]])]]),
        );
        await reader.commit();
      });

      it('commits nothing harmlessly, and load of no ids is empty', async () => {
        const tx = await begin();
        await tx.lock([]);
        expect((await tx.load([])).size).toBe(0);
        await tx.writeAnswers([]);
        await tx.moveTotals([]);
        await tx.commit();
        expect(await totals()).toEqual([]);
      });

      it('rollback changes nothing: no answer, no revision, no total', async () => {
        const first = await begin();
        await first.lock(['O1']);
        await first.writeAnswers([answerWrite(firstTouchO1(), 1)]);
        await first.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        await first.rollback();
        expect(await totals()).toEqual([]);
        expect(await revisions('O1')).toEqual([0, 0, 0]);

        await commit(live(o1()));
        const second = await begin();
        await second.lock(['O1']);
        await second.writeAnswers([answerWrite(firstTouchO1(7n * UNIT), 2)]);
        await second.moveTotals([delta('Webinar', 7n * UNIT - 100n * UNIT, 0)]);
        await second.rollback();
        expect(await totals()).toEqual(O1_ALONE);
        expect(await revisions('O1')).toEqual([1, 1, 1]);
        const reader = await begin();
        expect((await reader.load(['O1'])).get('O1')?.get('first_touch')?.answer?.amount).toBe(100n * UNIT);
      });

      it('shows nothing to others before commit, everything after', async () => {
        const tx = await begin();
        await tx.lock(['O1']);
        await tx.writeAnswers([answerWrite(firstTouchO1(), 1)]);
        await tx.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        const other = await begin();
        expect((await other.load(['O1'])).size).toBe(0);
        expect(await totals()).toEqual([]);
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(0);
        await tx.commit();
        expect((await other.load(['O1'])).get('O1')?.get('first_touch')?.revision).toBe(1);
        expect(await totals()).toEqual([cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1)]);
      });

      it('rollback after commit, and a second rollback, are harmless', async () => {
        const tx = await begin();
        await tx.lock(['O1']);
        await tx.writeAnswers([answerWrite(firstTouchO1(), 1)]);
        await tx.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        await tx.commit();
        await tx.rollback();
        await tx.rollback();
        expect(await totals()).toEqual([cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1)]);
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(1);
        // …and the lock went with the commit.
        const next = await begin();
        expect(await within(next.lock(['O1']), 5_000)).toBe('done');
      });

      it('refuses every use once ended, by commit or by rollback', async () => {
        const committed = await begin();
        await committed.commit();
        const rolledBack = await begin();
        await rolledBack.rollback();
        for (const tx of [committed, rolledBack]) {
          await expect(attempt(() => tx.lock(['O1']))).rejects.toThrow();
          await expect(attempt(() => tx.load(['O1']))).rejects.toThrow();
          await expect(attempt(() => tx.writeAnswers([answerWrite(firstTouchO1(), 1)]))).rejects.toThrow();
          await expect(attempt(() => tx.moveTotals([delta('Webinar', 1n, 1)]))).rejects.toThrow();
          await expect(attempt(() => tx.commit())).rejects.toThrow();
        }
        expect(await totals()).toEqual([]);
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(0);
      });

      it('lock blocks a second transaction on the same opportunity until the first commits, then it reads that commit', async () => {
        const first = await begin();
        await first.lock(['O1', 'O2']);
        const second = await begin();
        let secondLocked = false;
        const secondLock = second.lock(['O2']).then(() => {
          secondLocked = true;
        });
        // Other opportunities are not held up meanwhile.
        const third = await begin();
        expect(await within(third.lock(['O3']), 5_000)).toBe('done');
        await third.rollback();

        await sleep(150);
        expect(secondLocked).toBe(false);
        const o2 = { ...firstTouchO1(), opportunityId: 'O2' };
        await first.writeAnswers([answerWrite(o2, 1)]);
        await first.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        expect(secondLocked).toBe(false);
        await first.commit();
        await secondLock;
        expect(secondLocked).toBe(true);
        expect(await second.load(['O2'])).toEqual(
          new Map([['O2', new Map([['first_touch', { revision: 1, answer: o2 }]])]]),
        );
        await second.commit();
      });

      it('rollback releases the locks too', async () => {
        const first = await begin();
        await first.lock(['O1']);
        const second = await begin();
        const secondLock = second.lock(['O1']);
        expect(await within(secondLock, 150)).toBe('waiting');
        await first.rollback();
        expect(await within(secondLock, 5_000)).toBe('done');
      });

      it('locking again what the transaction already holds does not wait for itself', async () => {
        const tx = await begin();
        await tx.lock(['O1']);
        expect(await within(tx.lock(['O2', 'O1', 'O1']), 5_000)).toBe('done');
        await tx.commit();
      });

      it('writeAnswers with a wrong revision fails, and after the rollback nothing changed', async () => {
        const rejected = async (revision: number): Promise<void> => {
          const tx = await begin();
          await tx.lock(['O1']);
          await expect(tx.writeAnswers([answerWrite(firstTouchO1(9n * UNIT), revision)])).rejects.toThrow();
          await tx.rollback();
        };
        // Nothing stored: only revision 1 may be written.
        await rejected(2);
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(0);

        const tx = await begin();
        await tx.lock(['O1']);
        await tx.writeAnswers([answerWrite(firstTouchO1(), 1)]);
        await tx.moveTotals([delta('Webinar', 100n * UNIT, 1)]);
        await tx.commit();
        // Revision 1 stored: neither 1 again nor 3 may be written.
        await rejected(1);
        await rejected(3);
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(1);
        expect(await totals()).toEqual([cell('first_touch', 'Webinar', 'Commercial', 100n * UNIT, 1)]);

        const next = await begin();
        await next.lock(['O1']);
        await next.writeAnswers([answerWrite(firstTouchO1(9n * UNIT), 2)]);
        await next.moveTotals([delta('Webinar', 9n * UNIT - 100n * UNIT, 0)]);
        await next.commit();
        expect(await fixture.revisionOf('O1', 'first_touch')).toBe(2);
        expect(await totals()).toEqual([cell('first_touch', 'Webinar', 'Commercial', 9n * UNIT, 1)]);
      });

      it('moveTotals refuses to drive a cell negative, without retry, and after the rollback nothing changed', async () => {
        await commit(live(o3()));
        for (const deltas of [
          [delta('Adwords', -(10n * UNIT) - 1n, 0)],
          [delta('Adwords', 0n, -2)],
          [delta('Webinar', -1n, 1)],
          [delta('Adwords', -(10n * UNIT), -1), delta('Webinar', -1n, 0, 'linear')],
        ]) {
          const tx = await begin();
          await expect(tx.moveTotals(deltas)).rejects.toMatchObject({
            code: 'STORE_UNAVAILABLE',
            retriable: false,
          });
          await tx.rollback();
        }
        expect(await totals()).toEqual([
          cell('first_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('last_touch', 'Adwords', 'Commercial', 10n * UNIT, 1),
          cell('linear', 'Adwords', 'Commercial', 10n * UNIT, 1),
        ]);
      });
    });

    it('keeps amounts exact to the nano-unit through a store and an unchanged re-commit', async () => {
      const amount = 123_456_789n * UNIT + 123_456_789n;
      const thirds = [
        41_152_263n * UNIT + 41_152_263n,
        41_152_263n * UNIT + 41_152_263n,
        41_152_263n * UNIT + 41_152_263n,
      ];
      const exact = (): OpportunityAttribution =>
        attribution('O1', amount, {
          first_touch: [credit('Event', amount)],
          last_touch: [credit('Adwords', amount)],
          linear: [
            credit('Event', thirds[0] ?? 0n),
            credit('Webinar', thirds[1] ?? 0n),
            credit('Adwords', thirds[2] ?? 0n),
          ],
        });
      await commit(live(exact()));
      expect(await totals()).toEqual([
        cell('first_touch', 'Event', 'Commercial', 123_456_789_123_456_789n, 1),
        cell('last_touch', 'Adwords', 'Commercial', 123_456_789_123_456_789n, 1),
        cell('linear', 'Adwords', 'Commercial', 41_152_263_041_152_263n, 1),
        cell('linear', 'Event', 'Commercial', 41_152_263_041_152_263n, 1),
        cell('linear', 'Webinar', 'Commercial', 41_152_263_041_152_263n, 1),
      ]);
      expect(await commit(live(exact()))).toEqual([]);
    });

    describe('per-day totals (SPEC "Period": the local creation day in the reporting time zone)', () => {
      const ZONE = 'America/New_York';
      const dayRow = (
        day: string,
        channel: string,
        campaign: string,
        amount: bigint,
        opportunities = 1,
      ): DayTotalCell => ({
        model: 'linear',
        day,
        channel,
        campaign,
        segment: 'Commercial',
        amount,
        opportunities,
      });
      const rows = async (campaign: boolean): Promise<DayTotalCell[]> =>
        (await fixture.dayTotals(campaign))
          .map((r) => ({ ...r }))
          .sort(
            (a, b) =>
              byText(a.model, b.model) ||
              byText(a.day, b.day) ||
              byText(a.channel, b.channel) ||
              byText(a.campaign, b.campaign),
          );
      // P1, 100: two Adwords touches of campaign K1 (30 + 30) and a Webinar without campaign (40).
      const p1 = (createdAt: number): OpportunityAttribution => ({
        ...attribution('P1', 100n * UNIT, {
          linear: [
            { ...credit('Adwords', 30n * UNIT), campaign: 'K1' },
            { ...credit('Adwords', 30n * UNIT), touchpointId: 'T-Adwords-2', campaign: 'K1' },
            credit('Webinar', 40n * UNIT),
          ],
        }),
        createdAt,
      });
      const commitIn = (entries: readonly Entry[]): Promise<AttributionRevision[]> => {
        const next = nextOf(entries, 'test');
        return commitAnswers(
          store,
          [...next.keys()],
          () => Promise.resolve(next),
          () => Promise.resolve(),
          ZONE,
        );
      };

      it('count an opportunity once per cell, move it when its creation day changes, and empty on deletion', async () => {
        // 2024-03-10T03:30Z is 2024-03-09 22:30 in New York (EST, UTC−5).
        await commitIn(live(p1(Date.UTC(2024, 2, 10, 3, 30))));
        expect(await rows(false)).toEqual([
          dayRow('2024-03-09', 'Adwords', '', 60n * UNIT),
          dayRow('2024-03-09', 'Webinar', '', 40n * UNIT),
        ]);
        expect(await rows(true)).toEqual([
          dayRow('2024-03-09', 'Adwords', 'K1', 60n * UNIT),
          dayRow('2024-03-09', 'Webinar', '', 40n * UNIT),
        ]);
        // 2024-03-10T05:00Z is 2024-03-10 00:00 in New York: the whole answer moves to the new day.
        await commitIn(live(p1(Date.UTC(2024, 2, 10, 5, 0))));
        expect(await rows(false)).toEqual([
          dayRow('2024-03-10', 'Adwords', '', 60n * UNIT),
          dayRow('2024-03-10', 'Webinar', '', 40n * UNIT),
        ]);
        expect(await rows(true)).toEqual([
          dayRow('2024-03-10', 'Adwords', 'K1', 60n * UNIT),
          dayRow('2024-03-10', 'Webinar', '', 40n * UNIT),
        ]);
        // The all-time table is the same throughout: 60 Adwords, 40 Webinar.
        expect(await totals()).toEqual([
          cell('linear', 'Adwords', 'Commercial', 60n * UNIT, 1),
          cell('linear', 'Webinar', 'Commercial', 40n * UNIT, 1),
        ]);
        await commitIn([['P1', null]]);
        expect(await rows(false)).toEqual([]);
        expect(await rows(true)).toEqual([]);
      });

      it('add two opportunities of one day into one row', async () => {
        await commitIn(live(p1(Date.UTC(2024, 2, 10, 3, 30))));
        await commitIn(
          live({
            ...attribution('P2', 5n * UNIT, {
              linear: [{ ...credit('Adwords', 5n * UNIT), campaign: 'K2' }],
            }),
            createdAt: Date.UTC(2024, 2, 9, 12, 0),
          }),
        );
        expect(await rows(false)).toEqual([
          dayRow('2024-03-09', 'Adwords', '', 65n * UNIT, 2),
          dayRow('2024-03-09', 'Webinar', '', 40n * UNIT),
        ]);
        expect(await rows(true)).toEqual([
          dayRow('2024-03-09', 'Adwords', 'K1', 60n * UNIT),
          dayRow('2024-03-09', 'Adwords', 'K2', 5n * UNIT),
          dayRow('2024-03-09', 'Webinar', '', 40n * UNIT),
        ]);
      });
    });

    it('keeps the original amount and currency and the rules version; a new rules version alone makes no revision', async () => {
      const converted = (rate: bigint, rulesVersion: string): OpportunityAttribution => ({
        ...attribution('P3', 220n * UNIT, { linear: [credit('Adwords', 220n * UNIT)] }),
        original: { amount: 200n * UNIT, currency: 'EUR', rate, rateDate: '2024-03-14' },
        rulesVersion,
      });
      const RATE_1_1 = 1_100_000_000_000n;
      expect(summary(await commitChecked(store, live(converted(RATE_1_1, 'v1'))))).toEqual(['P3/linear@1']);
      expect(summary(await commitChecked(store, live(converted(RATE_1_1, 'v2'))))).toEqual([]);
      const tx = await store.begin();
      try {
        const stored = (await tx.load(['P3'])).get('P3')?.get('linear')?.answer;
        expect(stored?.original).toEqual({
          amount: 200n * UNIT,
          currency: 'EUR',
          rate: RATE_1_1,
          rateDate: '2024-03-14',
        });
        expect(stored?.rulesVersion).toBe('v1');
      } finally {
        await tx.rollback();
      }
      // Another rate with the same converted amount is another answer: it is recorded.
      expect(summary(await commitChecked(store, live(converted(1_100_000_000_001n, 'v2'))))).toEqual([
        'P3/linear@2',
      ]);
    });
  });
}
