// The deployment artefacts (Dockerfile, docker-compose.yml, k8s/, deploy/) checked by real tools:
// the fast checks always run; those that need a binary (promtool, prometheus, kubectl or
// kustomize, docker-compose) are skipped, and reported as skipped, where it is absent.
// `npm run check:deploy` runs the same checks and a slower one (the runtime image assembled).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDemoDataCommand, checkDeployedCommands, deployedCommands } from './support/commands.js';
import {
  checkComposeWiring,
  dockerComposeTool,
  loadCompose,
  validateComposeSchema,
} from './support/compose.js';
import { checkDashboardSql } from './support/dashboard-sql.js';
import {
  checkDashboardStructure,
  dashboardQueries,
  expandQuery,
  loadDashboard,
} from './support/dashboard.js';
import { checkBuildContext, lintDockerfile, runHealthcheck } from './support/dockerfile.js';
import { PATHS, findTool, type Doc } from './support/files.js';
import { checkGrafanaProvisioning } from './support/grafana.js';
import {
  KUSTOMIZE_TARGETS,
  buildTarget,
  checkManifests,
  checkPrometheusRuleMatchesAlerts,
  manifestFiles,
  secretExample,
} from './support/k8s.js';
import { checkDeployment, kustomizeCommand } from './support/k8s-rules.js';
import { findUnknownFields, validateSchemas, type Manifest } from './support/k8s-schemas.js';
import { allPromQueries, promtoolChecks, runPromQueries, unknownMetricNames } from './support/prometheus.js';

const SLOW = 90_000;
const hasPromtool = findTool('promtool') !== undefined;
const hasPrometheus = findTool('prometheus') !== undefined;
const hasKustomize = kustomizeCommand() !== undefined;
const composeTool = dockerComposeTool();

