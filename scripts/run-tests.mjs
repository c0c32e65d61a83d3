#!/usr/bin/env node
// Runs vitest with a JSON report and closes with the plain line "N passed, N failed, N skipped",
// so a run that executed no test is visible. Exit status: vitest's, or 1 when nothing ran.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The integration and end-to-end suites need the real servers; without them they would wait
// out their timeouts. Unless only unit tests (or the chaos suite, on its own stack) run, each
// is probed first (the addresses and defaults of test/support/services.ts) and a missing one
// is one clear line.
const given = process.argv.slice(2);
const needsServices = !given.includes('--config') && !given.some((a) => a.startsWith('test/unit'));
if (needsServices) {
  const hostPort = (url, port) => {
    const u = new URL(url);
    return [u.hostname, Number(u.port || port)];
  };
  const [kafkaHost, kafkaPort] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')[0].split(':');
  const probes = [
    ['Kafka', kafkaHost, Number(kafkaPort)],
    ['the Schema Registry', ...hostPort(process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081', 80)],
    ['Redis', ...hostPort(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379)],
    ['Postgres', ...hostPort(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', 5432)],
  ];
  const reachable = (host, port) =>
    new Promise((resolve) => {
      const socket = connect({ host, port, timeout: 2000 });
      const done = (ok) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });
  const down = [];
  for (const [name, host, port] of probes)
    if (!(await reachable(host, port))) down.push(`${name} at ${host}:${port}`);
  if (down.length > 0) {
    console.error(
      `cannot reach ${down.join(', ')}: start them with \`bash scripts/services.sh up\` and \`eval "$(bash scripts/services.sh env)"\` (docs/services.md), or run the unit tests alone: npm run test:unit`,
    );
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}

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
