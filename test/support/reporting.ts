import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { quoteSchema } from '../../src/adapters/postgres/errors.js';
import type { Breakdown } from '../../src/domain/aggregate.js';
import { replay, type ReplayResult } from '../../src/app/replay.js';
import {
  buildVocabularies,
  defaultChannelRulesPath,
  loadRules,
  serveDefaults,
} from '../../src/cli/settings.js';
import type { OpportunityAttribution } from '../../src/domain/attribute.js';
import { formatNanos } from '../../src/domain/money.js';
import { localDate } from '../../src/domain/period.js';

/**
 * The per-day reporting tables (SPEC "Reporting dimensions") read from Postgres and computed by
 * replay in-process, both as sorted `|`-joined lines with exact amounts, so a difference shows
 * as the cells that differ.
 */

/** numeric(38,9) text → the canonical form formatNanos gives ("12.5", "3", "0"). */
export const canonicalDecimal = (text: string): string =>
  text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;

/** `model|day|channel|segment|amount|count` per pipeline_by_day row ([] before the table exists). */
export async function dayTableLines(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool
    .query<Record<string, string>>(
      `SELECT model, created_day::text AS day, channel, sales_segment,
              pipeline_amount::text AS amount, opportunity_count::text AS count
         FROM ${quoteSchema(schema)}.pipeline_by_day`,
    )
    .catch(() => ({ rows: [] }));
  return rows
    .map((r) => [r.model, r.day, r.channel, r.sales_segment, canonicalDecimal(r.amount ?? ''), r.count])
    .map((cells) => cells.join('|'))
    .sort();
}

/** `model|day|channel|campaign|segment|amount|count` per pipeline_by_campaign_day row ('' = no campaign). */
export async function campaignDayTableLines(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool
    .query<Record<string, string>>(
      `SELECT model, created_day::text AS day, channel, campaign, sales_segment,
              pipeline_amount::text AS amount, opportunity_count::text AS count
         FROM ${quoteSchema(schema)}.pipeline_by_campaign_day`,
    )
    .catch(() => ({ rows: [] }));
  return rows
    .map((r) => [
      r.model,
      r.day,
      r.channel,
      r.campaign,
      r.sales_segment,
      canonicalDecimal(r.amount ?? ''),
      r.count,
    ])
    .map((cells) => cells.join('|'))
    .sort();
}

/**
 * `model|channel|segment|amount[|count]` of a per-day table summed over its days (and campaigns)
 * by Postgres' exact numeric sum. Counts are summed only for the day table: an opportunity has
 * one day, but may credit several campaigns of one channel.
 */