/** The object at a path inside parsed YAML, for a test to change (throws when the path is missing). */
function at(value: unknown, ...path: (string | number)[]): Doc {
  const found = path.reduce<unknown>(
    (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
    value,
  );
  if (typeof found !== 'object' || found === null) throw new Error(`nothing at ${path.join('.')}`);
  return found as Doc;
}
const deploymentOf = (manifests: Manifest[]): Doc =>
  at(manifests.find((m) => m.doc['kind'] === 'Deployment')?.doc);

describe('image', () => {
  it('the Dockerfile passes dockerfile-utils and the runtime-stage rules', () => {
    expect(lintDockerfile()).toEqual([]);
  });

  it('the Dockerfile checks catch a bad HEALTHCHECK flag, a root user and a dev install', () => {
    const text = readFileSync(PATHS.dockerfile, 'utf8')
      .replace('--interval=15s', '--interval=15x')
      .replace('USER 1000:1000', 'USER root')
      .replace('npm ci --omit=dev', 'npm ci');
    const problems = lintDockerfile(text).join('\n');
    expect(problems).toMatch(/unit/i);
    expect(problems).toContain('non-root USER');
    expect(problems).toContain('--omit=dev');
  });

  it('.dockerignore sends only package*.json, tsconfig*.json, src/, avro/ and config/ to the build', () => {
    expect(checkBuildContext()).toEqual([]);
  });

  it('the HEALTHCHECK command exits 0 on 200, 1 on 503 and 1 when nothing listens', async () => {
    expect([await runHealthcheck(200), await runHealthcheck(503), await runHealthcheck('no server')]).toEqual(
      [0, 1, 1],
    );
  });
});

describe('docker compose', () => {
  it('docker-compose.yml validates against the Compose Specification schema', () => {
    expect(validateComposeSchema(loadCompose())).toEqual([]);
  });

  it('the schema check refuses a wrong duration and an unknown service key', () => {
    const doc = loadCompose();
    at(doc, 'services', 'redis', 'healthcheck')['interval'] = '5 seconds';
    at(doc, 'services', 'redis')['restart_policy'] = 'always';
    const problems = validateComposeSchema(doc).join('\n');
    expect(problems).toContain('/services/redis/healthcheck/interval');
    expect(problems).toContain('restart_policy');
  });

  it.skipIf(composeTool === undefined)(`${composeTool?.name ?? 'docker compose config'} accepts it`, () => {
    expect(composeTool?.run()).toEqual([]);
  });

  it('the stack is wired: health-gated order, mounts, touchline settings accepted by src/config.ts, scrape targets', () => {
    expect(checkComposeWiring(loadCompose())).toEqual([]);
    const broken = loadCompose();
    delete at(broken, 'services', 'postgres')['healthcheck'];
    at(broken, 'services', 'touchline-2', 'environment')['DATABASE_URL'] = 'mysql://x';
    const problems = checkComposeWiring(broken).join('\n');
    expect(problems).toContain('postgres has no healthcheck');
    expect(problems).toContain('touchline-2: environment refused by src/config.ts: DATABASE_URL');
  });
});

describe('commands', () => {
  it(
    'every CLI command the manifests and the Compose file start exists (touchline <command> --help)',
    () => {
      expect([...deployedCommands().keys()].sort()).toEqual(['generate', 'migrate', 'produce', 'serve']);
      expect(checkDeployedCommands()).toEqual([]);
    },
    SLOW,
  );

  it(
    'the Compose demo-data command generates its data and gets produce to the broker check',
    () => {
      expect(checkDemoDataCommand()).toEqual([]);
    },
    SLOW,
  );
});

describe('kubernetes', () => {
  it(
    'every manifest file validates against the Kubernetes, KEDA and Prometheus Operator schemas and types',
    () => {
      const files = manifestFiles();
      expect(files.length).toBeGreaterThanOrEqual(12);
      expect(checkManifests(files, { assembled: false })).toEqual([]);
    },
    SLOW,
  );

  it(
    'the schema check catches a string port; the type check an unknown field',
    () => {
      const manifests = manifestFiles();
      at(deploymentOf(manifests), 'spec', 'template', 'spec', 'containers', 0, 'ports', 0)['containerPort'] =
        'http';
      expect(validateSchemas(manifests).join('\n')).toContain('containerPort must be integer');
      const typo = manifestFiles();
      at(deploymentOf(typo), 'spec')['replica'] = 2;
      expect(findUnknownFields(typo).join('\n')).toContain('\'"replica"\' does not exist in type');
    },
    SLOW,
  );

  describe.skipIf(!hasKustomize)(
    `kustomize builds (${kustomizeCommand()?.command ?? 'not installed'})`,
    () => {
      it.each(KUSTOMIZE_TARGETS)(
        '%s validates and holds together',
        (target) => {
          const manifests = buildTarget(target);
          expect(manifests.length).toBeGreaterThanOrEqual(10);
          expect(checkManifests(manifests, { assembled: true })).toEqual([]);
        },
        SLOW,
      );

      it('the cross-checks catch a grace period under the shutdown timeout and more replicas than partitions', () => {
        const manifests = buildTarget('k8s/base');
        at(deploymentOf(manifests), 'spec', 'template', 'spec')['terminationGracePeriodSeconds'] = 20;
        at(manifests.find((m) => m.doc['kind'] === 'ScaledObject')?.doc, 'spec')['maxReplicaCount'] = 7;
        const problems = checkDeployment(manifests, secretExample()).join('\n');
        expect(problems).toContain(
          'terminationGracePeriodSeconds 20 s must exceed SHUTDOWN_TIMEOUT_MS 25000 ms',
        );
        expect(problems).toContain('max replicas 7 exceed TOPIC_PARTITIONS 6');
      });
    },
  );

  it('the PrometheusRule carries exactly the rules of deploy/prometheus/alerts.yml', () => {
    expect(checkPrometheusRuleMatchesAlerts()).toEqual([]);
  });
});

describe('grafana dashboard', () => {
  it('has unique ids, a non-overlapping grid, data sources through its variables and a description per panel', () => {
    expect(checkDashboardStructure(loadDashboard())).toEqual([]);
  });

  it('matches its provisioning: data source uids, mounted dashboard path, Compose hosts', () => {
    expect(checkGrafanaProvisioning()).toEqual([]);
  });

  it('refuses to expand a variable it does not know', () => {
    expect(() =>
      expandQuery(
        { panel: 'p', language: 'sql', text: 'SELECT ${segment}' },
        { schema: 's', model: 'linear' },
      ),
    ).toThrow('no expansion for ${segment}');
  });

  it(
    'every SQL query runs as the read-only Grafana role on the migrated schema and returns the expected rows',
    async () => {
      const { runs, readerWrite } = await checkDashboardSql();
      expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
      expect(runs).toHaveLength(dashboardQueries(loadDashboard()).filter((q) => q.language === 'sql').length);
      const rows = (panel: string) => runs.find((r) => r.panel.startsWith(panel))?.rows;
      // Cents half to even: 10.005 -> 10.00, 10.015 -> 10.02, 20.0051 -> 20.01.
      expect(rows('Live pipeline by channel')).toEqual([
        { channel: 'Adwords', sales_segment: 'Commercial', pipeline: '10.02' },
        { channel: 'Adwords', sales_segment: 'Enterprise', pipeline: '10.00' },
        { channel: 'Unattributed', sales_segment: 'Commercial', pipeline: '5.00' },
        { channel: 'Webinar', sales_segment: 'Enterprise', pipeline: '20.01' },
      ]);
      expect(rows('Model comparison')).toContainEqual({
        channel: 'Adwords',
        model: 'first_touch',
        pipeline: '30.02',
      });
      expect(rows('Model comparison')).toContainEqual({
        channel: 'Adwords',
        model: 'linear',
        pipeline: '20.02',
      });
      expect(rows('Total pipeline per model')?.map((r: Doc) => [r['model'], r['pipeline']])).toEqual([
        ['first_touch', '45.02'],
        ['linear', '45.03'],
      ]);
      expect(rows('Top touchpoints')?.[0]).toEqual({
        touchpoint_id: 'T1',
        channel: 'Adwords',
        opportunities: '2',
        pipeline: '67.00',
      });
      expect(
        rows('Latest restatements')?.map((r: Doc) => [r['opportunity_id'], r['revision'], r['amount']]),
      ).toEqual([
        ['O3', 3, null],
        ['O1', 2, '100.00'],
      ]);
      expect(rows('variable $model')).toEqual([{ model: 'first_touch' }, { model: 'linear' }]);
      expect(readerWrite).toMatch(/read-only transaction|permission denied/);
    },
    SLOW,
  );
});

describe('prometheus', () => {
  it('every metric named by the dashboard and the alerts is exported by src/metrics.ts', async () => {
    const unknown = await Promise.all(
      allPromQueries().map(async (q) => [q.source, await unknownMetricNames(q.expr)] as const),
    );
    expect(unknown.filter(([, names]) => names.length > 0)).toEqual([]);
    expect(await unknownMetricNames('rate(touchline_event_total[5m])')).toEqual(['touchline_event_total']);
  });

  it.skipIf(!hasPromtool)('promtool: check config, check rules, and the alert unit tests pass', () => {
    const results = promtoolChecks();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3);
  });

  it.skipIf(!hasPrometheus)(
    'a real Prometheus scraping the service registry runs every expression; dashboard ones return data',
    async () => {
      const broken = {
        source: 'negative control',
        expr: 'sum by (topic (touchline_events_total)',
        mustReturnData: false,
      };
      const results = await runPromQueries([...allPromQueries(), broken]);
      const control = results.pop();
      expect(control?.status).toBe('error');
      expect(
        results.filter((r) => r.status !== 'success').map((r) => `${r.query.source}: ${r.error ?? ''}`),
      ).toEqual([]);
      expect(
        results.filter((r) => r.query.mustReturnData && r.series === 0).map((r) => r.query.source),
      ).toEqual([]);
      expect(results.length).toBeGreaterThanOrEqual(20);
    },
    SLOW,
  );
});
