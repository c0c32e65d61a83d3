/**
 * What a chaos scenario must end with, checked against an independent computation:
 * - Postgres's pipeline_by_channel_segment equals `replay` of the same events, cell by cell,
 *   and every (opportunity, model) answer equals replay's (how many were lost or doubled);
 * - on the output topic, the latest revision of each (opportunity, model) is Postgres's (same
 *   revision, same amount and credits, tombstone ⇔ deleted), and its revisions 1..n are all
 *   there (duplicates allowed: a crash between publish and commit re-publishes);
 * - the dead-letter topic holds each bad record exactly once, keyed by the
 *   __connect.errors.topic/partition/offset headers, committed records only (readTopics).
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { createPartitionReader, type PartitionReader, type RawRecord } from './committed-records.js';
import type pg from 'pg';
import { createAvroCodec, createSchemaRegistry } from '../../src/adapters/kafka/avro-codec.js';
import type { TopicNames } from '../../src/adapters/kafka/topics.js';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { readPipelineTable } from '../../src/adapters/postgres/queries.js';
import { replay } from '../../src/app/replay.js';
import { serveDefaults } from '../../src/cli/settings.js';
import { formatNanos } from '../../src/domain/money.js';

export type Row = [model: string, channel: string, segment: string, amount: string, opportunities: number];

export interface Expected {
  readonly cells: Row[];
  /** `${opportunity}|${model}` → canonical credits text. */
  readonly answers: Map<string, string>;
  /**
   * Records replay rejected that the service dead-letters too: all but unknown_contact (a touch
   * whose contact the stream has not seen yet is kept: the contact may still arrive).
   */
  readonly rejected: number;
}

const canonicalCredits = (credits: readonly { touchpointId: string | null; amount: string }[]): string =>
  credits
    .map((c) => `${c.touchpointId ?? '-'}=${c.amount}`)
    .sort()
    .join(',');

/** numeric(38,9) text → formatNanos's canonical form ("12.5", "3"). */
export const normalise = (text: string): string =>
  text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
const sortRows = (rows: Row[]): Row[] => rows.sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1));

export function expectedOf(events: string): Expected {
  const answers = new Map<string, string>();
  const result = replay(openDataset(events).records, {
    ...serveDefaults(events),
    onAttribution: (a) => {
      for (const r of a.results)
        answers.set(
          `${a.opportunityId}|${r.model}`,
          canonicalCredits(
            r.credits.map((c) => ({ touchpointId: c.touchpointId, amount: formatNanos(c.amount) })),
          ),
        );
    },
  });
  const cells = sortRows(
    result.cells.map((c) => [c.model, c.channel, c.segment, formatNanos(c.amount), c.opportunities]),
  );
  const rejected = result.quality.totals.rejected - (result.quality.rejectedByReason.unknown_contact ?? 0);
  return { cells, answers, rejected };
}

export async function actualCells(pool: pg.Pool, schema: string): Promise<Row[] | null> {
  try {
    const rows = await readPipelineTable(pool, schema);
    return sortRows(
      rows.map((r) => [
        r.model,
        r.channel,
        r.sales_segment,
        normalise(r.pipeline_amount),
        Number(r.opportunity_count),
      ]),
    );
  } catch {
    return null;
  }
}

export const sameCells = (a: Row[] | null, b: Row[]): boolean =>
  a !== null && JSON.stringify(a) === JSON.stringify(b);

interface StoredAnswer {
  readonly revision: number;
  readonly deleted: boolean;
  readonly amount: string | null;
  readonly credits: string;
}

async function storedAnswers(pool: pg.Pool, schema: string): Promise<Map<string, StoredAnswer>> {
  const { rows } = await pool.query<{
    opportunity_id: string;
    model: string;
    revision: number;
    deleted: boolean;
    amount: string | null;
    credits: { touchpointId: string | null; amount: string }[];
  }>(
    `SELECT opportunity_id, model, revision, deleted, amount::text AS amount, credits FROM "${schema}".opportunity_answer`,
  );
  return new Map(
    rows.map((r) => [
      `${r.opportunity_id}|${r.model}`,
      {
        revision: r.revision,
        deleted: r.deleted,
        amount: r.amount === null ? null : normalise(r.amount),
        credits: canonicalCredits(r.credits),
      },
    ]),
  );
}

