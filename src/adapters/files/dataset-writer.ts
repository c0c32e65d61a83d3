import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { GeneratedRow } from '../../app/generate/generate.js';
import { CHALLENGE_FILES } from './challenge-format.js';
import { csvField } from './csv.js';
import { EVENT_FILES } from './events-format.js';
import { FX_RATES_FILE } from './fx-rates-file.js';
import { SPEND_FILE } from './spend-file.js';

/**
 * Writes generated rows in both formats at once: `<dir>/events/*.ndjson` and
 * `<dir>/challenge/de_hw_*.csv`, the latter with the challenge's quirks (BOM on the contact
 * file, CRLF, literal null, no final newline) so every reader path gets exercised. A row's
 * dimensions (campaigns, UTM fields, currency, lead_created_at, stage and closed_at), later
 * versions of contacts and opportunities, the FX rates and the spend go to the events format
 * only: `<dir>/events/fx_rates.csv` and `<dir>/events/spend.csv`, each written only when there
 * are such rows.
 */
export async function writeDataset(
  dir: string,
  rows: Iterable<GeneratedRow>,
): Promise<Record<string, number>> {
  const eventsDir = join(dir, 'events');
  const challengeDir = join(dir, 'challenge');
  mkdirSync(eventsDir, { recursive: true });
  mkdirSync(challengeDir, { recursive: true });
  const open = (path: string): WriteStream => createWriteStream(path, { encoding: 'utf8' });
  const events = {
    contact: open(join(eventsDir, EVENT_FILES.contacts)),
    touch: open(join(eventsDir, EVENT_FILES.touchpoints)),
    opportunity: open(join(eventsDir, EVENT_FILES.opportunities)),
  };
  const [contactSpec, marketingSpec, salesSpec, opportunitySpec] = CHALLENGE_FILES;
  const csv = new Map<string, { out: WriteStream; rows: number }>();
  for (const spec of [contactSpec, marketingSpec, salesSpec, opportunitySpec]) {
    if (spec === undefined) continue;
    const out = open(join(challengeDir, spec.file));
    out.write(
      `${spec === contactSpec ? '\ufeff' : ''}${Object.values(spec.columns).map(headerName).join(',')}`,
    );
    csv.set(spec.file, { out, rows: 0 });
  }
  let rates: WriteStream | undefined;
  let spend: WriteStream | undefined;
  const counts: Record<string, number> = {
    contacts: 0,
    contactUpdates: 0,
    touches: 0,
    opportunities: 0,
    updates: 0,
    rates: 0,
    spend: 0,
  };
  const count = (key: string): void => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const writeCsv = (file: string | undefined, values: (string | null)[]): Promise<void> | undefined => {
    const target = file === undefined ? undefined : csv.get(file);
    if (target === undefined) return undefined;
    target.rows += 1;
    return drain(target.out, `\r\n${values.map((v) => csvField(v ?? 'null')).join(',')}`);
  };

  for (const row of rows) {
    if (row.kind === 'contact') {
      count(row.update === true ? 'contactUpdates' : 'contacts');
      const event = row.dimensions === undefined ? row.fields : { ...row.fields, ...row.dimensions };
      await drain(events.contact, `${JSON.stringify(event)}\n`);
      if (row.update !== true)
        await writeCsv(contactSpec?.file, [row.fields.contact_id, row.fields.account_id]);
    } else if (row.kind === 'touch') {
      count('touches');
      const t = row.fields;
      await drain(events.touch, `${JSON.stringify(touchEvent(row))}\n`);
      const spec = t.source === 'sales' ? salesSpec : marketingSpec;
      await writeCsv(spec?.file, [t.touchpoint_id, t.channel, t.contact_id, t.occurred_at]);
    } else if (row.kind === 'spend') {
      count('spend');
      if (spend === undefined) {
        spend = open(join(eventsDir, SPEND_FILE));
        spend.write('date,channel,campaign_id,amount,currency,updated_at\n');
      }
      const s = row.fields;
      const values = [s.date, s.channel, s.campaign_id ?? '', s.amount, s.currency, s.updated_at];
      await drain(spend, `${values.map(csvField).join(',')}\n`);
    } else if (row.kind === 'rate') {
      count('rates');
      if (rates === undefined) {
        rates = open(join(eventsDir, FX_RATES_FILE));
        rates.write('date,currency,rate\n');
      }
      const r = row.fields;
      await drain(rates, `${r.date},${r.currency},${r.rate}\n`);
    } else {
      const o = row.fields;
      count(row.update ? 'updates' : 'opportunities');
      const event = row.dimensions === undefined ? o : { ...o, ...row.dimensions };
      await drain(events.opportunity, `${JSON.stringify(event)}\n`);
      // The CSV format has no versions: it carries each opportunity's first version only.
      if (!row.update)
        await writeCsv(opportunitySpec?.file, [
          o.opportunity_id,
          o.account_id,
          o.amount,
          o.created_at,
          o.sales_segment,
        ]);
    }
  }
  const all = [
    ...Object.values(events),
    ...[...csv.values()].map((c) => c.out),
    ...[rates, spend].filter((out) => out !== undefined),
  ];
  await Promise.all(
    all.map(async (out) => {
      out.end();
      await once(out, 'finish');
    }),
  );
  return counts;
}

type TouchRow = Extract<GeneratedRow, { kind: 'touch' }>;

/** The events copy of a touch: its fields, its campaign and UTM tags, no channel when UTM-only. */
function touchEvent(row: TouchRow): Record<string, string | null> {
  const d = row.dimensions;
  if (d === undefined) return row.fields;
  return { ...row.fields, ...(d.utmOnly ? { channel: null } : {}), ...d.tags };
}

/** The challenge file capitalises one header; write it as the original does. */
const headerName = (column: string): string =>
  column === 'opportunity_created_date' ? 'Opportunity_Created_Date' : column;

async function drain(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