export async function summedOverDays(
  pool: pg.Pool,
  schema: string,
  table: 'pipeline_by_day' | 'pipeline_by_campaign_day',
): Promise<string[]> {
  const count = table === 'pipeline_by_day' ? `, sum(opportunity_count)::text AS count` : '';
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT model, channel, sales_segment, sum(pipeline_amount)::text AS amount${count}
       FROM ${quoteSchema(schema)}.${table}
      GROUP BY model, channel, sales_segment`,
  );
  return rows
    .map((r) => [r.model, r.channel, r.sales_segment, canonicalDecimal(r.amount ?? ''), r.count])
    .map((cells) => cells.filter((c) => c !== undefined).join('|'))
    .sort();
}

/** Every row of a table as text, updated_at included: equal snapshots mean nothing was rewritten. */
export async function tableSnapshot(pool: pg.Pool, schema: string, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ line: string }>(
    `SELECT t::text AS line FROM ${quoteSchema(schema)}.${table} t`,
  );
  return rows.map((r) => r.line).sort();
}

/**
 * Replay of the events in `dir` as the service runs: the shipped channel rules (or those of
 * `rulesFile`, as CHANNEL_RULES_FILE gives them), and the dataset's fx_rates.csv (which
 * `touchline produce` publishes to the rates topic), in `timeZone`.
 */
export function replayAsStreaming(
  dir: string,
  timeZone: string,
  breakdown?: Breakdown,
  rulesFile?: string,
  onAttribution?: (attribution: OpportunityAttribution) => void,
): ReplayResult {
  const defaults = serveDefaults(dir, timeZone);
  const vocab =
    rulesFile === undefined ? defaults.vocab : buildVocabularies(undefined, undefined, loadRules(rulesFile));
  const settings =
    vocab.channelRules === undefined
      ? defaults.settings
      : { ...defaults.settings, channelRules: vocab.channelRules };
  return replay(openDataset(dir).records, {
    ...defaults,
    settings,
    vocab,
    ...(breakdown === undefined ? {} : { breakdown }),
    ...(onAttribution === undefined ? {} : { onAttribution }),
  });
}

/** One (opportunity, model) answer of a replay: its credits as text, and the currency it was given in. */
export interface ReplayedAnswer {
  readonly credits: string;
  readonly currency: string | null;
}

/** Every answer replay gives, keyed `opportunity|model` (pending_fx opportunities have none). */
export function replayedAnswers(
  dir: string,
  timeZone: string,
  rulesFile?: string,
): Map<string, ReplayedAnswer> {
  const answers = new Map<string, ReplayedAnswer>();
  replayAsStreaming(dir, timeZone, undefined, rulesFile, (attribution) => {
    for (const result of attribution.results)
      answers.set(`${attribution.opportunityId}|${result.model}`, {
        credits: result.credits
          .map((c) => [c.touchpointId, c.channel, c.occurredAt, formatNanos(c.amount), c.campaign].join(':'))
          .join(','),
        currency: attribution.original?.currency ?? null,
      });
  });
  return answers;
}

/** The live rows of opportunity_answer, keyed `opportunity|model` as replayedAnswers keys them. */
export interface StoredAnswer {
  readonly key: string;
  readonly revision: number;
  readonly reason: string;
  readonly version: string | null;
  readonly currency: string | null;
}

export async function storedAnswers(pool: pg.Pool, schema: string): Promise<StoredAnswer[]> {
  const { rows } = await pool.query<StoredAnswer>(
    `SELECT opportunity_id || '|' || model AS key, revision, reason,
            channel_rules_version AS version, original_currency AS currency
       FROM ${quoteSchema(schema)}.opportunity_answer WHERE NOT deleted`,
  );
  // Sorted here, not by Postgres, whose collation need not be JavaScript's code-unit order.
  return rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The shipped channel rules written to `path` under another `version`, with `edit` applied to
 * the YAML text (which must change it, else the edit did not apply), for CHANNEL_RULES_FILE.
 */
export function writeRules(path: string, version: string, edit?: (yaml: string) => string): string {
  const shipped = readFileSync(defaultChannelRulesPath(), 'utf8');
  const versioned = shipped.replace(/^version: .*$/m, `version: '${version}'`);
  const text = edit === undefined ? versioned : edit(versioned);
  if (versioned === shipped || (edit !== undefined && text === versioned))
    throw new Error(`writeRules ${path}: the edit changed nothing`);
  writeFileSync(path, text);
  return path;
}

/**
 * Copies the events dataset `dir` to `copy` without the FX rates of `currency`, which go to a
 * dataset of their own (`late`: that fx_rates.csv, no events) to be produced later.
 */
export function withheldRates(dir: string, currency: string, copy: string, late: string): void {
  mkdirSync(copy, { recursive: true });
  mkdirSync(late, { recursive: true });
  for (const file of readdirSync(dir))
    if (file !== 'fx_rates.csv') copyFileSync(join(dir, file), join(copy, file));
  const [header = '', ...rows] = readFileSync(join(dir, 'fx_rates.csv'), 'utf8').trimEnd().split('\n');
  const withheld = (row: string): boolean => row.split(',')[1] === currency;
  writeFileSync(join(copy, 'fx_rates.csv'), [header, ...rows.filter((r) => !withheld(r))].join('\n') + '\n');
  writeFileSync(join(late, 'fx_rates.csv'), [header, ...rows.filter(withheld)].join('\n') + '\n');
  for (const file of ['contacts.ndjson', 'touchpoints.ndjson', 'opportunities.ndjson'])
    writeFileSync(join(late, file), '');
}

/** The breakdown by local creation day in `timeZone`, optionally by campaign too. */
export const byDay = (timeZone: string, byCampaign = false): Breakdown => ({
  periodOf: (attribution) => localDate(attribution.createdAt, timeZone),
  byCampaign,
});

/** Replay cells as the lines the readers above give. */
export const cellLines = (result: ReplayResult): string[] =>
  result.cells
    .map((c) =>
      [
        c.model,
        c.period,
        c.channel,
        c.campaign === undefined ? undefined : (c.campaign ?? ''),
        c.segment,
        formatNanos(c.amount),
        String(c.opportunities),
      ]
        .filter((cell) => cell !== undefined)
        .join('|'),
    )
    .sort();
