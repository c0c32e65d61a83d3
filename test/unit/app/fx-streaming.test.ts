/**
 * FX rates in streaming (SPEC "Currency"), the use cases on the in-memory stores: an opportunity
 * without a usable rate waits (pending_fx), is attributed when its rate arrives, and is restated
 * when a later-dated rate it should use arrives. Expected amounts are worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import type { AttributionRevision } from '../../../src/app/ports.js';
import { buildSettings } from '../../../src/cli/settings.js';
import { createRateBook } from '../../../src/domain/fx.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { streamBatch, type StreamDeps } from '../../fakes/stream.js';
import { contact, days, opportunity, touch, UNIT } from '../../fakes/builders.js';

/** 2024-03-16T03:00Z: local date 2024-03-16 in UTC. */
const CREATED = Date.UTC(2024, 2, 16, 3, 0);
const rate = (date: string, currency: string, text: string): DomainEvent => {
  const [whole = '0', fraction = ''] = text.split('.');
  return {
    kind: 'rate',
    rate: { date, currency, rate: BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, '0')) },
  };
};

function setup() {
  const store = createMemoryStateStore();
  const answers = createMemoryAnswerStore();
  const published: AttributionRevision[] = [];
  const settings = {
    ...buildSettings({ models: 'first_touch' }),
    fx: { reportingCurrency: 'USD', rates: createRateBook('USD'), timeZone: 'UTC' },
  };
  const deps: StreamDeps = {
    store,
    answers,
    settings,
    windowMs: settings.windowMs,
    allowedLatenessMs: days(30),
    watermarkSources: 1,
    publish: (revisions) => {
      published.push(...revisions);
      return Promise.resolve();
    },
  };
  return { store, answers, published, deps };
}

const amounts = (revisions: readonly AttributionRevision[]): [string, string, bigint | undefined][] =>
  revisions.map((r) => [r.opportunityId, `@${r.revision} ${r.reason}`, r.attribution?.amount]);

describe('FX rates streamed', () => {
  it('waits without a rate, converts when one arrives, restates for a later-dated one', async () => {
    const { store, answers, published, deps } = setup();
    await streamBatch(
      [
        { kind: 'contact', contact: contact({ id: 'C1', accountId: 'A1' }) },
        { kind: 'touch', touch: touch({ id: 'T1', contactId: 'C1', occurredAt: CREATED - days(1) }) },
        {
          kind: 'opportunity',
          opportunity: opportunity({
            id: 'O1',
            accountId: 'A1',
            amount: 200n * UNIT,
            createdAt: CREATED,
            currency: 'EUR',
          }),
        },
        {
          kind: 'opportunity',
          opportunity: opportunity({
            id: 'O2',
            accountId: 'A1',
            amount: 50n * UNIT,
            createdAt: CREATED,
            currency: 'GBP',
          }),
        },
      ],
      deps,
    );
    // No EUR or GBP rate: both pending_fx, no answer anywhere.
    expect(published).toEqual([]);
    expect(await store.countPendingFx()).toBe(2);

    // EUR 2024-03-14 = 1.1: O1 = 200 × 1.1 = 220.
    expect(
      amounts(await streamBatch([rate('2024-03-14', 'EUR', '1.1')], deps, 'fx/0').then((r) => r.revisions)),
    ).toEqual([['O1', '@1 fx_rate', 220n * UNIT]]);
    expect(published.at(-1)?.attribution?.original).toEqual({
      amount: 200n * UNIT,
      currency: 'EUR',
      rate: 1_100_000_000_000n,
      rateDate: '2024-03-14',
    });
    expect(await store.countPendingFx()).toBe(1);

    // A rate dated 2024-03-15 arrives late: closer to the creation date, so O1 uses it: 200 × 1.2 = 240.
    const late = await streamBatch([rate('2024-03-15', 'EUR', '1.2')], deps, 'fx/0');
    expect(amounts(late.revisions)).toEqual([['O1', '@2 fx_rate', 240n * UNIT]]);
    expect(answers.cells().map((c) => c.amount)).toEqual([240n * UNIT]);

    // A rate dated after the creation date changes nothing; a redelivered one neither.
    expect((await streamBatch([rate('2024-03-17', 'EUR', '1.3')], deps, 'fx/0')).revisions).toEqual([]);
    const again = await streamBatch([rate('2024-03-15', 'EUR', '1.2')], deps, 'fx/0');
    expect(again.decisions).toEqual(['duplicate']);
    expect(again.revisions).toEqual([]);

    // A corrected rate for the same day replaces it: 200 × 1.25 = 250.
    const corrected = await streamBatch([rate('2024-03-15', 'EUR', '1.25')], deps, 'fx/0');
    expect(corrected.decisions).toEqual(['apply']);
    expect(amounts(corrected.revisions)).toEqual([['O1', '@3 fx_rate', 250n * UNIT]]);

    // GBP arrives: O2 = 50 × 1.27 = 63.5; nothing waits any more.
    expect(amounts((await streamBatch([rate('2024-03-01', 'GBP', '1.27')], deps, 'fx/0')).revisions)).toEqual(
      [['O2', '@1 fx_rate', 63_500_000_000n]],
    );
    expect(await store.countPendingFx()).toBe(0);
  });

  it('an opportunity moved to a currency without a rate loses its credits until one arrives', async () => {
    const { store, answers, deps } = setup();
    await streamBatch([rate('2024-03-01', 'EUR', '2')], deps, 'fx/0');
    await streamBatch(
      [
        { kind: 'contact', contact: contact({ id: 'C1', accountId: 'A1' }) },
        {
          kind: 'opportunity',
          opportunity: opportunity({
            id: 'O1',
            accountId: 'A1',
            amount: 10n * UNIT,
            createdAt: CREATED,
            currency: 'EUR',
          }),
        },
      ],
      deps,
    );
    // 10 EUR × 2 = 20, Unattributed (no touch).
    expect(answers.cells().map((c) => [c.channel, c.amount])).toEqual([['Unattributed', 20n * UNIT]]);
    const moved = await streamBatch(
      [
        {
          kind: 'opportunity',
          opportunity: opportunity({
            id: 'O1',
            accountId: 'A1',
            amount: 10n * UNIT,
            createdAt: CREATED,
            currency: 'CHF',
            version: 1,
          }),
        },
      ],
      deps,
    );
    // The answer is withdrawn (a tombstone revision), the totals empty, and O1 waits for CHF.
    expect(moved.revisions.map((r) => [r.revision, r.attribution])).toEqual([[2, null]]);
    expect(answers.cells()).toEqual([]);
    expect(await store.countPendingFx()).toBe(1);
    // Back to no currency (the reporting one): credited 10 again, and it waits no more.
    await streamBatch(
      [
        {
          kind: 'opportunity',
          opportunity: opportunity({
            id: 'O1',
            accountId: 'A1',
            amount: 10n * UNIT,
            createdAt: CREATED,
            version: 2,
          }),
        },
      ],
      deps,
    );
    expect(answers.cells().map((c) => [c.channel, c.amount])).toEqual([['Unattributed', 10n * UNIT]]);
    expect(await store.countPendingFx()).toBe(0);
  });
});