/**
 * Every committed record of `topics` up to their current ends, by a fresh group. Read
 * read_uncommitted and filtered here (committed-records.ts): kafkajs's own read_committed
 * filter lets records of some aborted transactions through. Waits for transactions still open
 * at the end (a killed instance's, until the coordinator aborts it) to settle.
 */
export async function readTopics(
  kafka: Kafka,
  group: string,
  topics: readonly string[],
  timeoutMs = 60_000,
): Promise<Map<string, KafkaMessage[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  try {
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic))
        if (Number(p.high) > Number(p.low)) ends.set(`${topic}/${p.partition}`, Number(p.high));
  } finally {
    await admin.disconnect();
  }
  const readers = new Map<string, PartitionReader<KafkaMessage & RawRecord>>();
  const readerOf = (key: string): PartitionReader<KafkaMessage & RawRecord> => {
    let reader = readers.get(key);
    if (reader === undefined) readers.set(key, (reader = createPartitionReader()));
    return reader;
  };
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 200, readUncommitted: true });
  await consumer.connect();
  const complete = (): boolean =>
    [...ends].every(([k, end]) => (readers.get(k)?.reached() ?? -1) + 1 >= end) &&
    [...readers.values()].every((r) => !r.open());
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    if (complete()) finish();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // rawMessages (not in kafkajs's types) keeps the control records the filter needs.
        const raw = (batch as unknown as { rawMessages?: (KafkaMessage & RawRecord)[] }).rawMessages;
        readerOf(`${batch.topic}/${batch.partition}`).add(raw ?? batch.messages);
        if (complete()) finish();
        await Promise.resolve();
      },
    });
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
    if (!complete())
      throw new Error(
        `could not read ${topics.join(', ')} to their ends (with no transaction left open) in ${timeoutMs / 1000} s`,
      );
  } finally {
    await consumer.disconnect();
  }
  const out = new Map<string, KafkaMessage[]>(topics.map((t) => [t, []]));
  for (const [key, reader] of readers)
    out.get(key.slice(0, key.lastIndexOf('/')))?.push(...reader.committed());
  return out;
}

export interface Verdict {
  readonly cellsEqual: boolean;
  readonly cellsDiff: string[];
  /** (opportunity, model) answers of replay missing or different in Postgres. */
  readonly lostAnswers: number;
  /** Live answers in Postgres replay does not have. */
  readonly extraAnswers: number;
  /** (opportunity, model) whose latest output record is not Postgres's answer. */
  readonly outputMismatches: string[];
  /** (opportunity, model) whose revisions on the output topic have a gap. */
  readonly revisionGaps: string[];
  readonly duplicatedRevisions: number;
  readonly deadLetters: number;
  readonly deadLettersExpected: number;
  /** Extra copies of dead letters (a bad record dead-lettered more than once). */
  readonly deadLetterCopies: number;
  readonly deadLettersMissing: number;
}

