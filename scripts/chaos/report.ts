/**
 * The chaos suite's summary: one row per fault (times injected, records in flight when it hit,
 * lost, doubled, time to recover), printed and written to a file so it can be quoted.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { ScenarioResult } from './scenario.js';

export interface Failure {
  readonly fault: string;
  readonly problems: string[];
}

/** Lost: replay answers missing or wrong in Postgres, bad records missing from the DLQ, revision gaps. */
export const lostOf = (r: ScenarioResult): number =>
  r.verdict.lostAnswers + r.verdict.deadLettersMissing + r.verdict.revisionGaps.length;
/** Doubled: extra copies of dead letters, answers Postgres has that replay does not. */
export const doubledOf = (r: ScenarioResult): number => r.verdict.deadLetterCopies + r.verdict.extraAnswers;

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = ['fault', 'times injected', 'records in flight', 'lost', 'doubled', 'time to recover'];
  const rows = results.map((r) => [
    r.fault,
    String(r.injections.length),
    r.injections.length === 0
      ? '-'
      : `${r.injections.reduce((n, i) => n + i.inFlight, 0)} (${r.injections.map((i) => `${i.pending}+${i.lag}`).join(', ')})`,
    String(lostOf(r)),
    String(doubledOf(r)),
    r.recoverMs === null ? 'not recovered' : `${(r.recoverMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatDetails(r: ScenarioResult): string {
  const v = r.verdict;
  return [
    `${r.fault}: ${r.records} records in ${r.loadSeconds.toFixed(1)} s (producer resumed ${r.producerResumes}×); injections ${r.injections.map((i) => `${i.note} [pending ${i.pending}, lag ${i.lag}]`).join('; ') || 'none'}`,
    `  Postgres = replay: ${v.cellsEqual ? 'yes' : `NO (${v.cellsDiff.length} cells differ, e.g. ${v.cellsDiff.slice(0, 2).join('; ')})`}; answers lost/wrong ${v.lostAnswers}, extra ${v.extraAnswers}`,
    `  output topic: ${v.outputMismatches.length} latest revisions differ from Postgres${v.outputMismatches.length > 0 ? ` (e.g. ${v.outputMismatches.slice(0, 2).join('; ')})` : ''}, ${v.revisionGaps.length} revision gaps${v.revisionGaps.length > 0 ? ` (e.g. ${v.revisionGaps.slice(0, 2).join('; ')})` : ''}, ${v.duplicatedRevisions} duplicated revisions (allowed)`,
    `  DLQ: ${v.deadLetters} distinct bad records of ${v.deadLettersExpected} expected, ${v.deadLetterCopies} extra copies, ${v.deadLettersMissing} missing`,
    `  probes after the fault: /readyz 503 seen ${r.probes.readyz503}, touchline_state_rebuilding max ${r.probes.rebuildingMax ?? 'absent'}, touchline_state_rebuilds_total ${r.probes.rebuildsTotal ?? 'absent'}; instances crashed: ${r.crashed.length === 0 ? 'none' : r.crashed.join('; ')}`,
  ].join('\n');
}

export function writeReport(
  file: string,
  results: readonly ScenarioResult[],
  failures: readonly Failure[],
  header: string,
): string {
  const text = [
    header,
    '',
    formatTable(results),
    '',
    ...results.map(formatDetails),
    '',
    failures.length === 0
      ? 'all scenarios passed'
      : failures.map((f) => `FAILED ${f.fault}: ${f.problems.join('; ')}`).join('\n'),
    '',
  ].join('\n');
  writeFileSync(file, text);
  return text;
}

export const appendLog = (file: string, text: string): void => appendFileSync(file, `${text}\n`);
