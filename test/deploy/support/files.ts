// Shared helpers of the deployment checks: where the artefacts are, YAML reading, tool lookup.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const PATHS = {
  dockerfile: join(ROOT, 'Dockerfile'),
  dockerignore: join(ROOT, '.dockerignore'),
  compose: join(ROOT, 'docker-compose.yml'),
  k8s: join(ROOT, 'k8s'),
  k8sBase: join(ROOT, 'k8s', 'base'),
  k8sProduction: join(ROOT, 'k8s', 'overlays', 'production'),
  k8sHpa: join(ROOT, 'k8s', 'components', 'hpa'),
  prometheusConfig: join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'),
  alerts: join(ROOT, 'deploy', 'prometheus', 'alerts.yml'),
  alertTests: join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml'),
  prometheusRule: join(ROOT, 'k8s', 'base', 'prometheus-rule.yaml'),
  dashboard: join(ROOT, 'deploy', 'grafana', 'dashboards', 'touchline.json'),
  grafanaProvisioning: join(ROOT, 'deploy', 'grafana', 'provisioning'),
  postgresInit: join(ROOT, 'deploy', 'postgres', 'init', '10-touchline-roles.sql'),
} as const;

export type Doc = Record<string, unknown>;

/** Every YAML document of a text (empty documents skipped); a YAML error throws with its position. */
export function parseYamlDocs(text: string, where: string): Doc[] {
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  return list.flatMap((doc) => {
    const problem = doc.errors[0];
    if (problem !== undefined) throw new Error(`${where}: ${problem.message}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    return isRecord(value) ? [value] : [];
  });
}

export function readYaml(path: string): Doc[] {
  return parseYamlDocs(readFileSync(path, 'utf8'), rel(path));
}

export function rel(path: string): string {
  return relative(ROOT, path) || '.';
}

/** Files under a directory (recursively) whose names end with one of the extensions. */
export function listFiles(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listFiles(path, extensions);
      return extensions.some((ext) => name.endsWith(ext)) ? [path] : [];
    });
}

/** The path of an executable on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

export interface ToolRun {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs a tool to completion; `output` is stdout and stderr together. */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): ToolRun {
  const run = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`;
  return { ok: run.status === 0, output };
}

export function isRecord(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
