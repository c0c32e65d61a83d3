/**
 * Prometheus text parsing and quantiles for scripts/bench-stream.ts: the service's /metrics
 * scraped before and after a phase, histogram deltas, and quantiles estimated the way
 * Prometheus' histogram_quantile() does (linear interpolation inside the bucket).
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample line of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = pair[2] ?? '';
    }
    const raw = match[3] ?? 'NaN';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: match[1] ?? '', labels, value });
  }
  return samples;
}

/** Sum of a metric's samples, optionally only those whose labels match. */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  where: Readonly<Record<string, string>> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A metric's samples summed per value of one label. */
export function byLabel(samples: readonly Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

export interface Histogram {
  /** Cumulative counts per upper bound, ascending, +Inf last. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly sum: number;
  readonly count: number;
}

/** A histogram summed over all its label sets. */
export function histogramOf(samples: readonly Sample[], name: string): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, sum: sumOf(samples, `${name}_sum`), count: sumOf(samples, `${name}_count`) };
}

/** after − before, bucket by bucket: what was observed in between. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const was = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (was.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

export interface BucketQuantile {
  /** histogram_quantile()'s estimate: linear interpolation inside the bucket. */
  readonly estimate: number;
  /** The bucket the quantile falls in: (lower, upper]. upper is Infinity past the last bound. */
  readonly lower: number;
  readonly upper: number;
}

export function histogramQuantile(h: Histogram, q: number): BucketQuantile | null {
  if (h.count <= 0) return null;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const bucket of h.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return { estimate: lower, lower, upper: Infinity };
      const inBucket = bucket.count - below;
      const estimate = inBucket <= 0 ? bucket.le : lower + ((bucket.le - lower) * (rank - below)) / inBucket;
      return { estimate, lower, upper: bucket.le };
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return { estimate: lower, lower, upper: Infinity };
}

/** Share of observations at or below a bucket bound (exact when `bound` is a bucket bound). */
export function shareAtOrBelow(h: Histogram, bound: number): number | null {
  if (h.count <= 0) return null;
  const bucket = h.buckets.find((b) => b.le === bound);
  return bucket === undefined ? null : bucket.count / h.count;
}

/** Nearest-rank quantile of exact samples. */
export function quantileOf(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? NaN;
}
