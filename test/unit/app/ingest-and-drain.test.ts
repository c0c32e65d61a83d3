import { describe, expect, it } from 'vitest';
import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import type { AnswerStore, AttributionRevision } from '../../../src/app/ports.js';
import { streamBatch as processEvents, type StreamDeps } from '../../fakes/stream.js';
import { buildSettings } from '../../../src/cli/settings.js';
import { sortCells } from '../../../src/domain/aggregate.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { AppError } from '../../../src/errors.js';
import { contact, days, opportunity, T0, touch, UNIT } from '../../fakes/builders.js';

const settings = buildSettings({ models: 'first_touch,linear' });

const events: DomainEvent[] = [
  { kind: 'contact', contact: contact({ id: 'C1', accountId: 'A1' }) },
  {
    kind: 'touch',
    touch: touch({ id: 'T1', contactId: 'C1', channel: 'Webinar', occurredAt: T0 - days(3) }),
  },
  {
    kind: 'touch',
    touch: touch({ id: 'T2', contactId: 'C1', channel: 'Adwords', occurredAt: T0 - days(1) }),
  },
  {
    kind: 'opportunity',
    opportunity: opportunity({
      id: 'O1',
      accountId: 'A1',
      createdAt: T0,
      amount: 100n * UNIT,
      segment: 'Enterprise',
    }),
  },
];

function deps(answers: AnswerStore, published: AttributionRevision[]): StreamDeps {
  return {
    store: createMemoryStateStore(),
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
}

describe('ingestEvents then drainPending', () => {
  it('attributes with what is known and writes one revision per model', async () => {
    const answers = createMemoryAnswerStore();
    const published: AttributionRevision[] = [];
    const outcome = await processEvents(events, deps(answers, published));
    expect(outcome.decisions).toEqual(['apply', 'apply', 'apply', 'apply']);
    expect(published.map((r) => `${r.opportunityId}/${r.model}@${r.revision}`)).toEqual([
      'O1/first_touch@1',
      'O1/linear@1',
    ]);
    expect(
      sortCells(answers.cells(), ['first_touch', 'linear']).map((c) => [
        c.model,
        c.channel,
        c.segment,
        c.amount,
      ]),
    ).toEqual([
      ['first_touch', 'Webinar', 'Enterprise', 100n * UNIT],
      ['linear', 'Adwords', 'Enterprise', 50n * UNIT],
      ['linear', 'Webinar', 'Enterprise', 50n * UNIT],
    ]);
  });

  it('still stores the answers when a batch is redelivered after its commit failed (state already written)', async () => {
    const real = createMemoryAnswerStore();
    let failures = 1;
    const flaky: AnswerStore = {
      begin: () => {
        if (failures-- > 0)
          return Promise.reject(new AppError('STORE_UNAVAILABLE', 'postgres went away', { retriable: true }));
        return real.begin();
      },
    };
    const published: AttributionRevision[] = [];
    const d = deps(flaky, published);
    await expect(processEvents(events, d)).rejects.toThrow('postgres went away');
    const again = await processEvents(events, d);
    expect(again.decisions).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(real.revisionOf('O1', 'first_touch')).toBe(1);
    expect(real.cells().reduce((sum, c) => sum + c.amount, 0n)).toBe(200n * UNIT);
    expect(published).toHaveLength(2);
  });

  it('restates when a late touch changes the answer, moving the totals by the exact delta', async () => {
    const answers = createMemoryAnswerStore();
    const published: AttributionRevision[] = [];
    const d = deps(answers, published);
    await processEvents(events, d);
    const late = touch({ id: 'T0', contactId: 'C1', channel: 'Event', occurredAt: T0 - days(5) });
    const outcome = await processEvents([{ kind: 'touch', touch: late }], d);
    expect(outcome.revisions.map((r) => `${r.model}@${r.revision}:${r.reason}`)).toEqual([
      'first_touch@2:touch',
      'linear@2:touch',
    ]);
    const cell = (model: string, channel: string) =>
      answers.cells().find((c) => c.model === model && c.channel === channel)?.amount;
    expect(cell('first_touch', 'Event')).toBe(100n * UNIT);
    expect(cell('first_touch', 'Webinar')).toBeUndefined();
    // 100 split three ways: 33.333333334 to the earliest (largest remainder, lowest index), 33.333333333 to the others.
    expect(cell('linear', 'Event')).toBe(33_333_333_334n);
    expect(cell('linear', 'Webinar')).toBe(33_333_333_333n);
    expect(cell('linear', 'Adwords')).toBe(33_333_333_333n);
  });
});
