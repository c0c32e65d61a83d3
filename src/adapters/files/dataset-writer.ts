import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { GeneratedRow } from '../../app/generate/generate.js';
import { CHALLENGE_FILES } from './challenge-format.js';
import { csvField } from './csv.js';
import { EVENT_FILES } from './events-format.js';

/**
 * Writes generated rows in both formats at once: `<dir>/events/*.ndjson` and
 * `<dir>/challenge/de_hw_*.csv`, the latter with the challenge's quirks (BOM on the contact
 * file, CRLF, literal null, no final newline) so every reader path gets exercised.
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
  const counts: Record<string, number> = { contacts: 0, touches: 0, opportunities: 0, updates: 0 };
  const writeCsv = (file: string | undefined, values: (string | null)[]): Promise<void> | undefined => {
    const target = file === undefined ? undefined : csv.get(file);
    if (target === undefined) return undefined;
    target.rows += 1;
    return drain(target.out, `\r\n${values.map((v) => csvField(v ?? 'null')).join(',')}`);
  };

  for (const row of rows) {
    const f = row.fields;
    if (row.kind === 'contact') {
      counts['contacts'] = (counts['contacts'] ?? 0) + 1;
      await drain(events.contact, `${JSON.stringify(f)}\n`);
      await writeCsv(contactSpec?.file, [row.fields.contact_id, row.fields.account_id]);
    } else if (row.kind === 'touch') {
      counts['touches'] = (counts['touches'] ?? 0) + 1;
      const t = row.fields;
      await drain(events.touch, `${JSON.stringify(f)}\n`);
      const spec = t.source === 'sales' ? salesSpec : marketingSpec;
      await writeCsv(spec?.file, [t.touchpoint_id, t.channel, t.contact_id, t.occurred_at]);
    } else {
      const o = row.fields;
      counts[row.update ? 'updates' : 'opportunities'] =
        (counts[row.update ? 'updates' : 'opportunities'] ?? 0) + 1;
      await drain(events.opportunity, `${JSON.stringify(f)}\n`);
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
  const all = [...Object.values(events), ...[...csv.values()].map((c) => c.out)];
  await Promise.all(
    all.map(async (out) => {
      out.end();
      await once(out, 'finish');
    }),
  );
  return counts;
}

/** The challenge file capitalises one header; write it as the original does. */
const headerName = (column: string): string =>
  column === 'opportunity_created_date' ? 'Opportunity_Created_Date' : column;

async function drain(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
