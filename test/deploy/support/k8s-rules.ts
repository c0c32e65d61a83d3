// What the schemas cannot see: the manifests against each other and against the service's own
// configuration schema (src/config.ts). Runs on kustomize output, where everything is assembled.
import { loadConfig } from '../../../src/config.js';
import { findTool, isRecord, parseYamlDocs, rel, runTool, type Doc } from './files.js';
import { describe, type Manifest } from './k8s-schemas.js';

/** The kustomize that is available: a standalone binary, else the one built into kubectl. */
export function kustomizeCommand(): { command: string; args: string[] } | undefined {
  if (findTool('kustomize') !== undefined) return { command: 'kustomize', args: ['build'] };
  if (findTool('kubectl') !== undefined) return { command: 'kubectl', args: ['kustomize'] };
  return undefined;
}

/** `kustomize build DIR` as manifests; throws with kustomize's message when the build fails. */
export function kustomizeBuild(dir: string): Manifest[] {
  const tool = kustomizeCommand();
  if (tool === undefined) throw new Error('neither kustomize nor kubectl is installed');
  const run = runTool(tool.command, [...tool.args, dir]);
  if (!run.ok) throw new Error(`${tool.command} ${tool.args.join(' ')} ${rel(dir)} failed:\n${run.output}`);
  return parseYamlDocs(run.output, `kustomize build ${rel(dir)}`).map((doc) => ({
    doc,
    where: `kustomize build ${rel(dir)}`,
  }));
}

type Path = readonly (string | number)[];
const get = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>(
    (at, key) =>
      isRecord(at) || Array.isArray(at) ? (at as Record<string | number, unknown>)[key] : undefined,
    value,
  );
