import { z } from 'zod';
import type { AttributionModel } from './model.js';
import {
  formatShare,
  HUNDRED_PERCENT,
  parseShare,
  positionModel,
  SHARE_KEYS,
  type ShareKey,
} from './position.js';

/**
 * Custom position models declared by the operator (SPEC "Stage models": role weights and a middle
 * share that sum to exactly 100 %), validated here, purely; adapters/files/models-file.ts reads the
 * YAML. Shape: `{ models: [{ name, weights: { first?, lead_creation?, opportunity_creation?,
 * closed_won?, middle? } }] }`, each weight a percentage as a number or decimal text. Every problem
 * is reported with where it is, so a bad declaration is fixed in one pass.
 */
export type CustomModels =
  | { readonly ok: true; readonly models: AttributionModel[] }
  | { readonly ok: false; readonly problems: string[] };

/** A model name is a column value and a metric label: short, lowercase, no surprises. */
export const MODEL_NAME = /^[a-z][a-z0-9_]{0,62}$/;

const shown = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

const shareOf = (value: unknown): bigint | null =>
  typeof value === 'number' || typeof value === 'string' ? parseShare(value) : null;

const share = z.unknown().transform((value, ctx) => {
  const parsed = shareOf(value);
  if (parsed !== null) return parsed;
  ctx.addIssue({
    code: 'custom',
    message: `${shown(value)} is not a percentage (a non-negative decimal with at most 6 decimal places)`,
  });
  return z.NEVER;
});

const unknownKeys =
  (what: string, allowed: readonly string[]) =>
  (issue: { code?: string; keys?: string[] }): string | undefined =>
    issue.code === 'unrecognized_keys'
      ? `unknown ${what}${issue.keys?.length === 1 ? '' : 's'} ${(issue.keys ?? []).map((k) => JSON.stringify(k)).join(', ')} (allowed: ${allowed.join(', ')})`
      : undefined;

const weightsShape = Object.fromEntries(SHARE_KEYS.map((key) => [key, share.optional()])) as Record<
  ShareKey,
  z.ZodOptional<typeof share>
>;

function declarationsSchema(reserved: readonly string[]) {
  const name = z.string().superRefine((text, ctx) => {
    if (!MODEL_NAME.test(text))
      ctx.addIssue({
        code: 'custom',
        message: `${shown(text)} is not a model name (a lowercase letter, then up to 62 lowercase letters, digits or _)`,
      });
    else if (reserved.includes(text))
      ctx.addIssue({ code: 'custom', message: `${shown(text)} is the name of a built-in model` });
  });
  const weights = z.strictObject(weightsShape, { error: unknownKeys('role', SHARE_KEYS) });
  const model = z.strictObject({ name, weights }, { error: unknownKeys('key', ['name', 'weights']) });
  return z.strictObject({ models: z.array(model) }, { error: unknownKeys('key', ['models']) });
}

interface Problem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The checks across fields, run on the raw declarations so they join the shape problems: the sum
 * of weights that are readable (unknown roles are reported by the schema, not summed), and names
 * declared twice.
 */
function crossFieldProblems(declarations: unknown): Problem[] {
  if (!isRecord(declarations) || !Array.isArray(declarations.models)) return [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  declarations.models.forEach((model: unknown, i) => {
    if (!isRecord(model)) return;
    if (typeof model.name === 'string') {
      const first = seen.get(model.name);
      if (first === undefined) seen.set(model.name, i);
      else problems.push({ path: ['models', i, 'name'], message: `is also the name of models[${first}]` });
    }
    const { weights } = model;
    if (!isRecord(weights)) return;
    const shares = SHARE_KEYS.filter((key) => weights[key] !== undefined).map((key) => shareOf(weights[key]));
    if (shares.some((s) => s === null)) return;
    const sum = shares.reduce<bigint>((total, s) => total + (s ?? 0n), 0n);
    if (sum !== HUNDRED_PERCENT)
      problems.push({
        path: ['models', i, 'weights'],
        message: `sum is ${formatShare(sum)} %, must be exactly 100 %`,
      });
  });
  return problems;
}

const where = (path: readonly PropertyKey[]): string =>
  path.length === 0
    ? '(top level)'
    : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');

const modelIndex = (path: readonly PropertyKey[]): number => (typeof path[1] === 'number' ? path[1] : -1);

const missingIsRequired = (issue: { code?: string; input?: unknown }): string | undefined =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

/**
 * The custom models of `declarations` (a parsed YAML or JSON document), or every problem found.
 * `reserved` are the built-in model names, which a custom model may not take.
 */
export function customModelsFrom(declarations: unknown, reserved: readonly string[]): CustomModels {
  const result = declarationsSchema(reserved).safeParse(declarations, { error: missingIsRequired });
  const problems: Problem[] = [
    ...(result.success ? [] : result.error.issues.map(({ path, message }) => ({ path, message }))),
    ...crossFieldProblems(declarations),
  ];
  if (!result.success || problems.length > 0) {
    // In declaration order (stable: a model's shape problems before its sum and name clashes).
    const ordered = problems
      .map((problem, order) => ({ problem, order }))
      .sort((a, b) => modelIndex(a.problem.path) - modelIndex(b.problem.path) || a.order - b.order);
    return {
      ok: false,
      problems: ordered.map(({ problem }) => `${where(problem.path)}: ${problem.message}`),
    };
  }
  return {
    ok: true,
    models: result.data.models.map((model) => positionModel(model.name, model.weights)),
  };
}
