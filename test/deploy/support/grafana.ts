// Grafana provisioning against the dashboard and the Compose stack that mounts it.
import { join } from 'node:path';
import { loadCompose } from './compose.js';
import { loadDashboard } from './dashboard.js';
import { PATHS, isRecord, readYaml } from './files.js';

export function checkGrafanaProvisioning(): string[] {
  const problems: string[] = [];
  const [datasources] = readYaml(join(PATHS.grafanaProvisioning, 'datasources', 'touchline.yml'));
  const [providers] = readYaml(join(PATHS.grafanaProvisioning, 'dashboards', 'touchline.yml'));
  const sources = (datasources?.['datasources'] ?? []) as { type: string; uid: string; url: string }[];
  const dashboard = loadDashboard();
  const variables = (isRecord(dashboard['templating']) ? dashboard['templating']['list'] : []) as {
    type: string;
    query: unknown;
    current?: { value?: string };
  }[];
  for (const variable of variables.filter((v) => v.type === 'datasource')) {
    const source = sources.find((s) => s.type === variable.query);
    if (source === undefined) problems.push(`no provisioned data source of type ${String(variable.query)}`);
    else if (source.uid !== variable.current?.value)
      problems.push(
        `dashboard default for ${String(variable.query)} is ${String(variable.current?.value)}, provisioned uid is ${source.uid}`,
      );
  }
  const compose = loadCompose();
  const services = isRecord(compose['services']) ? compose['services'] : {};
  const grafana = isRecord(services['grafana']) ? services['grafana'] : {};
  const mounts = ((grafana['volumes'] ?? []) as string[]).map((v) => v.split(':')[1]);
  const paths = ((providers?.['providers'] ?? []) as { options?: { path?: string } }[]).map(
    (p) => p.options?.path,
  );
  for (const path of paths)
    if (path === undefined || !mounts.includes(path))
      problems.push(`dashboard provider path ${String(path)} is not mounted into the grafana service`);
  for (const source of sources) {
    const host = source.url.replace(/^https?:\/\//, '').split(':')[0] ?? '';
    if (!(host in services))
      problems.push(`data source ${source.uid} points at ${host}, which is no Compose service`);
  }
  return problems;
}