const asRecord = (value: unknown): Doc => (isRecord(value) ? value : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const matches = (selector: unknown, labels: unknown): boolean => {
  const wanted = Object.entries(asRecord(selector));
  return wanted.length > 0 && wanted.every(([k, v]) => asRecord(labels)[k] === v);
};

/**
 * Cross-checks of one assembled deployment (a kustomize build): the Secret is the example one,
 * since the real Secret is not part of the build.
 */
export function checkDeployment(manifests: readonly Manifest[], secretExample: Doc): string[] {
  const problems: string[] = [];
  const ofKind = (kind: string) => manifests.filter((m) => m.doc['kind'] === kind);
  const [deployment, ...moreDeployments] = ofKind('Deployment');
  const [configMap] = ofKind('ConfigMap');
  if (deployment === undefined || moreDeployments.length > 0) return ['expected exactly one Deployment'];
  if (configMap === undefined) return ['expected the touchline ConfigMap'];
  const config = asRecord(configMap.doc['data']) as Record<string, string>;
  const secret = asRecord(secretExample['stringData']) as Record<string, string>;
  const configName = get(configMap.doc, ['metadata', 'name']);
  const secretName = get(secretExample, ['metadata', 'name']);

  // The real Secret comes from the secret store: a build that carried one would overwrite it.
  if (ofKind('Secret').length > 0)
    problems.push('a Secret is part of the build: kubectl apply would overwrite the real one');
  for (const [key, value] of Object.entries(secret))
    if (!value.includes('REPLACE_ME'))
      problems.push(`secret.example.yaml ${key} must be a placeholder (contain REPLACE_ME)`);

  // The service's own zod schema accepts the ConfigMap plus the Secret's keys.
  const loaded = loadConfig({ ...config, ...secret });
  if (!loaded.ok)
    problems.push(
      `ConfigMap ${String(configName)} is refused by src/config.ts: ${loaded.problems.join('; ')}`,
    );
  const shutdownMs = loaded.ok ? loaded.config.SHUTDOWN_TIMEOUT_MS : 25_000;
  const partitions = loaded.ok ? loaded.config.TOPIC_PARTITIONS : 6;

  const podLabels = get(deployment.doc, ['spec', 'template', 'metadata', 'labels']);
  const pod = asRecord(get(deployment.doc, ['spec', 'template', 'spec']));
  const grace = Number(pod['terminationGracePeriodSeconds'] ?? 30);
  if (!(grace * 1000 > shutdownMs))
    problems.push(
      `terminationGracePeriodSeconds ${grace} s must exceed SHUTDOWN_TIMEOUT_MS ${shutdownMs} ms`,
    );
  if (!matches(get(deployment.doc, ['spec', 'selector', 'matchLabels']), podLabels))
    problems.push('Deployment selector does not match its pod labels');
  if (get(pod, ['securityContext', 'runAsNonRoot']) !== true)
    problems.push('pod securityContext.runAsNonRoot must be true');

  const jobs = ofKind('Job');
  for (const workload of [deployment, ...jobs]) {
    const spec = asRecord(get(workload.doc, ['spec', 'template', 'spec']));
    for (const container of asArray(spec['containers']).map(asRecord)) {
      const where = `${describe(workload)} container ${String(container['name'])}`;
      const sc = asRecord(container['securityContext']);
      if (sc['readOnlyRootFilesystem'] !== true)
        problems.push(`${where}: readOnlyRootFilesystem must be true`);
      if (sc['allowPrivilegeEscalation'] !== false)
        problems.push(`${where}: allowPrivilegeEscalation must be false`);
      if (get(container, ['resources', 'limits', 'memory']) === undefined)
        problems.push(`${where}: no memory limit`);
      if (get(container, ['resources', 'requests', 'cpu']) === undefined)
        problems.push(`${where}: no cpu request`);
      for (const ref of asArray(container['envFrom']).map(asRecord)) {
        const name = get(ref, ['configMapRef', 'name']);
        if (name !== undefined && name !== configName)
          problems.push(`${where}: envFrom names ConfigMap ${JSON.stringify(name)}, which is not deployed`);
      }
      for (const env of asArray(container['env']).map(asRecord)) {
        const ref = asRecord(get(env, ['valueFrom', 'secretKeyRef']));
        if (ref['name'] === undefined) continue;
        if (ref['name'] !== secretName || secret[String(ref['key'])] === undefined)
          problems.push(
            `${where}: env ${JSON.stringify(env['name'])} reads secret ${JSON.stringify(ref['name'])} key ${JSON.stringify(ref['key'])}, which secret.example.yaml does not have`,
          );
      }
    }
  }

  const container = asRecord(asArray(pod['containers'])[0]);
  const portNames = asArray(container['ports']).map((p) => get(p, ['name']));
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const port = get(container, [probe, 'httpGet', 'port']);
    if (port === undefined) problems.push(`container has no ${probe}`);
    else if (typeof port === 'string' && !portNames.includes(port))
      problems.push(`${probe} uses port ${port}, which the container does not declare`);
  }
  if (get(container, ['livenessProbe', 'httpGet', 'path']) !== '/healthz')
    problems.push('livenessProbe must GET /healthz');
  if (get(container, ['readinessProbe', 'httpGet', 'path']) !== '/readyz')
    problems.push('readinessProbe must GET /readyz');

  const [service] = ofKind('Service');
  if (service === undefined) problems.push('no Service');
  else {
    if (!matches(get(service.doc, ['spec', 'selector']), podLabels))
      problems.push('Service selector does not select the pods');
    for (const port of asArray(get(service.doc, ['spec', 'ports'])).map(asRecord))
      if (typeof port['targetPort'] === 'string' && !portNames.includes(port['targetPort']))
        problems.push(`Service targetPort ${port['targetPort']} is no container port`);
    for (const monitor of ofKind('ServiceMonitor')) {
      if (
        !matches(
          get(monitor.doc, ['spec', 'selector', 'matchLabels']),
          get(service.doc, ['metadata', 'labels']),
        )
      )
        problems.push('ServiceMonitor selector does not select the Service');
      const servicePorts = asArray(get(service.doc, ['spec', 'ports'])).map((p) => get(p, ['name']));
      for (const endpoint of asArray(get(monitor.doc, ['spec', 'endpoints'])).map(asRecord))
        if (!servicePorts.includes(endpoint['port']))
          problems.push(
            `ServiceMonitor endpoint port ${String(endpoint['port'])} is not a Service port name`,
          );
    }
  }
  for (const kind of ['PodDisruptionBudget', 'NetworkPolicy']) {
    for (const m of ofKind(kind)) {
      const selector =
        kind === 'NetworkPolicy'
          ? get(m.doc, ['spec', 'podSelector', 'matchLabels'])
          : get(m.doc, ['spec', 'selector', 'matchLabels']);
      if (!matches(selector, podLabels)) problems.push(`${describe(m)}: selector does not select the pods`);
    }
  }

  const scalers = [...ofKind('ScaledObject'), ...ofKind('HorizontalPodAutoscaler')];
  if (scalers.length !== 1)
    problems.push(`expected exactly one autoscaler (ScaledObject or HPA), found ${scalers.length}`);
  for (const scaler of scalers) {
    const max = Number(
      get(scaler.doc, ['spec', 'maxReplicaCount']) ?? get(scaler.doc, ['spec', 'maxReplicas']),
    );
    if (!(max <= partitions))
      problems.push(
        `${describe(scaler)}: max replicas ${max} exceed TOPIC_PARTITIONS ${partitions} (extra consumers would idle)`,
      );
    if (get(scaler.doc, ['spec', 'scaleTargetRef', 'name']) !== get(deployment.doc, ['metadata', 'name']))
      problems.push(`${describe(scaler)}: scales something else than the Deployment`);
    for (const trigger of asArray(get(scaler.doc, ['spec', 'triggers'])).map(asRecord)) {
      if (trigger['type'] !== 'kafka') continue;
      const meta = asRecord(trigger['metadata']);
      if (meta['consumerGroup'] !== config['KAFKA_GROUP_ID'])
        problems.push(
          `${describe(scaler)}: consumerGroup ${String(meta['consumerGroup'])} is not KAFKA_GROUP_ID ${String(config['KAFKA_GROUP_ID'])}`,
        );
      if (meta['bootstrapServers'] !== config['KAFKA_BROKERS'])
        problems.push(`${describe(scaler)}: bootstrapServers differ from KAFKA_BROKERS`);
    }
  }
  return problems;
}