export async function verify(ctx: {
  pool: pg.Pool;
  schema: string;
  kafka: Kafka;
  registryUrl: string;
  topics: TopicNames;
  expected: Expected;
  expectedDeadLetters: number;
  readerGroup: string;
}): Promise<Verdict> {
  const { pool, schema, kafka, topics, expected } = ctx;
  const cells = await actualCells(pool, schema);
  const cellsDiff = diffCells(cells ?? [], expected.cells);
  const stored = await storedAnswers(pool, schema);
  let lostAnswers = 0;
  for (const [key, credits] of expected.answers) {
    const got = stored.get(key);
    if (got === undefined || got.deleted || got.credits !== credits) lostAnswers += 1;
  }
  const extraAnswers = [...stored].filter(([key, a]) => !a.deleted && !expected.answers.has(key)).length;

  const read = await readTopics(kafka, ctx.readerGroup, [topics.pipeline, topics.dlq]);
  const codec = await createAvroCodec(createSchemaRegistry(ctx.registryUrl), topics);
  const byKey = new Map<string, { revision: number; value: Record<string, unknown> | null }[]>();
  for (const m of read.get(topics.pipeline) ?? []) {
    const revision = Number(header(m, 'touchline.revision'));
    const decodedKey = m.key === null ? null : await codec.decode(m.key);
    const k =
      decodedKey?.ok === true
        ? `${String(decodedKey.value['opportunity_id'])}|${String(decodedKey.value['model'])}`
        : '?';
    const decoded = m.value === null ? null : await codec.decode(m.value);
    const list = byKey.get(k) ?? [];
    list.push({ revision, value: decoded?.ok === true ? decoded.value : null });
    byKey.set(k, list);
  }
  const outputMismatches: string[] = [];
  const revisionGaps: string[] = [];
  let duplicatedRevisions = 0;
  for (const [k, list] of byKey) {
    const revisions = new Set(list.map((r) => r.revision));
    duplicatedRevisions += list.length - revisions.size;
    const max = Math.max(...revisions);
    for (let r = 1; r <= max; r += 1)
      if (!revisions.has(r)) {
        revisionGaps.push(`${k} has ${[...revisions].sort((a, b) => a - b).join(',')}`);
        break;
      }
    const latest = list.filter((r) => r.revision === max).at(-1);
    const answer = stored.get(k);
    const published = latest?.value ?? null;
    const publishedAmount = published === null ? null : formatNanos(published['pipeline_amount'] as bigint);
    const publishedCredits =
      published === null
        ? ''
        : canonicalCredits(
            (published['credits'] as { touchpoint_id: string | null; amount: bigint }[]).map((c) => ({
              touchpointId: c.touchpoint_id,
              amount: formatNanos(c.amount),
            })),
          );
    const same =
      answer !== undefined &&
      answer.revision === max &&
      answer.deleted === (published === null) &&
      (answer.deleted || (answer.amount === publishedAmount && answer.credits === publishedCredits));
    if (!same)
      outputMismatches.push(
        `${k}: topic revision ${max}${published === null ? ' (tombstone)' : ''}, Postgres ${answer === undefined ? 'none' : `revision ${answer.revision}${answer.deleted ? ' (deleted)' : ''}`}`,
      );
  }
  for (const [k, a] of stored)
    if (!byKey.has(k)) outputMismatches.push(`${k}: Postgres revision ${a.revision}, nothing on the topic`);

  const letters = new Map<string, number>();
  for (const m of read.get(topics.dlq) ?? []) {
    const k = `${header(m, '__connect.errors.topic')}/${header(m, '__connect.errors.partition')}/${header(m, '__connect.errors.offset')}`;
    letters.set(k, (letters.get(k) ?? 0) + 1);
  }
  const copies = [...letters.values()].reduce((n, c) => n + c - 1, 0);
  return {
    cellsEqual: cellsDiff.length === 0,
    cellsDiff,
    lostAnswers,
    extraAnswers,
    outputMismatches,
    revisionGaps,
    duplicatedRevisions,
    deadLetters: letters.size,
    deadLettersExpected: ctx.expectedDeadLetters,
    deadLetterCopies: copies,
    deadLettersMissing: Math.max(0, ctx.expectedDeadLetters - letters.size),
  };
}

const header = (m: KafkaMessage, name: string): string => {
  const v = m.headers?.[name];
  return v === undefined ? '' : Array.isArray(v) ? v.map(String).join(',') : String(v);
};

function diffCells(actual: Row[], expected: Row[]): string[] {
  const a = new Map(actual.map((r) => [r.slice(0, 3).join('|'), r]));
  const e = new Map(expected.map((r) => [r.slice(0, 3).join('|'), r]));
  const out: string[] = [];
  for (const [k, r] of e) {
    const got = a.get(k);
    if (got === undefined || got[3] !== r[3] || got[4] !== r[4])
      out.push(
        `${k}: replay ${r[3]} (${r[4]} opps), Postgres ${got === undefined ? 'none' : `${got[3]} (${got[4]} opps)`}`,
      );
  }
  for (const [k, r] of a) if (!e.has(k)) out.push(`${k}: replay none, Postgres ${r[3]} (${r[4]} opps)`);
  return out;
}
