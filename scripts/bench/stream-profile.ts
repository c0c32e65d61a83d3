/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file or
 * package, and inclusive time per function (each function counted once per stack, so
 * recursion is not double-counted). Used by scripts/bench-stream.ts --cpu-prof, and alone:
 *
 *   npx tsx scripts/bench/stream-profile.ts FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time per "function  file:line". */
  readonly selfByFunction: readonly [string, number][];
  /** Self time per source file (project files) or package (node_modules) or V8 category. */
  readonly selfByFile: readonly [string, number][];
  /** The same, with native and node: frames charged to the nearest calling project file or package. */
  readonly selfByCaller: readonly [string, number][];
  /** Inclusive time per "function  file:line". */
  readonly inclusiveByFunction: readonly [string, number][];
}

/** A short place name: project-relative path, `pkg:name` for dependencies, `node:…` for Node's own. */
function placeOf(url: string, root: string, detail = false): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0 && detail) return path.slice(nm + '/node_modules/'.length);
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    const name = parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '?');
    return `pkg:${name}`;
  }
  return relative(root, path).replace(/^\.bench\/stream-build\//, '');
}

export function summariseProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functionKey = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    const place = placeOf(url, root, true);
    const name = functionName === '' ? '(anonymous)' : functionName;
    return url === '' ? name : `${name}  ${place}:${lineNumber + 1}`;
  };
  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const V8_CATEGORIES = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (node === undefined) continue;
    const key = functionKey(node);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
    const place = node.callFrame.url === '' ? functionKey(node) : placeOf(node.callFrame.url, root);
    selfByFile.set(place, (selfByFile.get(place) ?? 0) + us);
    let caller = place;
    const isRuntime = (url: string): boolean => url === '' || url.startsWith('node:');
    if (isRuntime(node.callFrame.url) && !V8_CATEGORIES.has(node.callFrame.functionName)) {
      for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
        const ancestor = nodes.get(at);
        if (ancestor === undefined) break;
        if (!isRuntime(ancestor.callFrame.url)) {
          caller = placeOf(ancestor.callFrame.url, root);
          break;
        }
      }
    }
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const ancestor = nodes.get(at);
      if (ancestor === undefined) break;
      const k = functionKey(ancestor);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>): [string, number][] =>
    [...m].map(([k, us]): [string, number] => [k, us / 1000]).sort((a, b) => b[1] - a[1]);
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    selfByFunction: sorted(selfByFunction),
    selfByFile: sorted(selfByFile),
    selfByCaller: sorted(byCaller),
    inclusiveByFunction: sorted(inclusive),
  };
}

export function formatSummary(summary: ProfileSummary, top: number): string {
  const pct = (ms: number): string => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)} %`;
  const rows = (title: string, entries: readonly [string, number][]): string =>
    [
      title,
      ...entries
        .slice(0, top)
        .map(([k, ms]) => `  ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${k}`),
    ].join('\n');
  return [
    `profile: ${(summary.totalMs / 1000).toFixed(1)} s of wall time sampled`,
    rows(
      'self time by file / package (native and node: frames charged to the calling file or package):',
      summary.selfByCaller,
    ),
    rows('self time by file / package:', summary.selfByFile),
    rows('self time by function:', summary.selfByFunction),
    rows('inclusive time by function:', summary.inclusiveByFunction),
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: npx tsx scripts/bench/stream-profile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1] ?? 30) : 30;
  process.stdout.write(`${formatSummary(summariseProfile(file, process.cwd()), top)}\n`);
}
