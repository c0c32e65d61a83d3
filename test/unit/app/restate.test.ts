/**
 * A channel rules change, then `touchline restate`: the use cases on the in-memory stores. Every
 * expected answer is written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import { validateRecord } from '../../../src/app/ingest.js';
import type { AttributionRevision } from '../../../src/app/ports.js';
import { markAllForRestatement } from '../../../src/app/restate.js';
import { buildSettings, buildVocabularies } from '../../../src/cli/settings.js';
import type { ChannelRules } from '../../../src/domain/channel-rules.js';
import type { DomainEvent } from '../../../src/domain/events.js';
import { FileLine } from '../../../src/app/quality.js';
import { drainAll, streamBatch, type StreamDeps } from '../../fakes/stream.js';
import { days, T0, UNIT } from '../../fakes/builders.js';

const rules = (version: string, googleCpc: string): ChannelRules => ({
  version,
  channels: ['Paid Search'],
  rules: [
    {
      name: 'google cpc',
      channel: googleCpc,
      when: {
        utm_source: [{ kind: 'exact', value: 'google' }],
        utm_medium: [{ kind: 'exact', value: 'cpc' }],
      },
    },
  ],
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** Validated as the service validates them, with the rules in force at ingest (v1). */
function eventsUnder(rulesAtIngest: ChannelRules): DomainEvent[] {
  const vocab = buildVocabularies(undefined, undefined, rulesAtIngest);
  const origin = new FileLine('test', 1);
  const records = [
    { kind: 'contact' as const, raw: { contact_id: 'C1', account_id: 'A1' }, origin },
    { kind: 'contact' as const, raw: { contact_id: 'C2', account_id: 'A2' }, origin },
    // T1: UTM only, placed by the rules. T2: an explicit Webinar, which no rule can change.
    {
      kind: 'touch' as const,
      touchSource: 'marketing' as const,
      raw: {
        touchpoint_id: 'T1',
        contact_id: 'C1',
        occurred_at: iso(T0 - days(2)),
        utm_source: 'google',
        utm_medium: 'cpc',
      },
      origin,
    },
    {
      kind: 'touch' as const,
      touchSource: 'marketing' as const,
      raw: {
        touchpoint_id: 'T2',
        contact_id: 'C2',
        channel: 'Webinar',
        occurred_at: iso(T0 - days(2)),
        utm_source: 'google',
        utm_medium: 'cpc',
      },
      origin,
    },
    ...['1', '2'].map((n) => ({
      kind: 'opportunity' as const,
      raw: {
        opportunity_id: `O${n}`,
        account_id: `A${n}`,
        amount: '100',
        created_at: iso(T0),
        sales_segment: 'Commercial',
      },
      origin,
    })),
  ];
  return records.map((record) => {
    const validated = validateRecord(record, vocab);
    if (!validated.ok) throw new Error(validated.rejection.detail);
    return validated.value;
  });
}

describe('a rules change restated', () => {
  it('re-attributes the touches the rules placed, publishes only the answers that change, records the new version', async () => {
    const v1 = rules('v1', 'Adwords');
    const v2 = rules('v2', 'Paid Search');
    const store = createMemoryStateStore();
    const answers = createMemoryAnswerStore();
    const published: AttributionRevision[] = [];
    const depsUnder = (r: ChannelRules): StreamDeps => {
      const settings = {
        ...buildSettings({ models: 'first_touch' }),
        channelRules: buildVocabularies(undefined, undefined, r).channelRules,
      };
      return {
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
    };
    await streamBatch(eventsUnder(v1), depsUnder(v1));
    // Under v1: O1 all to Adwords (T1 by the rule), O2 all to Webinar (T2's own channel).
    expect(answers.cells().map((c) => [c.channel, c.amount])).toEqual([
      ['Adwords', 100n * UNIT],
      ['Webinar', 100n * UNIT],
    ]);

    // The instances restart with v2. Nothing is pending, so nothing changes by itself.
    const underV2 = depsUnder(v2);
    expect(await drainAll(underV2)).toEqual([]);

    expect(await markAllForRestatement(store, () => 'default', T0)).toEqual({ marked: 2, deleted: 0 });
    const restated = await drainAll(underV2);
    // Only O1 changes: T1 is placed again (Paid Search); T2 named a known channel.
    expect(restated.map((r) => `${r.opportunityId}/${r.model}@${r.revision} ${r.reason}`)).toEqual([
      'O1/first_touch@2 restate',
    ]);
    expect(restated[0]?.attribution?.rulesVersion).toBe('v2');
    expect(
      answers
        .cells()
        .map((c) => [c.channel, c.amount, c.opportunities])
        .sort(),
    ).toEqual([
      ['Paid Search', 100n * UNIT, 1],
      ['Webinar', 100n * UNIT, 1],
    ]);
    // Restating again changes nothing.
    await markAllForRestatement(store, () => 'default', T0);
    expect(await drainAll(underV2)).toEqual([]);
  });

  it('leaves deleted opportunities out and marks each live one in its own pending set', async () => {
    const store = createMemoryStateStore();
    await store.apply(
      {
        touches: [],
        contacts: [],
        opportunities: [
          {
            record: {
              kind: 'live',
              opportunity: {
                id: 'O1',
                accountId: 'A1',
                amount: UNIT,
                createdAt: T0,
                segment: 'Commercial',
                version: 0,
              },
            },
            previousAccountId: null,
          },
          { record: { kind: 'deleted', id: 'O2', version: 1 }, previousAccountId: null },
        ],
      },
      Number.MIN_SAFE_INTEGER,
    );
    expect(await markAllForRestatement(store, (id) => `set-${id}`, T0)).toEqual({ marked: 1, deleted: 1 });
    expect(await store.countPending('set-O1')).toBe(1);
    expect(await store.countPending('set-O2')).toBe(0);
  });
});
