#!/usr/bin/env node
// Runs vitest with a JSON report and closes with the plain line "N passed, N failed, N skipped",
// so a run that executed no test is visible. Exit status: vitest's, or 1 when nothing ran.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const report = join(mkdtempSync(join(tmpdir(), 'touchline-tests-')), 'report.json');
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync('npx', args, { stdio: 'inherit' });

if (!existsSync(report)) {
  console.log('0 passed, 0 failed');
  console.error('test runner produced no report');
  process.exit(run.status === 0 ? 1 : (run.status ?? 1));
}
const result = JSON.parse(readFileSync(report, 'utf8'));
const passed = result.numPassedTests ?? 0;
// Failed tests, plus files that failed without a failed test (one that did not load, a hook that
// threw). numFailedTestSuites counts describe blocks too, so one failed test would count thrice.
const brokenFiles = (result.testResults ?? []).filter(
  (file) =>
    file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
).length;
const failed = (result.numFailedTests ?? 0) + brokenFiles;
const skipped = (result.numPendingTests ?? 0) + (result.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status !== 0 ? (run.status ?? 1) : passed === 0 ? 1 : 0);
