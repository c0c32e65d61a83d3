import { writeFileSync } from 'node:fs';
import { dirname, basename, extname, join } from 'node:path';
import { openDataset } from '../adapters/files/dataset.js';
import { ratesFileIn, readRatesFile } from '../adapters/files/fx-rates-file.js';
import {
  createTouchCreditsWriter,
  renderCsv,
  renderJson,
  renderRoiCsv,
  renderRoiJson,
  renderRoiText,
  renderText,
} from '../adapters/files/report-writers.js';
import { readSpendFile, spendFileIn } from '../adapters/files/spend-file.js';
import { periodOfDate } from '../domain/period.js';
import { roiTable } from '../domain/roi.js';
import { replay } from '../app/replay.js';
import type { QualityReport } from '../app/quality.js';
import { formatCents } from '../domain/money.js';
import { AppError } from '../errors.js';
import { numberOption, parseCommandArgs, stringOption } from './args.js';
import {
  breakdownOf,
  parseReportingOptions,
  REPORTING_FLAGS,
  REPORTING_USAGE,
  revenueBreakdownOf,
  revenueSelectionOf,
  selectionOf,
} from './reporting.js';
import { buildSettings, buildVocabularies, loadCustomModels, loadRules } from './settings.js';

const REPORTS = ['pipeline', 'revenue', 'roi'] as const;
type Report = (typeof REPORTS)[number];
/** The one period of an ROI table without --by: the whole time. */
const ALL_TIME = 'all';

