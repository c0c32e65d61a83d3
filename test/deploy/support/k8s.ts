// All Kubernetes checks together: each file on its own, then each kustomize build assembled.
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PATHS, listFiles, readYaml, rel, type Doc } from './files.js';
import { checkDeployment, kustomizeBuild } from './k8s-rules.js';
import { findUnknownFields, validateSchemas, type Manifest } from './k8s-schemas.js';

/** Files that kustomizations use as patches: partial objects, checked through the builds. */
function patchFiles(): Set<string> {
  const kustomizations = listFiles(PATHS.k8s, ['.yaml']).filter((f) => f.endsWith('kustomization.yaml'));
  return new Set(
    kustomizations.flatMap((k) => {
      const patches = (readYaml(k)[0]?.['patches'] ?? []) as { path?: string }[];
      return patches.flatMap((p) => (p.path === undefined ? [] : [join(dirname(k), p.path)]));
    }),
  );
}

/** Every whole manifest file under k8s/ (kustomizations and patches excluded). */
export function manifestFiles(): Manifest[] {
  const patches = patchFiles();
  return listFiles(PATHS.k8s, ['.yaml', '.yml'])
    .filter((f) => !f.endsWith('kustomization.yaml') && !patches.has(f))
    .flatMap((f) =>
      readYaml(f).map((doc, i, all) => ({ doc, where: all.length > 1 ? `${rel(f)}#${i}` : rel(f) })),
    );
}

export function secretExample(): Doc {
  const [secret] = readYaml(join(PATHS.k8sBase, 'secret.example.yaml'));
  if (secret === undefined) throw new Error('k8s/base/secret.example.yaml is empty');
  return secret;
}

/** The builds users apply: base, production, and production with the HPA component instead of KEDA. */
export const KUSTOMIZE_TARGETS = [
  'k8s/base',
  'k8s/overlays/production',
  'k8s/overlays/production + components/hpa',
] as const;
export type KustomizeTarget = (typeof KUSTOMIZE_TARGETS)[number];

export function buildTarget(target: KustomizeTarget): Manifest[] {
  if (target === 'k8s/base') return kustomizeBuild(PATHS.k8sBase);
  if (target === 'k8s/overlays/production') return kustomizeBuild(PATHS.k8sProduction);
  const hpaDir = mkdtempSync(join(tmpdir(), 'touchline-hpa-'));
  try {
    // kustomize takes only relative paths to other kustomization roots.
    writeFileSync(
      join(hpaDir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(hpaDir, PATHS.k8sProduction)}`,
        'components:',
        `  - ${relative(hpaDir, PATHS.k8sHpa)}`,
        '',
      ].join('\n'),
    );
    return kustomizeBuild(hpaDir).map((m) => ({ ...m, where: target }));
  } finally {
    rmSync(hpaDir, { recursive: true, force: true });
  }
}

/** Schema, unknown-field and cross-checks of a set of manifests. */
export function checkManifests(manifests: readonly Manifest[], options: { assembled: boolean }): string[] {
  const problems = [...validateSchemas(manifests), ...findUnknownFields(manifests)];
  if (options.assembled) problems.push(...checkDeployment(manifests, secretExample()));
  return problems;
}

/** The PrometheusRule must carry exactly the rules of deploy/prometheus/alerts.yml. */
export function checkPrometheusRuleMatchesAlerts(): string[] {
  const [rule] = readYaml(PATHS.prometheusRule);
  const [alerts] = readYaml(PATHS.alerts);
  const groups = (rule?.['spec'] as Doc | undefined)?.['groups'];
  return isDeepStrictEqual(groups, alerts?.['groups'])
    ? []
    : ['k8s/base/prometheus-rule.yaml spec.groups differ from deploy/prometheus/alerts.yml groups'];
}
