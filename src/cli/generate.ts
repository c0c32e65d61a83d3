import { writeDataset } from '../adapters/files/dataset-writer.js';
import { DEFAULT_GENERATE, generateRows } from '../app/generate/generate.js';
import { AppError } from '../errors.js';
import { numberOption, parseCommandArgs, stringOption } from './args.js';
import type { CliIo } from './replay.js';

export const GENERATE_USAGE = `Usage: touchline generate --out DIR [options]

Writes seeded, deterministic synthetic data in both formats:
  DIR/events/     contacts.ndjson, touchpoints.ndjson, opportunities.ndjson, fx_rates.csv,
                  spend.csv
  DIR/challenge/  de_hw_*.csv (the challenge's CSV layout)

The events format also carries the reporting dimensions the CSVs cannot: campaigns
(campaign_id, campaign_name, utm_*) on most marketing touches; about 13 % of marketing
touches with UTM fields and no channel, for the channel rules to place (about 1.5 % match no
shipped rule: Unassigned); opportunities in USD, EUR, GBP, CAD and JPY; and fx_rates.csv,
business-day rates over the whole span, GBP's starting 45 days after the first opportunities
(so a few are pending_fx). For the stage models: lead_created_at on about 70 % of contacts
(mostly in the 90 days before their account's first opportunity, some long before; a few
contacts have a later version that keeps it); stage and closed_at on opportunities (about
25 % closed_won, 20 % closed_lost, closed 7 to 120 days after creation, about a third of them
by a later version of an open one); and spend.csv (date,channel,campaign_id,amount,currency,
updated_at): a row per day for Adwords, Event, Paid Social and Webinar over the days of the
touches, per campaign for Adwords and Paid Social, mostly USD, some EUR and GBP, with a few
corrections (a later row for the same day, channel and campaign) and two days at 0.00.
The challenge CSVs are the same with or without them.

Options:
  --out DIR              output directory (required)
  --seed N               PRNG seed (default ${DEFAULT_GENERATE.seed})
  --contacts N           contacts (default ${DEFAULT_GENERATE.contacts})
  --opportunities N      opportunities (default ${DEFAULT_GENERATE.opportunities})
  --touches N            touches, marketing and sales (default ${DEFAULT_GENERATE.touches})
  --dirty-rate R         share of dirty rows, 0..1 (default ${DEFAULT_GENERATE.dirtyRate})
  --update-rate R        share of opportunities with a later update, events format only (default 0)
  --start ISO            first day of the data (default ${DEFAULT_GENERATE.start})
  --days N               span in days (default ${DEFAULT_GENERATE.days})
  --no-dimensions        events without campaigns, UTM-only touches, currencies, fx_rates.csv,
                         leads, stages and spend.csv
                         (the events files as before dimensions, for benchmarks that compare)
  -h, --help             show this help`;

export async function runGenerate(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      out: { type: 'string' },
      seed: { type: 'string' },
      contacts: { type: 'string' },
      opportunities: { type: 'string' },
      touches: { type: 'string' },
      'dirty-rate': { type: 'string' },
      'update-rate': { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
      'no-dimensions': { type: 'boolean' },
    },
    GENERATE_USAGE,
  );
  if (values.help === true) {
    io.stdout(`${GENERATE_USAGE}\n`);
    return 0;
  }
  const out = stringOption(values.out);
  if (out === undefined) throw new AppError('USAGE', `--out DIR is required\n\n${GENERATE_USAGE}`);
  const start = stringOption(values.start) ?? DEFAULT_GENERATE.start;
  if (Number.isNaN(Date.parse(start)))
    throw new AppError('USAGE', `--start must be an ISO-8601 instant, got "${start}"`);
  const rate = (name: string): number | undefined => {
    const value = numberOption(values[name], name, { min: 0 });
    if (value !== undefined && value > 1) throw new AppError('USAGE', `--${name} must be between 0 and 1`);
    return value;
  };
  const options = {
    seed: numberOption(values.seed, 'seed', { integer: true }) ?? DEFAULT_GENERATE.seed,
    contacts:
      numberOption(values.contacts, 'contacts', { integer: true, min: 1 }) ?? DEFAULT_GENERATE.contacts,
    opportunities:
      numberOption(values.opportunities, 'opportunities', { integer: true }) ??
      DEFAULT_GENERATE.opportunities,
    touches: numberOption(values.touches, 'touches', { integer: true }) ?? DEFAULT_GENERATE.touches,
    dirtyRate: rate('dirty-rate') ?? DEFAULT_GENERATE.dirtyRate,
    updateRate: rate('update-rate') ?? DEFAULT_GENERATE.updateRate,
    start,
    days: numberOption(values.days, 'days', { integer: true, min: 91 }) ?? DEFAULT_GENERATE.days,
    dimensions: values['no-dimensions'] !== true,
  };
  const counts = await writeDataset(out, generateRows(options));
  io.stdout(
    `generated ${counts['contacts']} contacts, ${counts['opportunities']} opportunities (+${counts['updates']} updates), ${counts['touches']} touches${options.dimensions ? `, ${counts['rates']} FX rates` : ''} (seed ${options.seed}) in ${out}/events and ${out}/challenge\n`,
  );
  return 0;
}