const nonEmptyEnv = (name: string): string | undefined => {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

export const REPLAY_USAGE = `Usage: touchline replay --data DIR [options]

Attributes a dataset in batch, with in-memory state (no services needed), and prints the
channel x sales-segment pipeline table for every model.

DIR holds either the challenge CSVs (de_hw_*.csv) or Touchline event files
(contacts.ndjson, touchpoints.ndjson, opportunities.ndjson).

Options:
  --data DIR             dataset directory (required)
  --format FMT           table | json | csv (default: table)
  --out FILE             write the table to FILE instead of stdout
  --touches-out FILE     write the touch-level table (CSV); default next to --out: NAME.touches.csv
  --quality-out FILE     write the data-quality report (JSON); default next to --out: NAME.quality.json
  --report WHAT          pipeline (default): pipeline sourced, by the opportunities' creation;
                         revenue: the closed-won opportunities' amounts, same credits, by closing;
                         roi: per model x channel x period: spend, pipeline, revenue,
                         pipeline/spend, ROAS (revenue/spend), cost per credited opportunity
  --spend FILE           spend CSV date,channel,campaign_id,amount,currency,updated_at (for
                         --report roi; default: DIR/spend.csv when present)
  --models LIST          comma-separated models (default: all: first_touch,last_touch,linear,
                         u_shaped,time_decay,w_shaped,full_path and those of --models-file)
  --models-file FILE     custom position models (YAML; see config/models.example.yaml;
                         default: $MODELS_FILE)
  --window-days N        attribution window in days (default 90)
  --half-life-days N     time_decay half-life in days (default 7)
  --channel-rules FILE   channel rules (YAML) for touches without a known channel (default:
                         $CHANNEL_RULES_FILE or the shipped config/channel-rules.yaml, GA4-style)
${REPORTING_USAGE}
  --strict               exit with status 3 when any record was rejected
  -h, --help             show this help`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** The replay command; a promise like every command's, though the work itself is synchronous. */
export function runReplay(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return Promise.resolve(replayCommand(argv, io));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function replayCommand(argv: readonly string[], io: CliIo): number {
  const { values } = parseCommandArgs(
    argv,
    {
      data: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'touches-out': { type: 'string' },
      'quality-out': { type: 'string' },
      models: { type: 'string' },
      'models-file': { type: 'string' },
      report: { type: 'string' },
      spend: { type: 'string' },
      'window-days': { type: 'string' },
      'half-life-days': { type: 'string' },
      strict: { type: 'boolean' },
      'channel-rules': { type: 'string' },
      ...REPORTING_FLAGS,
    },
    REPLAY_USAGE,
  );
  if (values.help === true) {
    io.stdout(`${REPLAY_USAGE}\n`);
    return 0;
  }
  const data = stringOption(values.data);
  if (data === undefined) throw new AppError('USAGE', `--data DIR is required\n\n${REPLAY_USAGE}`);
  const format = stringOption(values.format) ?? 'table';
  if (!['table', 'json', 'csv'].includes(format))
    throw new AppError('USAGE', `--format must be table, json or csv, got "${format}"`);
  const report = (stringOption(values.report) ?? 'pipeline') as Report;
  if (!REPORTS.includes(report))
    throw new AppError('USAGE', `--report must be ${REPORTS.join(', ')}, got "${String(values.report)}"`);
  const settings = buildSettings({
    windowDays: numberOption(values['window-days'], 'window-days', { min: 0 }),
    halfLifeDays: numberOption(values['half-life-days'], 'half-life-days', { min: 0.000001 }),
    models: stringOption(values.models),
    custom: loadCustomModels(stringOption(values['models-file']) ?? nonEmptyEnv('MODELS_FILE')),
  });
  const reporting = parseReportingOptions(values);
  const spendGiven = stringOption(values.spend);
  if (spendGiven !== undefined && report !== 'roi')
    throw new AppError('USAGE', '--spend is read by --report roi only');
  const rules = loadRules(stringOption(values['channel-rules']) ?? nonEmptyEnv('CHANNEL_RULES_FILE'));
  const out = stringOption(values.out);
  const sibling = (suffix: string): string | undefined =>
    out === undefined ? undefined : join(dirname(out), `${basename(out, extname(out))}${suffix}`);
  const touchesOut = stringOption(values['touches-out']) ?? sibling('.touches.csv');
  const qualityOut = stringOption(values['quality-out']) ?? sibling('.quality.json');

  const dataset = openDataset(data);
  const ratesPath = reporting.fxRates ?? ratesFileIn(data);
  const touchWriter = touchesOut === undefined ? undefined : createTouchCreditsWriter(touchesOut);
  const vocab = buildVocabularies(undefined, undefined, rules);
  // ROI is per period: the one period "all" without --by.
  const allTime = report === 'roi' && reporting.grain === null;
  const allTimeBreakdown = { periodOf: () => ALL_TIME, byCampaign: reporting.byCampaign };
  const spendPath = report === 'roi' ? (spendGiven ?? spendFileIn(data)) : null;
  const spendPeriodOf = (date: string): string =>
    reporting.grain === null
      ? ALL_TIME
      : periodOfDate(date, reporting.grain, reporting.calendar.fiscalYearStartMonth);
  const result = replay(dataset.records, {
    settings: {
      ...settings,
      ...(vocab.channelRules === undefined ? {} : { channelRules: vocab.channelRules }),
    },
    vocab,
    breakdown: allTime ? allTimeBreakdown : breakdownOf(reporting),
    revenueBreakdown: allTime ? allTimeBreakdown : revenueBreakdownOf(reporting),
    selectRevenue: revenueSelectionOf(reporting),
    ...(spendPath === null
      ? {}
      : {
          spend: {
            records: readSpendFile(spendPath),
            periodOf: spendPeriodOf,
            byCampaign: reporting.byCampaign,
          },
        }),
    fx: {
      reportingCurrency: reporting.reportingCurrency,
      timeZone: reporting.calendar.timeZone,
      rates: ratesPath === null ? [] : readRatesFile(ratesPath),
    },
    selectOpportunity: selectionOf(reporting),
    onAttribution: touchWriter === undefined ? undefined : (a) => touchWriter.write(a),
  });
  touchWriter?.close();

  const modelNames = settings.models.map((m) => m.name);
  const columns = { period: reporting.grain !== null, campaign: reporting.byCampaign };
  let rendered: string;
  if (report === 'roi') {
    const rows = roiTable({
      pipeline: result.cells,
      revenue: result.revenueCells,
      spend: result.spend?.totals ?? [],
      models: modelNames,
    });
    rendered =
      format === 'json'
        ? renderRoiJson(rows)
        : format === 'csv'
          ? renderRoiCsv(rows)
          : renderRoiText(rows, modelNames);
  } else {
    const cells = report === 'revenue' ? result.revenueCells : result.cells;
    rendered =
      format === 'json'
        ? renderJson(cells, report)
        : format === 'csv'
          ? renderCsv(cells, columns, report)
          : renderText(cells, modelNames, columns, report);
  }
  if (out === undefined) io.stdout(rendered);
  else writeFileSync(out, rendered);
  if (qualityOut !== undefined) writeFileSync(qualityOut, `${JSON.stringify(result.quality, null, 2)}\n`);

  const summary = [
    `${dataset.format} data in ${data}: ${result.opportunities} opportunities, pipeline ${formatCents(result.totalAmount)} ${reporting.reportingCurrency}${
      result.pendingFx === 0 ? '' : `; ${result.pendingFx} pending_fx (no rate yet, not credited)`
    }; ${result.closedWon} closed won, revenue ${formatCents(result.revenueAmount)} ${reporting.reportingCurrency}${
      result.spend === undefined
        ? report === 'roi'
          ? `; no spend file (${join(data, 'spend.csv')} absent, --spend FILE): spend shown as none`
          : ''
        : `; spend ${formatCents(result.spend.totals.reduce((sum, t) => sum + t.amount, 0n))} ${reporting.reportingCurrency} from ${spendPath ?? ''}${
            result.spend.pending.length === 0 ? '' : ` (${result.spend.pending.length} rows pending_fx)`
          }`
    }`,
    renderQuality(result.quality),
    ...[out, touchesOut, qualityOut].filter((f) => f !== undefined).map((f) => `wrote ${f}`),
  ];
  // With the table on stdout the summary goes to stderr, so `> file` captures only the table.
  (out === undefined ? io.stderr : io.stdout)(`${summary.join('\n')}\n`);
  return values.strict === true && result.quality.totals.rejected > 0 ? 3 : 0;
}

export function renderQuality(report: QualityReport): string {
  const t = report.totals;
  const lines = [
    `data quality: read ${t.read}, accepted ${t.accepted}, duplicates ${t.duplicates}, superseded ${t.stale}, rejected ${t.rejected}`,
  ];
  for (const s of report.sources) {
    const reasons = Object.entries(s.rejected)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    lines.push(
      `  ${s.source}: read ${s.read}, accepted ${s.accepted}, duplicates ${s.duplicates}${reasons === '' ? '' : `, rejected: ${reasons}`}`,
    );
  }
  for (const e of report.examples) lines.push(`  rejected ${e.location}: ${e.reason}: ${e.detail}`);
  const notices = Object.entries(report.notices ?? {});
  if (notices.length > 0)
    lines.push(`accepted, to know about: ${notices.map(([n, count]) => `${n} ${count}`).join(', ')}`);
  for (const e of report.noticeExamples ?? []) lines.push(`  ${e.notice} ${e.location}: ${e.detail}`);
  return lines.join('\n');
}
