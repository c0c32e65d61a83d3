import type { Breakdown } from '../domain/aggregate.js';
import type { Opportunity } from '../domain/events.js';
import {
  canonicalTimeZone,
  inDateRange,
  localDate,
  parseLocalDate,
  periodOf,
  PERIOD_GRAINS,
  type PeriodGrain,
  type ReportingCalendar,
} from '../domain/period.js';
import { canonicalCurrency } from '../domain/fx.js';
import { AppError } from '../errors.js';

/**
 * The reporting options batch commands share: `--by` (a period grain and/or `campaign`),
 * `--from/--to` (local creation dates), and the calendar (`--time-zone`,
 * `--fiscal-year-start-month`, defaulting to REPORTING_TIME_ZONE and FISCAL_YEAR_START_MONTH
 * as `serve` reads them, so batch and streaming use one calendar unless told otherwise).
 */
export interface ReportingOptions {
  readonly calendar: ReportingCalendar;
  readonly grain: PeriodGrain | null;
  readonly byCampaign: boolean;
  readonly from: string | null;
  readonly to: string | null;
  /** ISO 4217 code every amount is reported in. */
  readonly reportingCurrency: string;
  /** The FX rates CSV given with --fx-rates, if any (else the dataset's own fx_rates.csv). */
  readonly fxRates: string | null;
}

export const REPORTING_USAGE = `  --by LIST              break the table down by a period (day | week | month | quarter) and/or
                         campaign, comma-separated (e.g. quarter,campaign); quarters are fiscal
  --from DATE            only opportunities created on or after DATE (YYYY-MM-DD, local date);
                         revenue: closed won on or after DATE
  --to DATE              only opportunities created (revenue: closed) before DATE (exclusive)
  --time-zone TZ         reporting time zone, an IANA name (default: $REPORTING_TIME_ZONE or UTC)
  --fiscal-year-start-month N
                         month (1-12) fiscal Q1 starts in (default: $FISCAL_YEAR_START_MONTH or 1)
  --reporting-currency C ISO 4217 code amounts are reported in (default: $REPORTING_CURRENCY or USD)
  --fx-rates FILE        CSV date,currency,rate: 1 unit of currency = rate reporting units on that
                         date (default: DIR/fx_rates.csv when present)`;

export const REPORTING_FLAGS = {
  by: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'time-zone': { type: 'string' },
  'fiscal-year-start-month': { type: 'string' },
  'reporting-currency': { type: 'string' },
  'fx-rates': { type: 'string' },
} as const;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function parseReportingOptions(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ReportingOptions {
  const zoneText = text(values['time-zone']) ?? nonEmpty(env['REPORTING_TIME_ZONE']) ?? 'UTC';
  const timeZone = canonicalTimeZone(zoneText);
  if (timeZone === null)
    throw new AppError('USAGE', `--time-zone "${zoneText}" is not an IANA time zone (e.g. Europe/Berlin)`);
  const monthText =
    text(values['fiscal-year-start-month']) ?? nonEmpty(env['FISCAL_YEAR_START_MONTH']) ?? '1';
  const month = Number(monthText);
  if (!/^\d{1,2}$/.test(monthText.trim()) || month < 1 || month > 12)
    throw new AppError('USAGE', `--fiscal-year-start-month must be a month 1-12, got "${monthText}"`);

  let grain: PeriodGrain | null = null;
  let byCampaign = false;
  for (const part of (text(values.by) ?? '').split(',').map((p) => p.trim())) {
    if (part === '') continue;
    if (part === 'campaign') byCampaign = true;
    else if ((PERIOD_GRAINS as readonly string[]).includes(part)) {
      if (grain !== null && grain !== part)
        throw new AppError('USAGE', `--by takes one period, got "${grain}" and "${part}"`);
      grain = part as PeriodGrain;
    } else
      throw new AppError(
        'USAGE',
        `--by: "${part}" is not one of ${[...PERIOD_GRAINS, 'campaign'].join(', ')}`,
      );
  }
  const date = (name: 'from' | 'to'): string | null => {
    const given = text(values[name]);
    if (given === undefined) return null;
    const parsed = parseLocalDate(given.trim());
    if (parsed === null) throw new AppError('USAGE', `--${name} must be a date YYYY-MM-DD, got "${given}"`);
    return parsed;
  };
  const from = date('from');
  const to = date('to');
  if (from !== null && to !== null && from >= to)
    throw new AppError('USAGE', `--from ${from} must be before --to ${to} (--to is exclusive)`);
  const currencyText = text(values['reporting-currency']) ?? nonEmpty(env['REPORTING_CURRENCY']) ?? 'USD';
  const reportingCurrency = canonicalCurrency(currencyText);
  if (reportingCurrency === null)
    throw new AppError('USAGE', `--reporting-currency "${currencyText}" is not an ISO 4217 currency code`);
  return {
    calendar: { timeZone, fiscalYearStartMonth: month },
    grain,
    byCampaign,
    from,
    to,
    reportingCurrency,
    fxRates: text(values['fx-rates']) ?? null,
  };
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

export function breakdownOf(options: ReportingOptions): Breakdown {
  const { grain, calendar } = options;
  return {
    ...(grain === null
      ? {}
      : { periodOf: (a: { createdAt: number }) => periodOf(a.createdAt, grain, calendar) }),
    byCampaign: options.byCampaign,
  };
}

/** Revenue's breakdown: the same, with periods of the closing instant (SPEC "Stage models"). */
export function revenueBreakdownOf(options: ReportingOptions): Breakdown {
  const { grain, calendar } = options;
  return {
    ...(grain === null
      ? {}
      : {
          periodOf: (a: { createdAt: number; closedWonAt?: number }) =>
            periodOf(a.closedWonAt ?? a.createdAt, grain, calendar),
        }),
    byCampaign: options.byCampaign,
  };
}

/** Revenue's --from/--to: closed-won opportunities by their local closing date. */
export function revenueSelectionOf(options: ReportingOptions): ((o: Opportunity) => boolean) | undefined {
  const { from, to, calendar } = options;
  if (from === null && to === null) return undefined;
  return (o) => o.closedAt !== undefined && inDateRange(localDate(o.closedAt, calendar.timeZone), from, to);
}

/** The --from/--to selection, or undefined when every opportunity counts. */
export function selectionOf(options: ReportingOptions): ((o: Opportunity) => boolean) | undefined {
  const { from, to, calendar } = options;
  if (from === null && to === null) return undefined;
  return (o) => inDateRange(localDate(o.createdAt, calendar.timeZone), from, to);
}
