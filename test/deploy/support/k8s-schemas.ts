// Kubernetes manifests against the Kubernetes (and KEDA, Prometheus Operator) schemas, twice:
// 1. the JSON schemas of kubernetes-models (types, required fields, formats, enums) through
//    each model's validate();
// 2. unknown fields, which those schemas allow but the API server drops or (with
//    --validate=strict) refuses: every manifest becomes a `satisfies I<Kind>` object literal and
//    the TypeScript compiler reports any property the generated types do not declare.
import { join } from 'node:path';
import ts from 'typescript';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ROOT, type Doc } from './files.js';

interface KindModel {
  /** Builds the model; validate() throws with every schema violation. */
  readonly create: (doc: Doc) => { validate(): void };
  /** Module and interface name of the generated type, for the unknown-field check. */
  readonly typeModule: string;
  readonly typeName: string;
}

const core = (name: string, path: string, create: KindModel['create']): KindModel => ({
  create,
  typeModule: `kubernetes-models/${path}/${name}`,
  typeName: `I${name}`,
});

/** The kinds the project ships; any other kind is reported, so a new one gets a schema too. */
const KINDS: Record<string, KindModel> = {
  'v1 ConfigMap': core('ConfigMap', 'v1', (d) => new ConfigMap(d)),
  'v1 Namespace': core('Namespace', 'v1', (d) => new Namespace(d)),
  'v1 Secret': core('Secret', 'v1', (d) => new Secret(d)),
  'v1 Service': core('Service', 'v1', (d) => new Service(d)),
  'v1 ServiceAccount': core('ServiceAccount', 'v1', (d) => new ServiceAccount(d)),
  'apps/v1 Deployment': core('Deployment', 'apps/v1', (d) => new Deployment(d)),
  'batch/v1 Job': core('Job', 'batch/v1', (d) => new Job(d)),
  'policy/v1 PodDisruptionBudget': core(
    'PodDisruptionBudget',
    'policy/v1',
    (d) => new PodDisruptionBudget(d),
  ),
  'networking.k8s.io/v1 NetworkPolicy': core(
    'NetworkPolicy',
    'networking.k8s.io/v1',
    (d) => new NetworkPolicy(d),
  ),
  'autoscaling/v2 HorizontalPodAutoscaler': core(
    'HorizontalPodAutoscaler',
    'autoscaling/v2',
    (d) => new HorizontalPodAutoscaler(d),
  ),
  'keda.sh/v1alpha1 ScaledObject': {
    create: (d) => new ScaledObject(d as ConstructorParameters<typeof ScaledObject>[0]),
    typeModule: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
    typeName: 'IScaledObject',
  },
  'monitoring.coreos.com/v1 ServiceMonitor': {
    create: (d) => new ServiceMonitor(d as ConstructorParameters<typeof ServiceMonitor>[0]),
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    typeName: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1 PrometheusRule': {
    create: (d) => new PrometheusRule(d as ConstructorParameters<typeof PrometheusRule>[0]),
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    typeName: 'IPrometheusRule',
  },
};

export interface Manifest {
  readonly doc: Doc;
  /** Where it came from: a file (and document number) or a kustomize build. */
  readonly where: string;
}

export function describe(m: Manifest): string {
  const meta = m.doc['metadata'] as { name?: string } | undefined;
  return `${m.where}: ${String(m.doc['kind'])}/${meta?.name ?? '?'}`;
}

function modelOf(doc: Doc): KindModel | undefined {
  return KINDS[`${String(doc['apiVersion'])} ${String(doc['kind'])}`];
}

/** Schema violations (empty when every manifest is valid). */
export function validateSchemas(manifests: readonly Manifest[]): string[] {
  return manifests.flatMap((m) => {
    const model = modelOf(m.doc);
    if (model === undefined)
      return [`${describe(m)}: no schema for ${String(m.doc['apiVersion'])} ${String(m.doc['kind'])}`];
    try {
      model.create(m.doc).validate();
      return [];
    } catch (error) {
      return [`${describe(m)}: ${(error as Error).message}`];
    }
  });
}

/** Fields the Kubernetes types do not declare (typos, wrong nesting), found by the TypeScript compiler. */
export function findUnknownFields(manifests: readonly Manifest[]): string[] {
  const known = manifests.filter((m) => modelOf(m.doc) !== undefined);
  const imports = new Map<string, string>();
  const bodies = known.map((m, i) => {
    const model = modelOf(m.doc) as KindModel;
    imports.set(model.typeName, model.typeModule);
    return `// ${describe(m)}\nexport const manifest${i} = ${JSON.stringify(m.doc, null, 2)} satisfies ${model.typeName};\n`;
  });
  const header = [...imports].map(([name, module]) => `import type { ${name} } from '${module}';`).join('\n');
  const source = `${header}\n\n${bodies.join('\n')}`;
  // A file that is never written: it lives in the project so that node_modules resolve.
  const fileName = join(ROOT, 'test', 'deploy', '__manifests__.generated.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const base = ts.createCompilerHost(options);
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile: (name, version, ...rest) =>
      name === fileName
        ? ts.createSourceFile(name, source, version)
        : base.getSourceFile(name, version, ...rest),
    fileExists: (name) => name === fileName || base.fileExists(name),
    readFile: (name) => (name === fileName ? source : base.readFile(name)),
  };
  const program = ts.createProgram([fileName], options, host);
  const file = program.getSourceFile(fileName);
  const lines = source.split('\n');
  return ts.getPreEmitDiagnostics(program, file).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.start === undefined || d.file === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const owner =
      lines
        .slice(0, line + 1)
        .reverse()
        .find((l) => l.startsWith('// ')) ?? '';
    return `${owner.slice(3)}: ${message} (at: ${lines[line]?.trim() ?? ''})`;
  });
}
